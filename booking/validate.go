package booking

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// ErrInvalidInput is wrapped by every validation error: a malformed value
// is refused with its reason before anything is looked up or changed.
var ErrInvalidInput = errors.New("invalid input")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidInput, fmt.Sprintf(format, args...))
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// --- Codice fiscale ----------------------------------------------------------

// cfOdd is the value of a character in an odd (1st, 3rd, ...) position of
// the codice fiscale, digits and letters alike (DM 23/12/1976).
var cfOdd = map[byte]int{
	'0': 1, '1': 0, '2': 5, '3': 7, '4': 9, '5': 13, '6': 15, '7': 17, '8': 19, '9': 21,
	'A': 1, 'B': 0, 'C': 5, 'D': 7, 'E': 9, 'F': 13, 'G': 15, 'H': 17, 'I': 19, 'J': 21,
	'K': 2, 'L': 4, 'M': 18, 'N': 20, 'O': 11, 'P': 3, 'Q': 6, 'R': 8, 'S': 12, 'T': 14,
	'U': 16, 'V': 10, 'W': 22, 'X': 25, 'Y': 24, 'Z': 23,
}

// omocodia letters stand for digits when two people would share a code.
const omocodia = "LMNPQRSTUV"

// cfDigitPositions may hold a digit or its omocodia letter.
var cfDigitPositions = []int{6, 7, 9, 10, 12, 13, 14}

const cfMonths = "ABCDEHLMPRST"

// FiscalCodeCheckChar computes the check character of the first 15
// characters of a codice fiscale.
func FiscalCodeCheckChar(first15 string) (byte, error) {
	if len(first15) != 15 {
		return 0, invalid("codice fiscale needs 15 characters before the check character")
	}
	sum := 0
	for i := 0; i < 15; i++ {
		c := first15[i]
		if i%2 == 0 { // 1st, 3rd, ... in the official numbering
			v, ok := cfOdd[c]
			if !ok {
				return 0, invalid("codice fiscale has %q at position %d", c, i+1)
			}
			sum += v
			continue
		}
		switch {
		case c >= '0' && c <= '9':
			sum += int(c - '0')
		case c >= 'A' && c <= 'Z':
			sum += int(c - 'A')
		default:
			return 0, invalid("codice fiscale has %q at position %d", c, i+1)
		}
	}
	return byte('A' + sum%26), nil
}

// ValidateFiscalCode checks an upper-case codice fiscale: its shape
// (omocodia included), month letter, day and check character.
func ValidateFiscalCode(cf string) error {
	if len(cf) != 16 {
		return invalid("codice fiscale must be 16 characters, got %d", len(cf))
	}
	letter := func(c byte) bool { return c >= 'A' && c <= 'Z' }
	for _, i := range []int{0, 1, 2, 3, 4, 5, 8, 11, 15} {
		if !letter(cf[i]) {
			return invalid("codice fiscale position %d must be a letter", i+1)
		}
	}
	digits := []byte(cf)
	for _, i := range cfDigitPositions {
		c := cf[i]
		if k := strings.IndexByte(omocodia, c); k >= 0 {
			digits[i] = byte('0' + k)
		} else if c < '0' || c > '9' {
			return invalid("codice fiscale position %d must be a digit", i+1)
		}
	}
	if strings.IndexByte(cfMonths, cf[8]) < 0 {
		return invalid("codice fiscale month letter %q is not one of %s", cf[8], cfMonths)
	}
	day := int(digits[9]-'0')*10 + int(digits[10]-'0')
	if day > 40 { // women: day + 40
		day -= 40
	}
	if day < 1 || day > 31 {
		return invalid("codice fiscale day %s is out of range", string(digits[9:11]))
	}
	want, err := FiscalCodeCheckChar(cf[:15])
	if err != nil {
		return err
	}
	if cf[15] != want {
		return invalid("codice fiscale check character is %c, want %c", cf[15], want)
	}
	return nil
}

// --- NRE -----------------------------------------------------------------------

// ValidateNRE checks an electronic prescription number: a 5-character
// regional prefix, then 10 digits.
func ValidateNRE(nre string) error {
	if len(nre) != 15 {
		return invalid("NRE must be 15 characters, got %d", len(nre))
	}
	for i := 0; i < 5; i++ {
		c := nre[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') {
			return invalid("NRE prefix must be digits and upper-case letters")
		}
	}
	if !allDigits(nre[5:]) {
		return invalid("NRE must end with 10 digits")
	}
	return nil
}

