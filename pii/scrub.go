package pii

import (
	"log/slog"
	"regexp"
	"strings"
)

// personal matches what may stand in any text: an international number
// (+…, its URL-encoded %2B…, 0039…), an Italian mobile or landline,
// a 12-digit booking number, an NRE (5 characters, 10 digits), a codice
// fiscale. Longer runs of digits (timestamps, ids) are not cut into.
var personal = regexp.MustCompile(`(?:\+|%2[Bb])[1-9][0-9]{7,14}\b|\b(?:0039|3[0-9]{2}|0[1-9])[0-9]{6,10}\b|\b[1-9][0-9]{11}\b|` +
	`\b[0-9]{3}[0-9A-Z]{2}[0-9]{10}\b|\b[A-Z]{6}[0-9]{2}[A-Z][0-9]{2}[A-Z][0-9]{3}[A-Z]\b`)

// fiscal is a codice fiscale alone.
var fiscal = regexp.MustCompile(`^[A-Z]{6}[0-9]{2}[A-Z][0-9]{2}[A-Z][0-9]{3}[A-Z]$`)

// Scrub masks, in any text (an error's message, a URL), every phone
// number, booking number, NRE and codice fiscale: what was not typed as
// personal data by whoever wrote the text is masked all the same.
func Scrub(s string) string {
	if !strings.ContainsAny(s, "0123456789") {
		return s
	}
	return personal.ReplaceAllStringFunc(s, func(m string) string {
		switch {
		case fiscal.MatchString(m):
			return MaskFiscalCode(m)
		case strings.HasPrefix(m, "%2B"), strings.HasPrefix(m, "%2b"):
			return "%2B" + strings.TrimPrefix(MaskPhone("+"+m[3:]), "+")
		case len(m) == 15 && !strings.HasPrefix(m, "0039"):
			return MaskCode(m) // an NRE
		case len(m) == 12 && m[0] != '0' && m[0] != '3' && m[0] != '+':
			return MaskCode(m) // a booking number
		}
		return MaskPhone(m)
	})
}

// MaskCode keeps a code's first two and last two characters
// ("123456789012" → "12********12").
func MaskCode(c string) string {
	if len(c) < 6 {
		return strings.Repeat("*", len(c))
	}
	return c[:2] + strings.Repeat("*", len(c)-4) + c[len(c)-2:]
}

// scrubAttr masks a string attribute, or an error's text.
func scrubAttr(a slog.Attr) slog.Attr {
	switch a.Value.Kind() {
	case slog.KindString:
		if s := a.Value.String(); s != Scrub(s) {
			return slog.String(a.Key, Scrub(s))
		}
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok {
			return slog.String(a.Key, Scrub(err.Error()))
		}
	}
	return a
}
