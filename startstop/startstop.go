// Package startstop gives a long-running part (the queue's dispatcher,
// the SMS sender, the recall dialler) the same lifecycle: Start launches
// its goroutines, Stop cancels them and waits until they have returned, so
// that nothing the part runs outlives a client it uses (River's
// startstop). A goroutine that ends on its own with an error (its client
// closed under it) is reported by Done and Err.
package startstop

import (
	"context"
	"errors"
	"sync"
)

// ErrStarted: Start was called twice.
var ErrStarted = errors.New("already started")

// Loop is a part's running state. The zero value is ready to Begin.
type Loop struct {
	mu      sync.Mutex
	started bool
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	running int
	done    chan struct{}
	closed  bool
	err     error
}

// Begin marks the part started and returns the context its goroutines
// run under: parent's values, cancelled by Stop only (parent is what
// bounds the start, not the run).
func (l *Loop) Begin(parent context.Context) (context.Context, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.started {
		return nil, ErrStarted
	}
	l.started = true
	l.ctx, l.cancel = context.WithCancel(context.WithoutCancel(parent))
	if l.done == nil {
		l.done = make(chan struct{})
	}
	return l.ctx, nil
}

// Go runs f under the loop and reports whether it did; Stop waits for
// it. Before Begin, or after Stop, f does not run. The first error a
// goroutine returns is kept (Err).
func (l *Loop) Go(f func(ctx context.Context) error) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ctx == nil || l.ctx.Err() != nil {
		return false
	}
	l.wg.Add(1)
	l.running++
	go func() {
		defer l.wg.Done()
		err := f(l.ctx)
		l.mu.Lock()
		defer l.mu.Unlock()
		if err != nil && l.err == nil {
			l.err = err
		}
		// A part whose goroutines come and go (one per dial) is not done
		// between them: only once stopped, or ended by an error.
		if l.running--; l.running == 0 && !l.closed && (l.ctx.Err() != nil || l.err != nil) {
			l.closed = true
			close(l.done)
		}
	}()
	return true
}

// Done is closed once every goroutine has returned after Stop, or after
// one ended on its own with an error (Err).
func (l *Loop) Done() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done == nil {
		l.done = make(chan struct{})
	}
	return l.done
}

// Err is the first error a goroutine of the loop returned.
func (l *Loop) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Stop cancels the goroutines and waits until they return. It may be
// called more than once, and before Begin.
func (l *Loop) Stop() {
	l.mu.Lock()
	cancel := l.cancel
	l.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done != nil && !l.closed {
		l.closed = true
		close(l.done)
	}
}
