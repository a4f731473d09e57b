package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/centralino-cup/centralino/asterisk"
	"github.com/centralino-cup/centralino/calls"
	"github.com/centralino-cup/centralino/callsim"
	"github.com/centralino-cup/centralino/queue"
	"github.com/centralino-cup/centralino/recall"
)

// OpeningOptions size the second part.
type OpeningOptions struct {
	Recalls int           // out-of-hours recalls due at the opening
	Agents  int           // simulated agents, answering after a second
	Live    time.Duration // a live caller arrives this often meanwhile
	// Talk is how long a citizen stays on the line once answered (the
	// greeting included).
	Talk time.Duration
}

// liveCaller is one live caller's wait.
type liveCaller struct {
	waited   time.Duration
	answered bool
}

// openingRig is the controller the opening runs on.
type openingRig struct {
	db      *pgxpool.Pool
	store   *queue.Store
	op      *queue.Operator
	records *calls.Records
	agents  []string
	mu      sync.Mutex
	live    map[string]*liveCaller // by caller number
}

// Handle serves a live caller as the IVR's operator branch does.
func (r *openingRig) Handle(ctx context.Context, c *asterisk.Call) {
	defer c.Hangup(context.Background())
	if c.Answer(ctx) != nil {
		return
	}
	number := "+39" + c.Caller()
	id, err := r.records.Start(ctx, calls.Arrival{ChannelID: c.ID(), Inbound: true, Caller: number, DID: "800466222", InHours: true}, time.Now())
	if err != nil {
		return
	}
	h, _ := r.op.Serve(ctx, c, queue.Ticket{CallID: id, Caller: number, Queue: "booking"})
	r.mu.Lock()
	r.live[c.Caller()] = &liveCaller{waited: h.Waited, answered: h.Outcome == calls.OutcomeAgentAnswered}
	r.mu.Unlock()
}

func (*openingRig) Recover(ctx context.Context, c *asterisk.Call) { c.Hangup(ctx) }

