package pii_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/pii"
)

func TestMaskPhone(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"italian mobile e164", "+393471234567", "+39347*****67"}, // keeps country and operator prefix
		{"national mobile", "3471234567", "347*****67"},           // no country code
		{"landline", "0881123456", "088*****56"},                  // area code kept
		{"withheld", "", ""},                                      // nothing to mask
		{"short", "12345", "*****"},                               // too short to keep anything
		{"foreign", "+441632960961", "+441*******61"},             // other countries: 3 digits
		{"0039 prefix", "00393471234567", "0039347*****67"},       // international dialling prefix
		{"spaces trimmed", " +393471234567 ", "+39347*****67"},    // stray spaces
		{"numero verde", "800466222", "800****22"},                // service numbers too
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, pii.MaskPhone(tt.in))
		})
	}
}

func TestMaskFiscalCode(t *testing.T) {
	t.Parallel()
	require.Equal(t, "RSS************U", pii.MaskFiscalCode("RSSMRA80A01H501U"))
	require.Equal(t, "***", pii.MaskFiscalCode("RSS"))
}

func TestLoggingNeverPrintsClearData(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: pii.ReplaceAttr}))
	// Typed values, keyed strings, and values formatted into messages.
	log.Info("call", "caller", "+393471234567", "cf", "RSSMRA80A01H501U",
		"x", pii.Phone("+393489876543"), "y", pii.FiscalCode("BNCGVN75L12F205X"))
	err := fmt.Errorf("recall to %s failed", pii.Phone("+393401112233"))
	log.Error(err.Error())
	out := buf.String()
	for _, clear := range []string{"3471234567", "RSSMRA80A01H501U", "3489876543", "BNCGVN75L12F205X", "3401112233"} {
		require.NotContains(t, out, clear)
	}
	require.Contains(t, out, "+39347*****67")
	require.Contains(t, out, "BNC************X")
}

func TestScrub(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		// A number in an error's text.
		{"e164", "dial +393471234567 failed", "dial +39347*****67 failed"},
		// A URL's query: the + is encoded.
		{"url encoded", "GET /Messages.json?To=%2B393471234567&PageSize=20", "GET /Messages.json?To=%2B39347*****67&PageSize=20"},
		// A national mobile and a landline.
		{"national", "caller 3471234567 and 0102345678", "caller 347*****67 and 010*****78"},
		// A booking number in a path.
		{"booking number", "/api/v1/bookings/512345678901/cancellation", "/api/v1/bookings/51********01/cancellation"},
		// An NRE.
		{"nre", "prescription 070A41234567890 not found", "prescription 07***********90 not found"},
		// A codice fiscale.
		{"fiscal code", "patient RSSMRA80A01H501U", "patient RSS************U"},
		// Ids and times stay readable.
		{"channel id", "channel 1796159380.118 at 2026-03-02T10:00:00Z", "channel 1796159380.118 at 2026-03-02T10:00:00Z"},
		{"uuid", "call 3f2b9c1e-8a4d-4f6b-9c2d-1a2b3c4d5e6f", "call 3f2b9c1e-8a4d-4f6b-9c2d-1a2b3c4d5e6f"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, pii.Scrub(tt.in))
		})
	}
}

func TestErrorsAndStringsAreScrubbedInLogs(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: pii.ReplaceAttr}))
	log.Error("failed", "err", fmt.Errorf("Get \"https://api.twilio.com/Messages.json?To=%%2B393471234567\": timeout"),
		"route", "/api/v1/bookings/512345678901", "nre", "070A41234567890")
	out := buf.String()
	for _, clear := range []string{"3471234567", "512345678901", "070A41234567890"} {
		require.NotContains(t, out, clear)
	}
}
