// Package bench measures the recall (make bench-recall), in two parts.
//
// The scheduler: 100,000 recalls due at once, three dialler instances on
// one PostgreSQL and one Redis, each running the production scheduler
// (due recalls enter their queue), queue operator (the queue pairs each
// recall with a ready agent: 30 of them) and dialler up to its claim
// (claim.sql, the statement that prevents a double dial); the dial step
// after the claim (the agent rung, the citizen called, the bridge) is a
// counting sink, after which the recall is recorded connected
// (connected.sql) and its agent given back. In this design the dial
// cannot be cut from the pairing: a recall is dialled only once the queue
// pairs it with a free agent, so the pairing is measured too. The first
// instance is killed midway: its dials stop at the dial step with their
// claims and leases held, nothing cleaned up, and the lease brings them
// back to the others. Figures: recalls dispatched (their dial step
// reached) per second, duplicates (a recall dialled more than once, a
// dial the kill interrupted aside: that one never got past the agent),
// lost (never dialled), and due → dispatched at the 99th percentile,
// measured from the instant the recalls fall due, after they are written.
//
// The opening, end to end on the Asterisk sandbox: out-of-hours recalls due
// at the opening, simulated agents, simulated citizens who answer after
// 1–5 s (10 % busy, 10 % never), and live callers arriving meanwhile:
// minutes until every recall had its first try (the answering citizens
// connected, the others waiting for their next try, 20 minutes later);
// citizens who answered (as the sandbox's dialplan saw it) none of whose
// recall legs Asterisk ever had in a bridge with another channel, counted
// once every conversation has ended; and the share of the live callers placed meanwhile answered by
// an agent within 60 s, counted once their handlers have finished.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/centralino-cup/centralino/asterisk"
	"github.com/centralino-cup/centralino/calls"
	"github.com/centralino-cup/centralino/hours"
	"github.com/centralino-cup/centralino/queue"
	"github.com/centralino-cup/centralino/recall"
)

// Result is the benchmark's last line (both parts merged).
type Result struct {
	Recalls              int     `json:"recalls"`
	RecallsPerS          float64 `json:"recalls_per_s"`
	Duplicates           int     `json:"duplicates"`
	Lost                 int     `json:"lost"`
	DueToDispatchP99ms   float64 `json:"due_to_dispatch_p99_ms"`
	OpeningRecalls       int     `json:"opening_recalls"`
	OpeningMinutes       float64 `json:"opening_minutes"`
	AnsweredWithoutAgent int     `json:"answered_without_agent"`
	LiveAnswered60sPct   float64 `json:"live_answered_60s_pct"`
}

// Always is a schedule open every minute of the week but the last of each
// day (a day's range ends at 23:59): the benchmark runs at any hour.
func Always() (*hours.Schedule, error) {
	weekly := map[string][]string{}
	for _, d := range []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"} {
		weekly[d] = []string{"00:00-23:59"}
	}
	return hours.New(hours.Config{TimeZone: "Europe/Rome", Weekly: weekly})
}

// SchedulerOptions size the first part.
type SchedulerOptions struct {
	Recalls   int // due at once
	Instances int // dialler instances; the first is killed midway
	// Agents is how many ready agents the queue pairs recalls with (0:
	// 30): recalls never hold more agents than are free, even here.
	Agents int
	// Conns is each instance's PostgreSQL pool, as each daemon has its
	// own (0: 16).
	Conns int32
	// Redis holds the instances' queues (under a prefix of its own); nil:
	// CENTRALINO_REDIS_URL, or redis://127.0.0.1:6379/0.
	Redis *redis.Client
}

// dials is the counting sink that stands for the dial step: every recall
// an instance claimed (claim.sql) and would now ring the agent for.
type dials struct {
	now    func() time.Time
	killAt int          // dials counted when the victim is killed
	victim *atomic.Bool // the killed instance's

	release chan struct{} // closed at the end: the killed instance's dials return

	mu  sync.Mutex
	at  map[int64][]time.Time // dials completed, by recall
	cut map[int64]int         // dials the kill interrupted, by recall
}

// sink is instance's dial step: it counts the dial, or, once the
// instance is killed, holds it (its claim and lease left as a crash
// leaves them) until the end, and returns false.
func (d *dials) sink(dead *atomic.Bool) func(ctx context.Context, c recall.Claimed) bool {
	return func(ctx context.Context, c recall.Claimed) bool {
		at := d.now()
		if dead == d.victim && d.count() >= d.killAt {
			dead.Store(true) // killed mid-dial: this one at least is held
		}
		if dead.Load() {
			d.mu.Lock()
			d.cut[c.ID]++
			d.mu.Unlock()
			<-d.release
			return false
		}
		d.mu.Lock()
		d.at[c.ID] = append(d.at[c.ID], at)
		d.mu.Unlock()
		return true
	}
}

