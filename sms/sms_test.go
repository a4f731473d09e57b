package sms_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/hours"
	"github.com/centralino-cup/centralino/sms"
)

// Twilio's published test vector (twilio-go's own request validator test).
func TestSignatureVector(t *testing.T) {
	v := sms.NewVerifier("12345")
	params := map[string]string{"Digits": "1234", "CallSid": "CA1234567890ABCDE", "To": "+18005551212",
		"Caller": "+14158675309", "From": "+14158675309"}
	url := "https://mycompany.com/myapp.php?foo=1&bar=2"
	require.True(t, v.Valid(url, params, "RSOYDt4T1cUTdK1PDd93/VVr8B8="))
	require.False(t, v.Valid(url, params, ""), "a missing signature is forged")
	require.False(t, v.Valid(url, params, "RSOYDt4T1cUTdK1PDd93/VVr8B8X"))
	params["Digits"] = "1235"
	require.False(t, v.Valid(url, params, "RSOYDt4T1cUTdK1PDd93/VVr8B8="), "a changed parameter breaks it")
	require.False(t, sms.NewVerifier("54321").Valid(url, map[string]string{"Digits": "1234", "CallSid": "CA1234567890ABCDE",
		"To": "+18005551212", "Caller": "+14158675309", "From": "+14158675309"}, "RSOYDt4T1cUTdK1PDd93/VVr8B8="))
}

func TestSegments(t *testing.T) {
	tests := []struct {
		text string
		enc  sms.Encoding
		n    int
	}{
		{strings.Repeat("a", 160), sms.GSM7, 1},
		{strings.Repeat("a", 161), sms.GSM7, 2},
		{strings.Repeat("a", 306), sms.GSM7, 2},
		{strings.Repeat("a", 307), sms.GSM7, 3},
		// è, à, ò, ù, ì and É are in the GSM alphabet; € takes two septets.
		{"Visita è già à però più così É", sms.GSM7, 1},
		{strings.Repeat("€", 80), sms.GSM7, 1},
		{strings.Repeat("€", 81), sms.GSM7, 2},
		// È is not: the whole text goes as UCS-2.
		{"È" + strings.Repeat("a", 69), sms.UCS2, 1},
		{"È" + strings.Repeat("a", 70), sms.UCS2, 2},
	}
	for _, tt := range tests {
		enc, n := sms.Segments(tt.text)
		require.Equal(t, tt.enc, enc, tt.text)
		require.Equal(t, tt.n, n, tt.text)
	}
}

var rome, _ = time.LoadLocation("Europe/Rome")

func TestTextFitsOneSegmentAndSaysNoMore(t *testing.T) {
	a := sms.Appointment{Service: "Ecografia addome completo", At: time.Date(2026, 3, 6, 8, 30, 0, 0, rome), Place: "Poliambulatorio Archimede", Number: "123456789012"}
	for _, k := range []sms.Kind{sms.Confirmation, sms.Reminder, sms.Cancellation, sms.RecallFailed} {
		s, err := sms.Text(k, a, rome, "800466222")
		require.NoError(t, err, k)
		_, n := sms.Segments(s)
		require.Equal(t, 1, n, s)
		require.Contains(t, s, "800466222")
	}
	s, _ := sms.Text(sms.Reminder, a, rome, "800466222")
	require.Equal(t, "CUP: promemoria Ecografia addome completo ven 06/03 ore 08:30, Poliambulatorio Archimede. Per disdire rispondi ANNULLA o chiama 800466222", s)
	// Long names are shortened, never the date or the way to cancel.
	a.Service = "Visita specialistica di controllo cardiologica con elettrocardiogramma e ecocardiogramma color doppler"
	a.Place = "Ospedale Policlinico San Martino IRCCS padiglione monoblocco piano terra ambulatorio numero sette"
	s, err := sms.Text(sms.Confirmation, a, rome, "800466222")
	require.NoError(t, err)
	_, n := sms.Segments(s)
	require.Equal(t, 1, n, s)
	require.Contains(t, s, "ven 06/03 ore 08:30")
	require.Contains(t, s, "ANNULLA")
	require.Contains(t, s, "123456789012")
}

func TestQuietHours(t *testing.T) {
	hours, err := hours.New(hours.Default())
	require.NoError(t, err)
	q := sms.Quiet{Loc: rome, From: 9, To: 20, Holidays: hours}
	at := func(m time.Month, d, h, min int) time.Time { return time.Date(2026, m, d, h, min, 0, 0, rome) }
	require.True(t, q.Allowed(at(3, 7, 19, 59)))  // Saturday evening
	require.False(t, q.Allowed(at(3, 7, 20, 0)))  // from 20:00
	require.False(t, q.Allowed(at(3, 9, 8, 59)))  // before 09:00
	require.False(t, q.Allowed(at(3, 8, 12, 0)))  // Sunday
	require.False(t, q.Allowed(at(12, 8, 12, 0))) // Immacolata
	// Saturday 20:00 → Monday 09:00; the eve of a holiday skips it.
	require.True(t, q.Next(at(3, 7, 20, 0)).Equal(at(3, 9, 9, 0)))
	require.True(t, q.Next(at(12, 7, 21, 0)).Equal(at(12, 9, 9, 0)))
	require.True(t, q.Next(at(3, 9, 8, 0)).Equal(at(3, 9, 9, 0)))
	require.True(t, q.Next(at(3, 9, 10, 17)).Equal(at(3, 9, 10, 17)), "an allowed minute is kept")

	// Five days before, same wall-clock time, across the DST change
	// (29 March 2026): Thursday 2 April 10:30 → Saturday 28 March 10:30.
	require.True(t, q.ReminderAt(at(4, 2, 10, 30), 5).Equal(at(3, 28, 10, 30)))
	// Due on a Sunday → Monday 09:00.
	require.True(t, q.ReminderAt(at(3, 13, 10, 30), 5).Equal(at(3, 9, 9, 0)))
	// An 8:00 appointment: 8:00 five days before is quiet → 09:00.
	require.True(t, q.ReminderAt(at(3, 16, 8, 0), 5).Equal(at(3, 11, 9, 0)))
}
