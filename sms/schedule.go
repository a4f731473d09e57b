package sms

import "time"

// Holidays tells national and local holidays (hours.Schedule).
type Holidays interface {
	Holiday(t time.Time) (string, bool)
}

// Quiet is when no SMS is sent (SPEC §6): before 09:00 and from 20:00,
// Sundays and holidays, in Loc.
type Quiet struct {
	Loc      *time.Location
	From, To int // allowed hours [From, To): 9, 20
	Holidays Holidays
}

// Allowed reports whether a message may go at t.
func (q Quiet) Allowed(t time.Time) bool {
	l := t.In(q.Loc)
	if l.Weekday() == time.Sunday || l.Hour() < q.From || l.Hour() >= q.To {
		return false
	}
	if q.Holidays != nil {
		if _, hol := q.Holidays.Holiday(l); hol {
			return false
		}
	}
	return true
}

// Next returns t when allowed, otherwise the first allowed minute after it.
func (q Quiet) Next(t time.Time) time.Time {
	if q.Allowed(t) {
		return t
	}
	l := t.In(q.Loc)
	day := time.Date(l.Year(), l.Month(), l.Day(), q.From, 0, 0, 0, q.Loc)
	if !l.Before(day) {
		day = day.AddDate(0, 0, 1)
	}
	for range 14 {
		if q.Allowed(day) {
			return day.UTC()
		}
		day = day.AddDate(0, 0, 1)
	}
	return day.UTC()
}

// ReminderAt is when the reminder of an appointment goes: days calendar
// days before it (five), at the same wall-clock time in Loc, or the first
// allowed minute after.
func (q Quiet) ReminderAt(appointment time.Time, days int) time.Time {
	return q.Next(appointment.In(q.Loc).AddDate(0, 0, -days))
}
