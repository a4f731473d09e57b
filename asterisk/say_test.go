package asterisk_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/asterisk"
)

func TestItalian(t *testing.T) {
	t.Parallel()
	rome, err := time.LoadLocation("Europe/Rome")
	require.NoError(t, err)
	it := asterisk.Italian{Loc: rome, PromptDir: "centralino"}
	tests := []struct {
		name string
		got  []string
		want []string
	}{
		// Monday 3 March 2026 at 9:30, said in Rome (stored as UTC).
		{"date and time", it.DateTime(time.Date(2026, 3, 3, 8, 30, 0, 0, time.UTC)),
			[]string{"sound:digits/day-2", "number:3", "sound:digits/mon-2", "sound:centralino/alle_ore", "number:9", "sound:digits/e", "number:30"}},
		// The first of the month is "primo"; on the hour no minutes.
		{"first, on the hour", it.DateTime(time.Date(2026, 6, 1, 14, 0, 0, 0, rome)),
			[]string{"sound:digits/day-1", "sound:digits/h-1", "sound:digits/mon-5", "sound:centralino/alle_ore", "number:14"}},
		// Sunday is day-0.
		{"sunday", it.Date(time.Date(2026, 3, 8, 12, 0, 0, 0, rome)), []string{"sound:digits/day-0", "number:8", "sound:digits/mon-2"}},
		// Digits one by one.
		{"digits", it.Digits("123456789012"), []string{"digits:123456789012"}},
		// Nothing to say.
		{"no digits", it.Digits(""), nil},
		// A number.
		{"number", it.Number(21), []string{"number:21"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, tt.got)
		})
	}
}
