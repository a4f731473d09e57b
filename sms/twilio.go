package sms

import (
	"github.com/twilio/twilio-go/client"
)

// The one file that imports twilio-go.

// Verifier checks X-Twilio-Signature on webhooks with the account's auth
// token, with twilio-go's validator (HMAC-SHA1 over the URL and the sorted
// POST parameters).
type Verifier struct {
	v client.RequestValidator
}

// NewVerifier builds a verifier for an auth token.
func NewVerifier(authToken string) Verifier {
	return Verifier{v: client.NewRequestValidator(authToken)}
}

// Valid reports whether signature signs url and params. An empty
// signature is never valid.
func (v Verifier) Valid(url string, params map[string]string, signature string) bool {
	if signature == "" {
		return false
	}
	return v.v.Validate(url, params, signature)
}
