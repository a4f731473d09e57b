// Package phone normalises the numbers centralino meets (caller IDs, keyed
// recall numbers, SMS recipients) with libphonenumber's Italian rules: it
// tells a valid Italian number from a withheld or foreign one, and a mobile
// (which gets SMS) from a landline (which does not).
package phone

import (
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Kind is what a number is for messaging.
type Kind int

// Kinds.
const (
	Invalid  Kind = iota // withheld, malformed, foreign, or a service number
	Mobile               // gets SMS
	Landline             // gets calls, no SMS
)

// Number is a normalised Italian number.
type Number struct {
	E164 string
	Kind Kind
	// National is how it is read back to the caller: the digits without +39.
	National string
}

// withheld are the caller-ID values Asterisk and carriers use when the
// number is not presented.
var withheld = map[string]bool{"": true, "anonymous": true, "unknown": true, "private": true, "restricted": true, "unavailable": true}

// ParseItalian parses a caller ID or a keyed number as an Italian number. It
// accepts national form (3471234567, 010 1234567), +39 and 0039 forms. ok is
// false for anything that is not a valid Italian mobile or landline.
func ParseItalian(raw string) (Number, bool) {
	s := strings.TrimSpace(raw)
	if withheld[strings.ToLower(s)] {
		return Number{}, false
	}
	if strings.HasPrefix(s, "00") {
		s = "+" + s[2:]
	}
	n, err := phonenumbers.Parse(s, "IT")
	if err != nil || n.GetCountryCode() != 39 || !phonenumbers.IsValidNumberForRegion(n, "IT") {
		return Number{}, false
	}
	var kind Kind
	switch phonenumbers.GetNumberType(n) {
	case phonenumbers.MOBILE:
		kind = Mobile
	case phonenumbers.FIXED_LINE, phonenumbers.FIXED_LINE_OR_MOBILE:
		kind = Landline
	default:
		// Toll-free, premium, shared cost...: never called back or texted.
		return Number{}, false
	}
	e164 := phonenumbers.Format(n, phonenumbers.E164)
	return Number{E164: e164, Kind: kind, National: strings.TrimPrefix(e164, "+39")}, true
}
