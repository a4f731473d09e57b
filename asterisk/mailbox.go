package asterisk

import (
	"context"
	"sync"

	"github.com/CyCoreSystems/ari/v5"
)

// mailbox is an unbounded, ordered queue of one call's events. put never
// blocks (the router calls it); get blocks the call's own goroutine.
type mailbox struct {
	mu     sync.Mutex
	events []ari.Event
	ready  chan struct{} // capacity 1: "something was put"
	closed bool
}

func newMailbox() *mailbox { return &mailbox{ready: make(chan struct{}, 1)} }

// put appends an event; it reports false when the box is over its safety
// cap (a stuck consumer), in which case the event is dropped and counted.
func (m *mailbox) put(e ari.Event) bool {
	m.mu.Lock()
	if m.closed || len(m.events) >= mailboxCap {
		m.mu.Unlock()
		return false
	}
	m.events = append(m.events, e)
	m.mu.Unlock()
	select {
	case m.ready <- struct{}{}:
	default:
	}
	return true
}

// mailboxCap bounds one call's backlog: far beyond anything a live call
// produces, it only protects memory from a consumer that died.
const mailboxCap = 10_000

// get returns the next event, waiting until one arrives or ctx ends.
func (m *mailbox) get(ctx context.Context) (ari.Event, error) {
	for {
		m.mu.Lock()
		if len(m.events) > 0 {
			e := m.events[0]
			m.events[0] = nil
			m.events = m.events[1:]
			m.mu.Unlock()
			return e, nil
		}
		m.mu.Unlock()
		select {
		case <-m.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (m *mailbox) close() {
	m.mu.Lock()
	m.closed = true
	m.events = nil
	m.mu.Unlock()
}