func (d *dials) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.at)
}

// noPhones stands for Asterisk in the queue operator: the dial step is
// the sink, so nothing is ever rung or bridged.
type noPhones struct{}

var errNoPhones = errors.New("bench: no Asterisk in the scheduler part")

func (noPhones) Originate(context.Context, asterisk.OriginateRequest) (*asterisk.Call, error) {
	return nil, errNoPhones
}
func (noPhones) AwaitAnswer(context.Context, *asterisk.Call, time.Duration) (*asterisk.Call, asterisk.DialResult, error) {
	return nil, asterisk.Failed, errNoPhones
}
func (noPhones) Release(*asterisk.Call) {}
func (noPhones) Bridge(context.Context, ...string) (*asterisk.Bridge, error) {
	return nil, errNoPhones
}
func (noPhones) ChannelUp(context.Context, string) (bool, error) { return false, nil }
func (noPhones) HangupChannel(context.Context, string) error     { return nil }
func (noPhones) DestroyBridge(context.Context, string) error     { return nil }

// dialler is one dialler instance: its scheduler, its queue operator
// (which pairs recalls with agents) and its dialler, the dial step a
// sink, on a Redis client of its own.
type dialler struct {
	sched   *recall.Scheduler
	op      *queue.Operator
	dialler *recall.Dialler
	dead    atomic.Bool
}

// freeze is a killed instance's Redis: from the kill, whatever it sends
// never gets there and never returns, as with a process that is gone.
type freeze struct{ dead *atomic.Bool }

func (f freeze) DialHook(next redis.DialHook) redis.DialHook { return next }

func (f freeze) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if f.dead.Load() {
			select {}
		}
		return next(ctx, cmd)
	}
}

func (f freeze) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if f.dead.Load() {
			select {}
		}
		return next(ctx, cmds)
	}
}

