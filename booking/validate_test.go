package booking_test

import (
	"bytes"
	"crypto/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/booking"
)

func TestValidateFiscalCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cf   string
		ok   bool
	}{
		// The textbook example: Mario Rossi, born in Rome on 1 January 1980.
		{"mario rossi", "RSSMRA80A01H501U", true},
		// A woman: day + 40.
		{"woman", "BNCMRA85T48D969U", true},
		// Omocodia: digits replaced by letters (8→U, 0→L in the day).
		{"omocodia", "RSSMRA80A0MH501M", true},
		// Wrong check character.
		{"check char", "RSSMRA80A01H501X", false},
		// Too short.
		{"short", "RSSMRA80A01H501", false},
		// Lower case is not normalised here.
		{"lower", "rssmra80a01h501u", false},
		// Month letter that does not exist (F).
		{"month", "RSSMRA80F01H501U", false},
		// Day 32.
		{"day", "RSSMRA80A32H501U", false},
		// A letter where a digit must be, not an omocodia letter.
		{"bad omocodia", "RSSMRA8AA01H501U", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := booking.ValidateFiscalCode(tt.cf)
			if tt.ok {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, booking.ErrInvalidInput)
			}
		})
	}
}

func TestFiscalCodeCheckChar(t *testing.T) {
	t.Parallel()
	c, err := booking.FiscalCodeCheckChar("RSSMRA80A01H501")
	require.NoError(t, err)
	require.Equal(t, byte('U'), c)
	_, err = booking.FiscalCodeCheckChar("RSSMRA80A01H50")
	require.ErrorIs(t, err, booking.ErrInvalidInput)
}

func TestValidateNRE(t *testing.T) {
	t.Parallel()
	require.NoError(t, booking.ValidateNRE("070A41234567890"))
	for _, bad := range []string{"", "070A4123456789", "070a41234567890", "070A4123456789X", "070A412345678901"} {
		require.ErrorIs(t, booking.ValidateNRE(bad), booking.ErrInvalidInput, bad)
	}
	require.NoError(t, booking.ValidateNREDigits("1234567890"))
	require.ErrorIs(t, booking.ValidateNREDigits("123456789"), booking.ErrInvalidInput)
	require.ErrorIs(t, booking.ValidateNREDigits("12345678#0"), booking.ErrInvalidInput)
}

func TestDamm(t *testing.T) {
	t.Parallel()
	// The published example: 572 has check digit 4.
	require.Equal(t, byte('4'), booking.DammDigit("572"))
}

func TestBookingNumberCatchesTypos(t *testing.T) {
	t.Parallel()
	for range 200 {
		n, err := booking.NewBookingNumber(rand.Reader)
		require.NoError(t, err)
		require.NoError(t, booking.ValidateBookingNumber(n))
		b := []byte(n)
		// Every single wrong digit is caught...
		for i := range b {
			for d := byte('0'); d <= '9'; d++ {
				if d == n[i] {
					continue
				}
				typo := bytes.Clone(b)
				typo[i] = d
				require.Error(t, booking.ValidateBookingNumber(string(typo)), "%s → %s", n, typo)
			}
		}
		// ...and every swap of two adjacent different digits.
		for i := 0; i+1 < len(b); i++ {
			if b[i] == b[i+1] {
				continue
			}
			swap := bytes.Clone(b)
			swap[i], swap[i+1] = swap[i+1], swap[i]
			require.Error(t, booking.ValidateBookingNumber(string(swap)), "%s → %s", n, swap)
		}
	}
}

func TestRandomDigitsAreUniform(t *testing.T) {
	t.Parallel()
	// 20,000 codes: each digit of positions 2..8 should appear about 10 %
	// of the time; a biased draw (modulo without rejection) would skew
	// the low digits by about 2 %.
	var counts [10]int
	const n = 20000
	for range n {
		c, err := booking.NewCancellationCode(rand.Reader)
		require.NoError(t, err)
		require.Len(t, c, 8)
		require.NotEqual(t, byte('0'), c[0])
		for _, d := range c[1:] {
			counts[d-'0']++
		}
	}
	for d, c := range counts {
		share := float64(c) / (n * 7)
		require.InDelta(t, 0.1, share, 0.01, "digit %d", d)
	}
}

func TestValidateBirthDate(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, booking.Rome)
	tests := []struct {
		name string
		in   string
		want time.Time
		ok   bool
	}{
		// An ordinary date.
		{"ordinary", "31011980", time.Date(1980, 1, 31, 0, 0, 0, 0, time.UTC), true},
		// 29 February of a leap year.
		{"leap", "29022000", time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC), true},
		// 29 February of a common year.
		{"not leap", "29021999", time.Time{}, false},
		// 31 April does not exist.
		{"31 april", "31041980", time.Time{}, false},
		// Today is fine (a newborn)...
		{"today", "02032026", time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), true},
		// ...tomorrow is not.
		{"future", "03032026", time.Time{}, false},
		// Before 1900.
		{"too old", "31121899", time.Time{}, false},
		// Seven digits.
		{"short", "3101198", time.Time{}, false},
		// A star in the middle.
		{"star", "31*11980", time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := booking.ValidateBirthDate(tt.in, now)
			if !tt.ok {
				require.ErrorIs(t, err, booking.ErrInvalidInput)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}
