package sms_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/postgres/pgtest"
	"github.com/centralino-cup/centralino/sms"
)

// counting is a transport that accepts every message and notes when.
type counting struct {
	mu   sync.Mutex
	sent []time.Time
}

func (c *counting) Send(ctx context.Context, to, body string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, time.Now())
	return fmt.Sprintf("SM%032d", len(c.sent)), nil
}

func (c *counting) Find(ctx context.Context, to, body string, since time.Time) (string, bool, error) {
	return "", false, nil
}

func (c *counting) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.sent)
}

// The sender's loop in a bubble (testing/synctest): it looks for due
// messages every Poll, sends a backlog without waiting for the next poll,
// and Stop waits for it. The outbox is the real PostgreSQL one; time in
// the bubble moves only while every goroutine waits.
func TestSenderLoopPollsAndDrainsABacklog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := pgtest.NewDB(t) // its pool is the bubble's
		outbox := sms.NewOutbox(db)
		tw := &counting{}
		start := time.Now()
		booking := 0
		enqueue := func(n int, due time.Time) {
			for range n {
				booking++
				_, err := outbox.Enqueue(context.Background(), db, sms.Message{Kind: sms.Reminder,
					BookingNumber: fmt.Sprintf("%012d", booking), Phone: "+393471234567", Body: "CUP: promemoria", Due: due}, time.Now())
				require.NoError(t, err)
			}
		}
		enqueue(1, start.Add(30*time.Second))
		s := sms.NewSender(sms.SenderConfig{Owner: "s1", Poll: time.Second}, outbox, tw, time.Now, prometheus.NewRegistry(), quiet())
		require.NoError(t, s.Start(context.Background()))
		defer s.Stop()

		time.Sleep(29*time.Second + 500*time.Millisecond)
		synctest.Wait()
		require.Zero(t, tw.count(), "sent before it was due")
		time.Sleep(time.Second)
		synctest.Wait()
		require.Equal(t, 1, tw.count())
		require.Equal(t, 30*time.Second, tw.sent[0].Sub(start), "sent at the first poll once due")

		// 120 due at once: three batches of 50, back to back, at the
		// next poll.
		enqueue(120, time.Now())
		time.Sleep(time.Second)
		synctest.Wait()
		require.Equal(t, 121, tw.count())
		require.Equal(t, tw.sent[1], tw.sent[120], "the backlog did not wait for further polls")

		s.Stop()
		enqueue(1, time.Now())
		time.Sleep(10 * time.Second)
		synctest.Wait()
		require.Equal(t, 121, tw.count(), "a stopped sender sends nothing")
		s.Stop() // idempotent
	})
}
