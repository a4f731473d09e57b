package booking_test

import (
	"bytes"
	"testing"

	"github.com/centralino-cup/centralino/booking"
)

func FuzzValidateFiscalCode(f *testing.F) {
	for _, s := range []string{"RSSMRA80A01H501U", "BNCMRA85T48D969X", "RSSMRA80A0MH501M", "", "XXXXXXXXXXXXXXXX"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cf string) {
		if booking.ValidateFiscalCode(cf) != nil {
			return
		}
		// Accepted: 16 upper-case alphanumerics whose check character is right.
		if len(cf) != 16 {
			t.Fatalf("accepted %q of length %d", cf, len(cf))
		}
		c, err := booking.FiscalCodeCheckChar(cf[:15])
		if err != nil || c != cf[15] {
			t.Fatalf("accepted %q with a wrong check character", cf)
		}
	})
}

func FuzzValidateNRE(f *testing.F) {
	for _, s := range []string{"070A41234567890", "", "070A4123456789X"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, nre string) {
		if booking.ValidateNRE(nre) != nil {
			return
		}
		if len(nre) != 15 || booking.ValidateNREDigits(nre[5:]) != nil {
			t.Fatalf("accepted malformed NRE %q", nre)
		}
	})
}

func FuzzValidateBookingNumber(f *testing.F) {
	for _, s := range []string{"100000000009", "123456789012", "", "000000000000"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		// Any input as random bytes: the number drawn from it validates, and
		// no single-digit change of it does.
		n, err := booking.NewBookingNumber(bytes.NewReader(bytes.Repeat(append(raw, 7), 64)))
		if err == nil {
			if booking.ValidateBookingNumber(n) != nil {
				t.Fatalf("generated %q does not validate", n)
			}
			for i := range len(n) {
				b := []byte(n)
				b[i] = '0' + (b[i]-'0'+1)%10
				if booking.ValidateBookingNumber(string(b)) == nil {
					t.Fatalf("typo %q of %q validates", b, n)
				}
			}
		}
		// And the validator never panics on arbitrary input.
		_ = booking.ValidateBookingNumber(string(raw))
	})
}
