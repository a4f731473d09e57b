package queue

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// readOnly fails the next n scripts on agent ada as a Redis replica does
// during a failover ("READONLY …").
type readOnly struct{ failing, seen atomic.Int32 }

func (h *readOnly) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *readOnly) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (h *readOnly) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		args := cmd.Args()
		if len(args) > 3 && (cmd.Name() == "evalsha" || cmd.Name() == "eval") && h.failing.Load() > 0 {
			if k, _ := args[3].(string); len(k) > 10 && k[len(k)-10:] == ":agent:ada" {
				h.failing.Add(-1)
				h.seen.Add(1)
				err := replicaError("READONLY You can't write against a read only replica.")
				cmd.SetErr(err)
				return err
			}
		}
		return next(ctx, cmd)
	}
}

// replicaError is an error reply from Redis.
type replicaError string

func (e replicaError) Error() string { return string(e) }
func (replicaError) RedisError()     {}

// A Redis error is no refused transition: it is surfaced as an error that
// changes nothing, and the wrap-up after a call is retried until Redis
// takes it.
func TestRedisErrorsAreNotRefusals(t *testing.T) {
	url := os.Getenv("CENTRALINO_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	opts, err := redis.ParseURL(url)
	require.NoError(t, err)
	rdb := redis.NewClient(opts)
	prefix := "test:" + uuid.NewString()[:8]
	t.Cleanup(func() {
		if keys, _ := rdb.Keys(context.Background(), prefix+":*").Result(); len(keys) > 0 {
			rdb.Del(context.Background(), keys...)
		}
		rdb.Close()
	})
	hook := &readOnly{}
	rdb.AddHook(hook)
	store := NewStore(rdb, prefix)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := NewService(store, Options{Clock: time.Now, Log: log})
	ctx := context.Background()
	require.NoError(t, svc.Login(ctx, "ada", "PJSIP/ada", []string{"booking"}))
	require.NoError(t, svc.Ready(ctx, "ada"))

	hook.failing.Store(1)
	err = svc.Pause(ctx, "ada", "pausa")
	require.ErrorContains(t, err, "READONLY")
	require.False(t, errors.Is(err, ErrTransition), "a read-only Redis is not a refused transition")
	a, err := store.Agent(ctx, "ada")
	require.NoError(t, err)
	require.Equal(t, Ready, a.State, "nothing changed")
	// A refusal of the script's own is one.
	require.ErrorIs(t, svc.Logout(ctx, "nobody"), ErrTransition)

	// Busy on a call; the wrap-up meets two Redis errors and goes through.
	_, err = store.SetAgent(ctx, Transition{AgentID: "ada", To: Busy, From: []AgentState{Ready}, CallID: "c1"}, time.Now())
	require.NoError(t, err)
	op := NewOperator(OperatorConfig{Instance: "i"}, store, svc, nil, nil, time.Now, prometheus.NewRegistry(), log)
	hook.seen.Store(0)
	hook.failing.Store(2)
	op.talkEnded(log, "c1", "ada", "leg-1")
	require.Equal(t, int32(2), hook.seen.Load(), "both failures were met")
	a, err = store.Agent(ctx, "ada")
	require.NoError(t, err)
	require.Equal(t, WrapUp, a.State, "the wrap-up was not skipped")
}
