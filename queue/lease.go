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
type leases struct {
	mu    sync.Mutex
	held  map[string]Lease
	spent map[string]time.Time // token → when spent or revoked
}

func newLeases() *leases {
	return &leases{held: map[string]Lease{}, spent: map[string]time.Time{}}
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

// take hands out queue's lease for one caller.
func (l *leases) take(queue string, now time.Time) (Lease, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	le, ok := l.held[queue]
	if !ok {
		return Lease{}, false
	}
	delete(l.held, queue)
	l.spend(le.Token, now)
	if !now.Before(le.Until) {
		return Lease{}, false
	}
	return le, true
}

// put keeps a lease granted or renewed by Redis, unless its token is spent.
func (l *leases) put(le Lease) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, gone := l.spent[le.Token]; gone {
		return
	}
	l.held[le.Queue] = le
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
