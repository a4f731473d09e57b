package phone_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/phone"
)

func TestParseItalian(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		ok   bool
		e164 string
		kind phone.Kind
	}{
		// A mobile in national form, as a carrier often presents it.
		{"mobile national", "3471234567", true, "+393471234567", phone.Mobile},
		// The same with +39 and 0039.
		{"mobile e164", "+393471234567", true, "+393471234567", phone.Mobile},
		{"mobile 0039", "00393471234567", true, "+393471234567", phone.Mobile},
		// A Genoa landline keeps its leading 0.
		{"landline genova", "0105551234", true, "+390105551234", phone.Landline},
		// A Foggia landline.
		{"landline foggia", "0881712345", true, "+390881712345", phone.Landline},
		// Withheld caller IDs.
		{"empty", "", false, "", phone.Invalid},
		{"anonymous", "anonymous", false, "", phone.Invalid},
		// A foreign number is not called back.
		{"foreign", "+441632960961", false, "", phone.Invalid},
		// A toll-free number is not a citizen's phone.
		{"toll free", "800466222", false, "", phone.Invalid},
		// Too short to be anything.
		{"short", "347123", false, "", phone.Invalid},
		// Letters.
		{"garbage", "abc", false, "", phone.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n, ok := phone.ParseItalian(tt.in)
			require.Equal(t, tt.ok, ok)
			require.Equal(t, tt.e164, n.E164)
			require.Equal(t, tt.kind, n.Kind)
		})
	}
}
