package recall_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
// is never called twice at the same time.
func TestInstanceKilledMidDialRecallCompletedByAnother(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "centralino")
	out, err := exec.Command("go", "build", "-o", bin, "../cmd/centralino").CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, tc := range []struct {
		name string
		// first is what the citizen does when first called, then what it
		// does after the kill.
		first, then string
		// citizenRinging: killed while the citizen's phone rings, not
		// while the agent's does.
		citizenRinging bool
	}{
		// Killed while the agent is rung, before the citizen is called: the
		// recall goes back to its place, no try spent, and the other
		// instance calls the citizen once.
		{name: "agent ringing", first: "answer:1:10", then: "answer:1:10"},
		// Killed while the citizen's phone rings (it would answer after
		// 30 s, past the ten the daemon lets it ring): that call ends
		// unanswered and is not placed again by the other instance, which
		// takes the recall back after the lease, counts the try and ends
		// its record; brought forward, the recall is completed by it with
		// a second call, never two at once.
		{name: "citizen ringing", first: "answer:30:10", then: "answer:1:10", citizenRinging: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			killMidDial(t, bin, tc.first, tc.then, tc.citizenRinging)
		})
	}
}

// killMidDial runs the daemon at bin, kills it mid-dial (while the
// agent's phone rings, or the citizen's) and lets another instance
// complete the recall.
func killMidDial(t *testing.T, bin string, first, then string, citizenRinging bool) {
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
	w.citizen(n, first)
	require.NoError(t, w.ari.SetGlobalVar(ctx, "SIMCITIZEN_ANSWERED_"+n, ""))
	w.agent("kim", "Local/a4@sim-agents/n") // answers after four seconds
	a, err := w.recalls.Request(ctx, recall.Request{Phone: "+39" + n, Reason: recall.ReasonOutOfHours})
	require.NoError(t, err)
	// The daemon claims the recall and rings kim (and then the citizen):
	// killed then.
	var owner, channel string
	require.Eventually(t, func() bool {
		err := w.db.QueryRow(ctx, `select coalesce(lease_owner, ''), coalesce(citizen_channel, '') from recall_requests
			where id = $1 and status = 'dialling'`, a.ID).Scan(&owner, &channel)
		if err != nil || owner != "killed" {
			return false
		}
		if citizenRinging {
			return channel != "" && w.calledTimes(n) == 1
		}
		return channel == ""
	}, 20*time.Second, 20*time.Millisecond, "the daemon did not dial: %s", &logs)
	require.NoError(t, daemon.Process.Signal(syscall.SIGKILL))
	_ = daemon.Wait()
	require.NoError(t, w.ari.SetGlobalVar(ctx, "SIMCITIZEN_"+n, then))

	// Another instance: it frees kim (the dead instance's agent) and takes
	// the recall back once its lease has run out.
	w.start("b", nil)
	if citizenRinging {
		r := w.waitStatus(a.ID, "pending", 40*time.Second)
		require.Equal(t, 1, r.Attempts, "the interrupted try counts")
		require.Equal(t, "interrupted", r.Result)
		require.Eventually(t, func() bool { return !asteristest.Has(t, "/channels/"+channel) }, 5*time.Second, 50*time.Millisecond,
			"the citizen's ringing phone is hung up")
		answered, err := w.ari.GlobalVar(ctx, "SIMCITIZEN_ANSWERED_"+n)
		require.NoError(t, err)
		require.Empty(t, answered, "the citizen never answered a call with nobody behind it")
		require.Eventually(t, func() bool { at := w.attempts(a.ID); return len(at) == 1 && at[0] == "failed" },
			5*time.Second, 50*time.Millisecond, "the interrupted try's record is ended: %v", w.attempts(a.ID))
		require.Equal(t, 1, w.calledTimes(n), "not called again meanwhile")
		// Its next try is 20 minutes away: a manager brings it forward.
		_, err = w.recalls.Forward(ctx, a.ID)
		require.NoError(t, err)
	}
	w.waitStatus(a.ID, "connected", time.Minute)
	tries := []string{"agent_answered"}
	if citizenRinging {
		tries = []string{"failed", "agent_answered"}
	}
	require.Equal(t, len(tries), w.calledTimes(n), "the citizen is called once per try")
	require.Equal(t, len(tries), w.recall(a.ID).Attempts, "the tries, the last connected")
	require.Eventually(t, func() bool { return slices.Equal(w.attempts(a.ID), tries) },
		20*time.Second, 50*time.Millisecond, "attempts %v", w.attempts(a.ID))
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}
