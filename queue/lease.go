package queue

import (
	"context"
	"sync"
	"time"
)

// leaseTTL is how long Redis keeps a lease its holder does not renew
// (the dispatcher renews every second).
const leaseTTL = 5 * time.Second

// leases are the leases this instance holds, by queue (see Lease). A
// lease rings one agent once: its token is spent when taken, and a renewal
// of it (a tick while its claim is in flight) is not trusted again. A
// revocation can overtake the grant it revokes (it comes on the
// subscription, the grant on a command's reply): it spends the token too.
//
// A caller arriving while another's claim is in flight waits for it (about
// a millisecond): the claim brings the queue's next lease. Going to Redis
// instead would pair this caller with the agent being claimed, the longest
// idle still, revoke the lease and withdraw the other caller's ring.
type leases struct {
	mu       sync.Mutex
	held     map[string]Lease
	spent    map[string]time.Time     // token → when spent or revoked
	claiming map[string]chan struct{} // queue → closed when its claim returns
}

// claimWait bounds the wait for another caller's claim (Redis slow).
const claimWait = 100 * time.Millisecond

func newLeases() *leases {
	return &leases{held: map[string]Lease{}, spent: map[string]time.Time{}, claiming: map[string]chan struct{}{}}
}

// spend marks a token used up; tokens older than any grant can be are
// forgotten. Callers hold mu.
func (l *leases) spend(token string, now time.Time) {
	l.spent[token] = now
	for t, at := range l.spent {
		if now.Sub(at) > 2*leaseTTL {
			delete(l.spent, t)
		}
	}
}

// take hands out queue's lease for one caller, who must report its claim's
// outcome with claimed. ok=false: no lease, go through Redis.
func (l *leases) take(ctx context.Context, queue string, now func() time.Time) (Lease, bool) {
	var timeout <-chan time.Time // made only if a claim is waited for
	for {
		l.mu.Lock()
		le, ok := l.held[queue]
		inFlight := l.claiming[queue]
		switch {
		case ok:
			delete(l.held, queue)
			t := now()
			l.spend(le.Token, t)
			if !t.Before(le.Until) {
				l.mu.Unlock()
				return Lease{}, false
			}
			if inFlight == nil {
				l.claiming[queue] = make(chan struct{})
			}
			l.mu.Unlock()
			return le, true
		case inFlight == nil:
			l.mu.Unlock()
			return Lease{}, false
		}
		l.mu.Unlock()
		if timeout == nil {
			t := time.NewTimer(claimWait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-inFlight:
		case <-timeout:
			return Lease{}, false
		case <-ctx.Done():
			return Lease{}, false
		}
	}
}

// claimed ends a claim of queue's lease: next, if any, is the next lease
// (hasNext), and callers waiting for it go on.
func (l *leases) claimed(queue string, next Lease, hasNext bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if hasNext {
		l.keep(next)
	}
	if ch := l.claiming[queue]; ch != nil {
		close(ch)
		delete(l.claiming, queue)
	}
}

// put keeps a lease granted or renewed by Redis, unless its token is spent.
func (l *leases) put(le Lease) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.keep(le)
}

// keep is put with mu held.
func (l *leases) keep(le Lease) {
	if _, gone := l.spent[le.Token]; !gone {
		l.held[le.Queue] = le
	}
}

// drop forgets queue's lease (Redis granted none).
func (l *leases) drop(queue string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.held, queue)
}

// revoke forgets the lease with token, held or still to be granted.
func (l *leases) revoke(queue, token string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if le, ok := l.held[queue]; ok && le.Token == token {
		delete(l.held, queue)
	}
	l.spend(token, now)
}

// refreshLeases acquires or renews this instance's lease of each queue.
func (o *Operator) refreshLeases(ctx context.Context, queues []string) {
	for _, q := range queues {
		le, ok, err := o.store.AcquireLease(ctx, q, o.cfg.Instance, o.now(), leaseTTL)
		switch {
		case err != nil:
			o.log.Error("acquiring lease", "queue", q, "err", err)
			o.leases.drop(q)
		case ok:
			o.leases.put(le)
		default:
			o.leases.drop(q)
		}
	}
}
