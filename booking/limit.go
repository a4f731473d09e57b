package booking

import (
	"sync"
	"time"
)

// triesLimit counts wrong identities (a booking number with a birth date
// that does not match it, or no such booking) by key: a booking number, or
// a client. Past max in window, the key is refused until its oldest
// failure leaves the window, so nobody can try birth dates (or numbers)
// one after another. It is per instance: with n instances a guesser has n
// times the tries, still a handful.
type triesLimit struct {
	max    int
	window time.Duration

	mu       sync.Mutex
	failures map[string][]time.Time
}

func newTriesLimit(max int, window time.Duration) *triesLimit {
	return &triesLimit{max: max, window: window, failures: map[string][]time.Time{}}
}

// allowed reports whether every key may try again at now.
func (l *triesLimit) allowed(now time.Time, keys ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		if len(l.recent(k, now)) >= l.max {
			return false
		}
	}
	return true
}

// failed records a wrong identity for every key at now.
func (l *triesLimit) failed(now time.Time, keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		l.failures[k] = append(l.recent(k, now), now)
	}
	if len(l.failures) > 100_000 {
		for k := range l.failures {
			if len(l.recent(k, now)) == 0 {
				delete(l.failures, k)
			}
		}
	}
}

// recent are key's failures within the window (mu held).
func (l *triesLimit) recent(key string, now time.Time) []time.Time {
	f := l.failures[key]
	i := 0
	for i < len(f) && now.Sub(f[i]) >= l.window {
		i++
	}
	f = f[i:]
	if len(f) == 0 {
		delete(l.failures, key)
	}
	return f
}
