package pii

import (
	"log/slog"
	"strings"
)

// MaskPhone keeps what an operator needs to tell numbers apart in a log (the
// international prefix, the operator or area prefix and the last two digits)
// and hides the rest: "+393471234567" → "+39347*****67". Short or empty
// input is masked whole.
func MaskPhone(number string) string {
	n := strings.TrimSpace(number)
	if n == "" {
		return ""
	}
	prefix := ""
	if strings.HasPrefix(n, "+") {
		prefix, n = "+", n[1:]
	}
	if len(n) < 7 {
		return prefix + strings.Repeat("*", len(n))
	}
	keep := 3
	if strings.HasPrefix(prefix+n, "+39") || strings.HasPrefix(n, "0039") {
		keep = len(n) - len(strings.TrimPrefix(strings.TrimPrefix(n, "0039"), "39")) + 3
	}
	if keep > len(n)-4 {
		keep = len(n) - 4
	}
	return prefix + n[:keep] + strings.Repeat("*", len(n)-keep-2) + n[len(n)-2:]
}

// MaskFiscalCode keeps the first three letters (from the surname) and the
// check character: "RSSMRA80A01H501U" → "RSS************U".
func MaskFiscalCode(cf string) string {
	c := strings.TrimSpace(cf)
	if len(c) < 6 {
		return strings.Repeat("*", len(c))
	}
	return c[:3] + strings.Repeat("*", len(c)-4) + c[len(c)-1:]
}

// Phone is a phone number that logs itself masked.
type Phone string

// LogValue implements slog.LogValuer.
func (p Phone) LogValue() slog.Value { return slog.StringValue(MaskPhone(string(p))) }

// String masks too, so %v and %s in an error message do not leak it.
func (p Phone) String() string { return MaskPhone(string(p)) }

// FiscalCode is a codice fiscale that logs itself masked.
type FiscalCode string

// LogValue implements slog.LogValuer.
func (c FiscalCode) LogValue() slog.Value { return slog.StringValue(MaskFiscalCode(string(c))) }

// String masks too.
func (c FiscalCode) String() string { return MaskFiscalCode(string(c)) }

// phoneKeys and fiscalKeys are the attribute keys that carry personal data
// by convention across centralino's packages.
var (
	phoneKeys  = map[string]bool{"phone": true, "caller": true, "caller_id": true, "callee": true, "to": true, "from": true, "number_called": true, "recall_number": true}
	fiscalKeys = map[string]bool{"cf": true, "codice_fiscale": true, "fiscal_code": true}
)

// ReplaceAttr is a slog.HandlerOptions.ReplaceAttr that masks string
// attributes whose key says they carry a phone number or a codice fiscale,
// and in every other string attribute and error (the message included)
// what looks like personal data (Scrub).
func ReplaceAttr(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindString {
		switch {
		case phoneKeys[a.Key]:
			return slog.String(a.Key, MaskPhone(a.Value.String()))
		case fiscalKeys[a.Key]:
			return slog.String(a.Key, MaskFiscalCode(a.Value.String()))
		}
	}
	return scrubAttr(a)
}
