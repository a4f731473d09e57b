package bench

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseMark(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want time.Time
		bad  bool
	}{
		// The dialplan's STRFTIME(,,%s.%6q), exact to the microsecond.
		{in: "1795531529.424801", want: time.Unix(1795531529, 424801000)},
		// Leading zeros in the fraction are microseconds, not a float.
		{in: "1795531529.000042", want: time.Unix(1795531529, 42000)},
		// Anything else is refused rather than misread.
		{in: "", bad: true},
		{in: "1795531529", bad: true},
		{in: "1795531529.42", bad: true},
		{in: "x.424801", bad: true},
		{in: "1795531529.42480x", bad: true},
	} {
		got, err := parseMark(tc.in)
		if tc.bad {
			require.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.True(t, tc.want.Equal(got), "%s: got %v", tc.in, got)
	}
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	require.Equal(t, 50.0, pct(d, 50))
	require.Equal(t, 99.0, pct(d, 99))
	require.Equal(t, 0.0, pct(nil, 50))
}