// Opening runs the second part on db (a scratch database: its recalls are
// replaced) and Redis (under a prefix of its own), on the sandbox at ari,
// and fills the second half of res.
func Opening(ctx context.Context, db *pgxpool.Pool, rdb *redis.Client, ari asterisk.Config, o OpeningOptions, log *slog.Logger,
	out io.Writer, res *Result) error {
	if _, err := db.Exec(ctx, "truncate calls, recall_requests restart identity cascade"); err != nil {
		return err
	}
	prefix := "bench:" + uuid.NewString()[:8]
	defer func() {
		if keys, _ := rdb.Keys(context.Background(), prefix+":*").Result(); len(keys) > 0 {
			rdb.Del(context.Background(), keys...)
		}
	}()
	always, err := Always()
	if err != nil {
		return err
	}
	rig := &openingRig{db: db, store: queue.NewStore(rdb, prefix), records: calls.NewRecords(db), live: map[string]*liveCaller{}}
	app := "bench-recall-" + uuid.NewString()[:8]
	cfg := ari
	cfg.Application = app
	client := asterisk.New(cfg, rig, prometheus.NewRegistry(), log)
	agents := queue.NewService(rig.store, queue.Options{WrapUp: 2 * time.Second, Clock: time.Now, Log: log})
	recalls := recall.NewService(db, time.Now, log).WithPolicy(recall.Policy{Hours: always}).WithQueue(rig.store)
	rig.op = queue.NewOperator(queue.OperatorConfig{Instance: app, Queues: []string{"booking"}, RecallAfter: time.Hour,
		DefaultHandleTime: o.Talk}, rig.store, agents, client, recalls, time.Now, prometheus.NewRegistry(), log)
	dialler := recall.NewDialler(recall.DiallerConfig{Instance: app, DialString: "Local/{national}@sim-citizens", CallerID: "800466222"},
		recalls, rig.op, client, rig.store, rig.records, log)
	rig.op.ServeRecalls(dialler)
	scheduler := recall.NewScheduler(recall.SchedulerConfig{Poll: 200 * time.Millisecond}, recalls, rig.store, nil, client, log)
	sim := callsim.New(asterisk.Config{URL: ari.URL, WebsocketURL: ari.WebsocketURL, User: ari.User, Password: ari.Password,
		Application: app + "-sim", RequestTimeout: ari.RequestTimeout}, prometheus.NewRegistry(), log)
	for _, p := range []interface{ Start(context.Context) error }{client, rig.op, dialler, sim} {
		if err := p.Start(ctx); err != nil {
			return err
		}
	}
	defer func() { sim.Stop(); client.Stop(); scheduler.Stop(); dialler.Stop(); rig.op.Stop() }()

	// The citizens: 10 % busy, 10 % never answer, the rest answer after
	// 1 to 5 s and stay on the line for Talk.
	numbers := make([]string, o.Recalls)
	for i := range numbers {
		numbers[i] = fmt.Sprintf("348%07d", i)
		does := fmt.Sprintf("answer:%d:%d", 1+i%5, int(o.Talk.Seconds()))
		switch i % 10 {
		case 3:
			does = "busy"
		case 7:
			does = "noanswer"
		}
		for name, v := range map[string]string{"SIMCITIZEN_" + numbers[i]: does, "SIMCITIZEN_CALLS_" + numbers[i]: "",
			"SIMCITIZEN_ANSWERED_" + numbers[i]: ""} {
			if err := client.SetGlobalVar(ctx, name, v); err != nil {
				return err
			}
		}
	}
	opening := time.Now()
	for i, n := range numbers {
		asked := opening.Add(-time.Duration(o.Recalls-i) * time.Minute) // asked through the night, in order
		if _, err := db.Exec(ctx, `insert into recall_requests (phone, reason, queue_name, queue_entered_at, requested_at, not_before,
				next_attempt_at, valid_until, updated_at) values ($1, 'out_of_hours', 'booking', $2, $2, $3, $3, $3::timestamptz + interval '1 day', $2)`,
			"+39"+n, asked, opening); err != nil {
			return err
		}
	}
	for i := range o.Agents {
		id := fmt.Sprintf("op%02d", i+1)
		rig.agents = append(rig.agents, id)
		if err := agents.Login(ctx, id, callsim.Agent(time.Second), []string{"booking"}); err != nil {
			return err
		}
		if err := agents.Ready(ctx, id); err != nil {
			return err
		}
	}
	if err := scheduler.Start(ctx); err != nil {
		return err
	}
	fmt.Fprintf(out, "opening: %d out-of-hours recalls due, %d agents, a live caller every %s\n", o.Recalls, o.Agents, o.Live)

	// Live callers, one every o.Live, each hanging up Talk after an agent
	// answers it (or at the end).
	liveCtx, stopLive := context.WithCancel(ctx)
	defer stopLive()
	var wg sync.WaitGroup
	wg.Add(1) // the ticker: Wait waits for the calls it places
	go func() {
		defer wg.Done()
		t := time.NewTicker(o.Live)
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-liveCtx.Done():
				return
			case <-t.C:
			}
			wg.Add(1)
			go func(number string) {
				defer wg.Done()
				liveCall(liveCtx, sim, rig, app, number, o.Talk)
			}(fmt.Sprintf("349%07d", i))
		}
	}()
	// Served: every recall had its first try (none queued or dialling).
	deadline := time.Now().Add(40 * time.Minute)
	var open int
	for time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(time.Second)
		if err := db.QueryRow(ctx, "select count(*) from recall_requests where status in ('queued', 'dialling') or (status = 'pending' and attempts = 0)").
			Scan(&open); err != nil {
			return err
		}
		if open == 0 {
			break
		}
	}
	served := time.Since(opening)
	stopLive()
	wg.Wait()

	res.OpeningRecalls = o.Recalls
	res.OpeningMinutes = served.Minutes()
	var bridged int
	if err := db.QueryRow(ctx, "select count(*) from calls where direction = 'recall' and outcome = 'agent_answered' and agent is not null").
		Scan(&bridged); err != nil {
		return err
	}
	answered := 0
	for _, n := range numbers {
		if v, err := client.GlobalVar(ctx, "SIMCITIZEN_ANSWERED_"+n); err == nil && v == "1" {
			answered++
		}
	}
	res.AnsweredWithoutAgent = answered - bridged
	rig.mu.Lock()
	within := 0
	for _, c := range rig.live {
		if c.answered && c.waited <= time.Minute {
			within++
		}
	}
	total := len(rig.live)
	rig.mu.Unlock()
	if total > 0 {
		res.LiveAnswered60sPct = 100 * float64(within) / float64(total)
	}
	fmt.Fprintf(out, "opening: first try of all %d recalls in %.1f min (%d open at the deadline); %d citizens answered, %d bridged to an agent, "+
		"%d answered with no agent; live callers: %d, %d answered within 60 s (%.0f %%)\n", o.Recalls, res.OpeningMinutes, open, answered, bridged,
		res.AnsweredWithoutAgent, total, within, res.LiveAnswered60sPct)
	return nil
}

// liveCall is one live caller: it waits in the queue and hangs up talk
// after an agent answered it.
func liveCall(ctx context.Context, sim *callsim.Simulator, rig *openingRig, app, number string, talk time.Duration) {
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := sim.Place(pctx, app, "sim-stasis", number)
	if err != nil {
		return
	}
	defer c.Hangup(context.Background())
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.Ended():
			return
		case <-tick.C:
		}
		if rig.answeredBy(ctx, "+39"+number) {
			select {
			case <-time.After(talk):
			case <-ctx.Done():
			}
			return
		}
	}
}

// answeredBy reports whether an agent is talking to caller.
func (r *openingRig) answeredBy(ctx context.Context, caller string) bool {
	for _, id := range r.agents {
		a, err := r.store.Agent(ctx, id)
		if err != nil || a.State != queue.Busy {
			continue
		}
		if info, err := r.store.Call(ctx, a.CallID); err == nil && info.Caller == caller {
			return true
		}
	}
	return false
}
