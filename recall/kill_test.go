package recall_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/asterisk"
	"github.com/centralino-cup/centralino/asterisk/asteristest"
	"github.com/centralino-cup/centralino/hours"
	"github.com/centralino-cup/centralino/postgres/pgtest"
	"github.com/centralino-cup/centralino/queue"
	"github.com/centralino-cup/centralino/recall"
)

// killDB is the Redis database of the test that kills a daemon: the
// daemon keeps its queues under the prefix "centralino", so the test takes
// a database of its own and empties it.
const killDB = 13

// An instance killed (SIGKILL) while it dials a recall: another instance
// takes the recall back after its lease and completes it, and the citizen
// is called once.
func TestInstanceKilledMidDialRecallCompletedByAnother(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "centralino")
	out, err := exec.Command("go", "build", "-o", bin, "../cmd/centralino").CombinedOutput()
	require.NoError(t, err, "%s", out)

	redisURL := fmt.Sprintf("redis://127.0.0.1:6379/%d", killDB)
	opts, err := redis.ParseURL(redisURL)
	require.NoError(t, err)
	rdb := redis.NewClient(opts)
	ctx := context.Background()
	require.NoError(t, rdb.FlushDB(ctx).Err())
	t.Cleanup(func() { rdb.FlushDB(context.Background()); rdb.Close() })
	weekly := map[string][]string{}
	for _, d := range []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"} {
		weekly[d] = []string{"00:00-23:59"}
	}
	always, err := hours.New(hours.Config{TimeZone: "Europe/Rome", Weekly: weekly})
	require.NoError(t, err)
	w := newWorldOn(t, time.Now(), queue.NewStore(rdb, "centralino"), rdb, "centralino", always)
	// The 23:59–24:00 minute is closed: a run then waits it out.
	if !always.Open(time.Now()) || !always.Open(time.Now().Add(2*time.Minute)) {
		time.Sleep(2 * time.Minute)
		w.clock.Set(time.Now())
	}
	w.ari = asterisk.New(asteristest.Config(t, asteristest.App("t-rglobals")), hangUpStrangers{}, prometheus.NewRegistry(), asteristest.Quiet())
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	require.NoError(t, w.ari.Start(sctx))
	t.Cleanup(w.ari.Stop)

	// The daemon that will be killed.
	ari := asteristest.Config(t, asteristest.App("t-killed"))
	cfg := filepath.Join(t.TempDir(), "centralino.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf(`http: {listen: "%s"}
database: {url: "%s"}
redis: {url: "%s"}
ari: {url: "%s", user: "%s", password: "%s", application: "%s"}
ivr:
  hours:
    time_zone: Europe/Rome
    weekly: {monday: ["00:00-23:59"], tuesday: ["00:00-23:59"], wednesday: ["00:00-23:59"], thursday: ["00:00-23:59"],
      friday: ["00:00-23:59"], saturday: ["00:00-23:59"], sunday: ["00:00-23:59"]}
queue: {instance: killed, ring_timeout: 5s, wrap_up: 0s}
recall: {answer_timeout: 10s, lease: 25s}
`, freeAddr(t), pgtest.URL(w.db), redisURL, ari.URL, ari.User, ari.Password, ari.Application)), 0o600))
	daemon := exec.Command(bin, "-config", cfg)
	daemon.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	var logs strings.Builder
	daemon.Stdout, daemon.Stderr = &logs, &logs
	require.NoError(t, daemon.Start())
	t.Cleanup(func() { _ = daemon.Process.Kill(); _ = daemon.Wait() })
	require.Eventually(t, func() bool { return asteristest.Has(t, "/applications/"+ari.Application) }, 20*time.Second, 50*time.Millisecond,
		"the daemon did not connect: %s", &logs)

	const n = "3471000061"
	w.citizen(n, "answer:1:10")
	w.agent("kim", "Local/a4@sim-agents/n") // answers after four seconds
	a, err := w.recalls.Request(ctx, recall.Request{Phone: "+39" + n, Reason: recall.ReasonOutOfHours})
	require.NoError(t, err)
	// The daemon claims the recall and rings kim: killed then.
	var owner string
	require.Eventually(t, func() bool {
		err := w.db.QueryRow(ctx, "select coalesce(lease_owner, '') from recall_requests where id = $1 and status = 'dialling'", a.ID).Scan(&owner)
		return err == nil && owner == "killed"
	}, 20*time.Second, 20*time.Millisecond, "the daemon did not dial: %s", &logs)
	require.NoError(t, daemon.Process.Signal(syscall.SIGKILL))
	_ = daemon.Wait()

	// Another instance: it frees kim (the dead instance's agent) and takes
	// the recall back once its lease has run out.
	w.start("b", nil)
	w.waitStatus(a.ID, "connected", time.Minute)
	require.Equal(t, 1, w.calledTimes(n), "the citizen is called once")
	require.Equal(t, 0, w.recall(a.ID).Attempts-1, "one try, the one that connected")
	require.Eventually(t, func() bool { at := w.attempts(a.ID); return len(at) == 1 && at[0] == "agent_answered" },
		20*time.Second, 50*time.Millisecond)
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}
