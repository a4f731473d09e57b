package hours_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/hours"
)

var rome, _ = time.LoadLocation("Europe/Rome")

func at(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, rome) }

func TestHours(t *testing.T) {
	t.Parallel()
	cfg := hours.Default()
	cfg.LocalHolidays = []string{"06-24", "2026-12-24"} // San Giovanni (Genova), and one closure
	h, err := hours.New(cfg)
	require.NoError(t, err)
	tests := []struct {
		name string
		t    time.Time
		open bool
		next time.Time
	}{
		// A weekday at opening time: open.
		{"monday 08:00", at(2026, 3, 2, 8, 0), true, at(2026, 3, 2, 8, 0)},
		// One minute before opening: closed, opens at 08:00.
		{"monday 07:59", at(2026, 3, 2, 7, 59), false, at(2026, 3, 2, 8, 0)},
		// Closing time is already closed: reopens the next morning.
		{"tuesday 18:00", at(2026, 3, 3, 18, 0), false, at(2026, 3, 4, 8, 0)},
		// Saturday afternoon: closed until Monday.
		{"saturday 13:00", at(2026, 3, 7, 13, 0), false, at(2026, 3, 9, 8, 0)},
		// Sunday: closed.
		{"sunday", at(2026, 3, 8, 10, 0), false, at(2026, 3, 9, 8, 0)},
		// Easter Monday 2026 (6 April): national holiday.
		{"pasquetta", at(2026, 4, 6, 10, 0), false, at(2026, 4, 7, 8, 0)},
		// 25 April 2026 is a Saturday: closed all day, next opening Monday 27.
		{"liberazione", at(2026, 4, 24, 18, 30), false, at(2026, 4, 27, 8, 0)},
		// The patron saint: a local holiday every year.
		{"san giovanni", at(2027, 6, 24, 9, 0), false, at(2027, 6, 25, 8, 0)},
		// A one-off closure.
		{"christmas eve 2026", at(2026, 12, 24, 9, 0), false, at(2026, 12, 28, 8, 0)},
		// 4 October is national from 2026 (a Monday in 2027).
		{"san francesco 2027", at(2027, 10, 4, 9, 0), false, at(2027, 10, 5, 8, 0)},
		// ...but not before 2026 (2021-10-04 was a Monday).
		{"san francesco 2021", at(2021, 10, 4, 9, 0), true, at(2021, 10, 4, 9, 0)},
		// Across the spring DST change (Sunday 29 March 2026).
		{"dst", at(2026, 3, 28, 14, 0), false, at(2026, 3, 30, 8, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.open, h.Open(tt.t))
			next, ok := h.NextOpening(tt.t)
			require.True(t, ok)
			require.True(t, tt.next.Equal(next), "next opening %s, want %s", next, tt.next)
		})
	}
}

func TestHoursConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(*hours.Config)
		want string
	}{
		// A day name that is not one.
		{"bad day", func(c *hours.Config) { c.Weekly["lunedi"] = []string{"08:00-12:00"} }, "not a weekday"},
		// A range that ends before it starts.
		{"backwards", func(c *hours.Config) { c.Weekly["monday"] = []string{"18:00-08:00"} }, "ends before"},
		// Overlapping ranges.
		{"overlap", func(c *hours.Config) { c.Weekly["monday"] = []string{"08:00-13:00", "12:00-18:00"} }, "overlap"},
		// A holiday in an unknown format.
		{"bad holiday", func(c *hours.Config) { c.LocalHolidays = []string{"24/06"} }, "MM-DD"},
		// An unknown time zone.
		{"bad zone", func(c *hours.Config) { c.TimeZone = "Europe/Genova" }, "time zone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := hours.Default()
			c.Weekly = map[string][]string{"monday": {"08:00-18:00"}}
			tt.edit(&c)
			_, err := hours.New(c)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestHoursNeverOpen(t *testing.T) {
	t.Parallel()
	h, err := hours.New(hours.Config{TimeZone: "Europe/Rome"})
	require.NoError(t, err)
	_, ok := h.NextOpening(at(2026, 3, 2, 8, 0))
	require.False(t, ok)
}

func TestClosingAfter(t *testing.T) {
	t.Parallel()
	h, err := hours.New(hours.Default())
	require.NoError(t, err)
	tests := []struct {
		name string
		t    time.Time
		n    int
		want time.Time
	}{
		// A Monday's request: Tuesday's closing.
		{"monday", at(2026, 3, 2, 10, 0), 1, at(2026, 3, 3, 18, 0)},
		// Friday night: Saturday closes at 13:00.
		{"friday night", at(2026, 3, 6, 21, 0), 1, at(2026, 3, 7, 13, 0)},
		// Saturday: Sunday is closed, Monday counts.
		{"saturday", at(2026, 3, 7, 12, 0), 1, at(2026, 3, 9, 18, 0)},
		// Two service days after Friday: Saturday, then Monday.
		{"two days", at(2026, 3, 6, 10, 0), 2, at(2026, 3, 9, 18, 0)},
		// The day before Easter Monday (6 April 2026): the holiday is skipped.
		{"easter", at(2026, 4, 4, 10, 0), 1, at(2026, 4, 7, 18, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := h.ClosingAfter(tt.t, tt.n)
			require.True(t, ok)
			require.True(t, tt.want.Equal(got), "got %s", got)
		})
	}
}
