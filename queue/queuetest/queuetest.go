// Package queuetest connects tests to the development Redis (make setup)
// with a key prefix of their own.
package queuetest

import (
	"context"
	"os"
	"testing"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/centralino-cup/centralino/queue"
)

// Store returns a queue store on the development Redis
// (CENTRALINO_REDIS_URL) under a prefix whose keys are deleted after the
// test, with its client and prefix; it fails the test when Redis is not
// reachable.
func Store(t testing.TB) (*queue.Store, *redis.Client, string) {
	t.Helper()
	url := os.Getenv("CENTRALINO_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	ctx := context.Background()
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		t.Fatalf("Redis not reachable at %s (run `make setup`): %v", url, err)
	}
	prefix := "test:" + uuid.NewString()[:8]
	t.Cleanup(func() {
		keys, _ := rdb.Keys(ctx, prefix+":*").Result()
		if len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
		rdb.Close()
	})
	return queue.NewStore(rdb, prefix), rdb, prefix
}
