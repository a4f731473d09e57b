// Package hours is the service's opening schedule (SPEC §3.1): a weekly
// schedule in Europe/Rome, the Italian national holidays and the
// configured local ones. The IVR, the queue, the recall dialler (retries
// only in service hours), the SMS quiet hours and the report read it.
package hours

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rickar/cal/v2"
	"github.com/rickar/cal/v2/it"
)

// Config is the service-hours section of the configuration.
type Config struct {
	// TimeZone of the schedule (default Europe/Rome).
	TimeZone string `yaml:"time_zone"`
	// Weekly maps an English weekday name (lower case) to its opening
	// ranges "HH:MM-HH:MM"; a missing day is closed.
	Weekly map[string][]string `yaml:"weekly"`
	// LocalHolidays are closures on top of the national holidays: "MM-DD"
	// every year (the patron saint) or "YYYY-MM-DD" once.
	LocalHolidays []string `yaml:"local_holidays"`
}

// Default is SPEC §3's schedule: Mon–Fri 08:00–18:00, Sat
// 08:00–13:00, Europe/Rome, no local holiday.
func Default() Config {
	week := []string{"08:00-18:00"}
	return Config{
		TimeZone: "Europe/Rome",
		Weekly: map[string][]string{
			"monday": week, "tuesday": week, "wednesday": week, "thursday": week, "friday": week,
			"saturday": {"08:00-13:00"},
		},
		LocalHolidays: []string{},
	}
}

// sanFrancesco is 4 October, a national holiday again from 2026 (law
// 151/2025); the holiday library predates it.
var sanFrancesco = &cal.Holiday{Name: "San Francesco d'Assisi", Type: cal.ObservancePublic,
	Month: time.October, Day: 4, Func: cal.CalcDayOfMonth, StartYear: 2026}

// Schedule answers "is the service open" and "when does it reopen".
type Schedule struct {
	loc      *time.Location
	week     [7][]span // by time.Weekday
	holidays []*cal.Holiday
	yearly   map[[2]int]bool // month, day
	once     map[string]bool // YYYY-MM-DD
}

// span is an opening range in minutes from local midnight.
type span struct{ from, to int }

// New validates a schedule.
func New(c Config) (*Schedule, error) {
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("service hours: time zone %q: %w", c.TimeZone, err)
	}
	h := &Schedule{loc: loc, yearly: map[[2]int]bool{}, once: map[string]bool{},
		holidays: append(slices.Clone(it.Holidays), sanFrancesco)}
	days := map[string]time.Weekday{"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday,
		"wednesday": time.Wednesday, "thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday}
	for name, ranges := range c.Weekly {
		wd, ok := days[strings.ToLower(name)]
		if !ok {
			return nil, fmt.Errorf("service hours: %q is not a weekday name", name)
		}
		for _, r := range ranges {
			sp, err := parseSpan(r)
			if err != nil {
				return nil, fmt.Errorf("service hours: %s: %w", name, err)
			}
			h.week[wd] = append(h.week[wd], sp)
		}
		slices.SortFunc(h.week[wd], func(a, b span) int { return a.from - b.from })
		for i := 1; i < len(h.week[wd]); i++ {
			if h.week[wd][i].from < h.week[wd][i-1].to {
				return nil, fmt.Errorf("service hours: %s: ranges overlap", name)
			}
		}
	}
	for _, d := range c.LocalHolidays {
		if t, err := time.Parse(time.DateOnly, d); err == nil {
			h.once[t.Format(time.DateOnly)] = true
			continue
		}
		t, err := time.Parse("01-02", d)
		if err != nil {
			return nil, fmt.Errorf("service hours: local holiday %q must be MM-DD or YYYY-MM-DD", d)
		}
		h.yearly[[2]int{int(t.Month()), t.Day()}] = true
	}
	return h, nil
}

func parseSpan(s string) (span, error) {
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return span{}, fmt.Errorf("range %q must be HH:MM-HH:MM", s)
	}
	f, err1 := time.Parse("15:04", strings.TrimSpace(from))
	t, err2 := time.Parse("15:04", strings.TrimSpace(to))
	if err1 != nil || err2 != nil {
		return span{}, fmt.Errorf("range %q must be HH:MM-HH:MM", s)
	}
	sp := span{f.Hour()*60 + f.Minute(), t.Hour()*60 + t.Minute()}
	if sp.to <= sp.from {
		return span{}, fmt.Errorf("range %q ends before it starts", s)
	}
	return sp, nil
}

// Holiday reports whether the local day of t is a national or local
// holiday, and its name.
func (h *Schedule) Holiday(t time.Time) (string, bool) {
	l := t.In(h.loc)
	y, m, d := l.Date()
	if h.once[l.Format(time.DateOnly)] || h.yearly[[2]int{int(m), d}] {
		return "festività locale", true
	}
	for _, hol := range h.holidays {
		if hol.StartYear != 0 && y < hol.StartYear {
			continue
		}
		actual, _ := hol.Calc(y)
		if actual.Month() == m && actual.Day() == d {
			return hol.Name, true
		}
	}
	return "", false
}

// Open reports whether the service is open at t.
func (h *Schedule) Open(t time.Time) bool {
	l := t.In(h.loc)
	if _, hol := h.Holiday(l); hol {
		return false
	}
	min := l.Hour()*60 + l.Minute()
	for _, sp := range h.week[l.Weekday()] {
		if min >= sp.from && min < sp.to {
			return true
		}
	}
	return false
}

// NextOpening returns the next instant at or after t when the service
// opens (t itself when open), looking at most a year ahead; ok is false for
// a schedule that never opens.
func (h *Schedule) NextOpening(t time.Time) (next time.Time, ok bool) {
	if h.Open(t) {
		return t, true
	}
	l := t.In(h.loc)
	day := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, h.loc)
	for i := 0; i < 366; i++ {
		d := day.AddDate(0, 0, i)
		if _, hol := h.Holiday(d); hol {
			continue
		}
		for _, sp := range h.week[d.Weekday()] {
			// time.Date normalises minutes, also across DST changes.
			start := time.Date(d.Year(), d.Month(), d.Day(), 0, sp.from, 0, 0, h.loc)
			if !start.Before(t) {
				return start, true
			}
		}
	}
	return time.Time{}, false
}

// Location is the schedule's time zone, in which prompts say days and
// hours.
func (h *Schedule) Location() *time.Location { return h.loc }

// ClosingAfter is when the service closes on the n-th service day after
// the local day of t (n ≥ 1): the end of that day's last opening range,
// holidays and closed days skipped; ok is false when there is none within
// a year.
func (h *Schedule) ClosingAfter(t time.Time, n int) (time.Time, bool) {
	l := t.In(h.loc)
	day := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, h.loc)
	for i := 1; i <= 366; i++ {
		d := day.AddDate(0, 0, i)
		spans := h.week[d.Weekday()]
		if _, hol := h.Holiday(d); hol || len(spans) == 0 {
			continue
		}
		if n--; n == 0 {
			return time.Date(d.Year(), d.Month(), d.Day(), 0, spans[len(spans)-1].to, 0, 0, h.loc), true
		}
	}
	return time.Time{}, false
}