// Scheduler runs the first part on db (a scratch database: its recalls
// are replaced) and fills the first half of res. Each instance runs the
// production scheduler (due recalls enter their queue in Redis), queue
// operator (the queue pairs each with a ready agent) and dialler (the
// claim, claim.sql); the dial step after the claim (the agent rung, the
// citizen called, the bridge) is a counting sink, and the recall is then
// recorded connected and its agent given back. The first instance is
// killed midway: from then its dials stop at the dial step with their
// claims held and nothing it sends reaches Redis (its heartbeat stops,
// the agents it reserved stay reserved; its PostgreSQL statements stop at
// its next Redis call); its work comes back to the others by the dial
// lease, the agents' heartbeat and the reconcile of recalls it had paired
// but not claimed. At the end every
// instance is frozen the same way (none is stopped: a stop is not what
// is measured) and its goroutines are left blocked.
func Scheduler(ctx context.Context, db *pgxpool.Pool, o SchedulerOptions, log *slog.Logger, out io.Writer, res *Result) error {
	if o.Agents <= 0 {
		o.Agents = 30
	}
	if o.Conns <= 0 {
		o.Conns = 16
	}
	url := os.Getenv("CENTRALINO_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	ropts, err := redis.ParseURL(url)
	if err != nil {
		return fmt.Errorf("redis url: %w", err)
	}
	rdb := o.Redis
	if rdb == nil {
		rdb = redis.NewClient(ropts)
		defer rdb.Close()
	} else {
		ropts = rdb.Options()
	}
	prefix := "bench:" + uuid.NewString()[:8]
	defer func() {
		if keys, _ := rdb.Keys(context.Background(), prefix+":*").Result(); len(keys) > 0 {
			rdb.Del(context.Background(), keys...)
		}
	}()
	if _, err := db.Exec(ctx, "truncate calls, recall_requests restart identity cascade"); err != nil {
		return err
	}
	// The recalls are written first, due at `due`; the instances' clock
	// reads `due` the moment they start: due → dispatched is from then,
	// the writing excluded.
	due := time.Now().Truncate(time.Millisecond)
	if _, err := db.Exec(ctx, `insert into recall_requests (phone, reason, queue_name, queue_entered_at, requested_at, not_before,
			next_attempt_at, valid_until, updated_at)
		select '+39347' || lpad(i::text, 7, '0'), 'out_of_hours', 'booking', $1, $1, $1, $1, $1::timestamptz + interval '1 day', $1
		  from generate_series(1, $2) i`, due, o.Recalls); err != nil {
		return fmt.Errorf("writing the due recalls: %w", err)
	}
	always, err := Always()
	if err != nil {
		return err
	}
	var start time.Time
	now := func() time.Time { return due.Add(time.Since(start)) }

	d := &dials{now: now, killAt: o.Recalls / 2, release: make(chan struct{}), at: map[int64][]time.Time{}, cut: map[int64]int{}}
	agents := queue.NewService(queue.NewStore(rdb, prefix), queue.Options{WrapUp: -1, Clock: time.Now, Log: log})
	for i := range o.Agents {
		id := fmt.Sprintf("b%03d", i)
		if err := agents.Login(ctx, id, "PJSIP/"+id, []string{"booking"}); err != nil {
			return err
		}
		if err := agents.Ready(ctx, id); err != nil {
			return err
		}
	}
	ins := make([]*dialler, o.Instances)
	var pools []*pgxpool.Pool
	defer func() {
		for _, in := range ins {
			if in != nil {
				in.dead.Store(true) // frozen, not stopped
			}
		}
		close(d.release)
		for _, p := range pools {
			go p.Close() // its frozen goroutines hold none
		}
	}()
	start = time.Now()
	for i := range ins {
		name := fmt.Sprintf("bench-%d", i+1)
		in := &dialler{}
		// Its own pool and Redis client, as a daemon of its own has.
		pcfg := db.Config().Copy()
		pcfg.MaxConns = o.Conns
		pcfg.ConnConfig.RuntimeParams["application_name"] = name
		pool, err := pgxpool.NewWithConfig(ctx, pcfg)
		if err != nil {
			return err
		}
		pools = append(pools, pool)
		svc := recall.NewService(pool, now, log).WithPolicy(recall.Policy{Hours: always})
		records := calls.NewRecords(pool)
		irdb := redis.NewClient(ropts)
		irdb.AddHook(freeze{&in.dead})
		store := queue.NewStore(irdb, prefix)
		in.op = queue.NewOperator(queue.OperatorConfig{Instance: name, Queues: []string{"booking"}}, store,
			queue.NewService(store, queue.Options{WrapUp: -1, Clock: now, Log: log}), noPhones{}, svc, now, prometheus.NewRegistry(), log)
		in.dialler = recall.NewDialler(recall.DiallerConfig{Instance: name, CallerID: "800466222", Lease: 2 * time.Second},
			svc, in.op, noPhones{}, store, records, log).WithDialSink(d.sink(&in.dead))
		in.op.ServeRecalls(in.dialler)
		in.sched = recall.NewScheduler(recall.SchedulerConfig{Batch: 500, Reconcile: 2 * time.Second},
			svc, store, nil, nil, log)
		ins[i] = in
		if i == 0 {
			d.victim = &in.dead
		}
		if err := in.op.Start(ctx); err != nil {
			return err
		}
		if err := in.dialler.Start(ctx); err != nil {
			return err
		}
		if err := in.sched.Start(ctx); err != nil {
			return err
		}
	}

	killed := false
	deadline := time.Now().Add(10 * time.Minute)
	for d.count() < o.Recalls && time.Now().Before(deadline) && ctx.Err() == nil {
		if !killed && ins[0].dead.Load() {
			killed = true
			fmt.Fprintf(out, "instance 1 killed mid-dial after %d recalls dispatched\n", d.count())
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, in := range ins {
		in.dead.Store(true)
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	var delays []time.Duration
	var last time.Time
	for _, at := range d.at {
		res.Duplicates += len(at) - 1
		delays = append(delays, at[0].Sub(due))
		if at[0].After(last) {
			last = at[0]
		}
	}
	cut, cutBack := 0, 0
	for id, n := range d.cut {
		cut += n
		if len(d.at[id]) > 0 {
			cutBack++
		}
	}
	slices.Sort(delays)
	res.Recalls = o.Recalls
	res.Lost = o.Recalls - len(d.at)
	if took := last.Sub(due).Seconds(); took > 0 {
		res.RecallsPerS = float64(len(d.at)) / took
	}
	if len(delays) > 0 {
		res.DueToDispatchP99ms = float64(delays[(len(delays)-1)*99/100].Microseconds()) / 1000
	}
	var connected int
	if err := db.QueryRow(ctx, "select count(*) from recall_requests where status = 'connected'").Scan(&connected); err != nil {
		return err
	}
	fmt.Fprintf(out, "scheduler: %d recalls due at once, %d dialler instances (instance 1 killed midway, leaving %d dials held at the dial step; "+
		"%d of them dialled by the others after the lease), %d agents: %d dispatched in %.1f s, %.0f recalls/s; "+
		"%d duplicates, %d lost (%d recorded connected); due → dispatched p99 %.0f ms\n", o.Recalls, o.Instances, cut, cutBack, o.Agents,
		len(d.at), last.Sub(due).Seconds(), res.RecallsPerS, res.Duplicates, res.Lost, connected, res.DueToDispatchP99ms)
	return nil
}
