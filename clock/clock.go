// Package clock is the one source of the current time. Every part that
// decides on time takes a Clock from main (the wall clock) or from a test
// (a moved one), and reads it once per event or tick (STYLE: Time).
package clock

import "time"

// Clock returns the current time.
type Clock func() time.Time

// Wall is the real clock, for main to pass to every part.
func Wall() Clock { return time.Now }

// Must panics when c is nil: a part built without a clock is a wiring
// mistake, found at start rather than by a nil call mid-call.
func Must(c Clock, part string) Clock {
	if c == nil {
		panic(part + ": no clock (pass clock.Wall() from main)")
	}
	return c
}