// ValidateNREDigits checks the 10 digits a caller keys after the regional
// prefix.
func ValidateNREDigits(digits string) error {
	if len(digits) != 10 || !allDigits(digits) {
		return invalid("the NRE's digits are 10 digits")
	}
	return nil
}

// --- Booking numbers -----------------------------------------------------------

// damm is the Damm quasigroup: its check digit catches every single-digit
// error and every transposition of adjacent digits.
var damm = [10][10]byte{
	{0, 3, 1, 7, 5, 9, 8, 6, 4, 2},
	{7, 0, 9, 2, 1, 5, 4, 8, 6, 3},
	{4, 2, 0, 6, 8, 7, 1, 3, 5, 9},
	{1, 7, 5, 0, 9, 8, 3, 4, 2, 6},
	{6, 1, 2, 3, 0, 4, 5, 9, 7, 8},
	{3, 6, 7, 4, 2, 0, 9, 5, 8, 1},
	{5, 8, 6, 9, 7, 2, 0, 1, 3, 4},
	{8, 9, 4, 5, 3, 6, 2, 0, 1, 7},
	{9, 4, 3, 8, 6, 1, 7, 2, 0, 5},
	{2, 5, 8, 1, 4, 3, 6, 7, 9, 0},
}

// DammDigit returns the check digit of a string of digits.
func DammDigit(digits string) byte {
	var interim byte
	for i := 0; i < len(digits); i++ {
		interim = damm[interim][digits[i]-'0']
	}
	return '0' + interim
}

// ValidateBookingNumber checks a 12-digit booking number: the first digit
// non-zero and the last the Damm check digit of the first 11.
func ValidateBookingNumber(n string) error {
	if len(n) != 12 || !allDigits(n) {
		return invalid("booking number must be 12 digits")
	}
	if n[0] == '0' {
		return invalid("booking number cannot start with 0")
	}
	if DammDigit(n[:11]) != n[11] {
		return invalid("booking number check digit is wrong (mistyped?)")
	}
	return nil
}

// randomDigits draws n uniformly random digits, the first non-zero, by
// rejection sampling (bytes >= 250 would bias toward 0..5).
func randomDigits(r io.Reader, n int) (string, error) {
	out := make([]byte, 0, n)
	buf := make([]byte, 2*n)
	for len(out) < n {
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", fmt.Errorf("drawing random digits: %w", err)
		}
		for _, b := range buf {
			if len(out) == n {
				break
			}
			if len(out) == 0 {
				if b >= 252 { // 252 = 9*28: unbiased over 1..9
					continue
				}
				out = append(out, '1'+b%9)
				continue
			}
			if b >= 250 {
				continue
			}
			out = append(out, '0'+b%10)
		}
	}
	return string(out), nil
}

// NewBookingNumber draws a random booking number: 11 random digits (the
// first non-zero) and a Damm check digit. Random, so numbers say nothing
// about how many bookings exist and cannot be guessed from another.
func NewBookingNumber(r io.Reader) (string, error) {
	d, err := randomDigits(r, 11)
	if err != nil {
		return "", err
	}
	return d + string(DammDigit(d)), nil
}

// NewCancellationCode draws an 8-digit cancellation code, the first
// non-zero, short enough to read out on the phone.
func NewCancellationCode(r io.Reader) (string, error) {
	return randomDigits(r, 8)
}

// --- Dates ---------------------------------------------------------------------

// ValidateBirthDate parses a birth date keyed on the phone as DDMMYYYY: a
// real calendar date, not in the future (in Rome), not before 1900. It
// returns the date at midnight UTC.
func ValidateBirthDate(ddmmyyyy string, now time.Time) (time.Time, error) {
	if len(ddmmyyyy) != 8 || !allDigits(ddmmyyyy) {
		return time.Time{}, invalid("birth date must be 8 digits DDMMYYYY")
	}
	d, err := time.Parse("02012006", ddmmyyyy)
	if err != nil {
		return time.Time{}, invalid("birth date %s is not a calendar date", ddmmyyyy)
	}
	ty, tm, td := now.In(Rome).Date()
	today := time.Date(ty, tm, td, 0, 0, 0, 0, time.UTC)
	if d.After(today) {
		return time.Time{}, invalid("birth date is in the future")
	}
	if d.Year() < 1900 {
		return time.Time{}, invalid("birth date is before 1900")
	}
	return d, nil
}
