package startstop_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/startstop"
)

func TestStopWaitsForTheGoroutines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var l startstop.Loop
		l.Stop() // before Begin: nothing to stop
		start, cancel := context.WithCancel(context.Background())
		ctx, err := l.Begin(start)
		require.NoError(t, err)
		cancel() // the start's context bounds the start only
		require.NoError(t, ctx.Err())
		_, err = l.Begin(context.Background())
		require.ErrorIs(t, err, startstop.ErrStarted)

		var done atomic.Int32
		for range 3 {
			l.Go(func(ctx context.Context) error {
				<-ctx.Done()
				time.Sleep(time.Second) // a goroutine that takes a while to finish
				done.Add(1)
				return nil
			})
		}
		l.Stop()
		require.Equal(t, int32(3), done.Load(), "Stop returned before its goroutines")
		<-l.Done()
		require.NoError(t, l.Err())
		l.Stop() // idempotent
		l.Go(func(context.Context) error { done.Add(1); return nil })
		synctest.Wait()
		require.Equal(t, int32(3), done.Load(), "nothing runs after Stop")
	})
}

// A goroutine that ends on its own reports why; the others go on until
// Stop.
func TestAGoroutineEndingOnItsOwnIsReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var l startstop.Loop
		_, err := l.Begin(context.Background())
		require.NoError(t, err)
		closed := errors.New("client closed")
		// Goroutines that come and go (a dial each) leave the part running.
		l.Go(func(ctx context.Context) error { return nil })
		synctest.Wait()
		select {
		case <-l.Done():
			t.Fatal("done between goroutines")
		default:
		}
		l.Go(func(ctx context.Context) error { time.Sleep(time.Second); return closed })
		l.Go(func(ctx context.Context) error { <-ctx.Done(); return nil })
		time.Sleep(2 * time.Second)
		synctest.Wait()
		select {
		case <-l.Done():
			t.Fatal("done while a goroutine still runs")
		default:
		}
		require.ErrorIs(t, l.Err(), closed)
		l.Stop()
		<-l.Done()
	})
}
