package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
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
	serving int                    // live callers' handlers running
}

// Handle serves a live caller as the IVR's operator branch does.
func (r *openingRig) Handle(ctx context.Context, c *asterisk.Call) {
	r.mu.Lock()
	r.serving++
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.serving--
		r.mu.Unlock()
	}()
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
		if err := sim.Citizen(ctx, numbers[i], does); err != nil {
			return err
		}
	}
	bridges := watchBridges(ctx, ari, log)
	defer bridges.stop()
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
	var placed atomic.Int64
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
				if liveCall(liveCtx, sim, rig, app, number, o.Talk) {
					placed.Add(1)
				}
			}(fmt.Sprintf("349%07d", i))
		}
	}()
	// Served: every recall had its first try (none queued or dialling,
	// none waiting for its first): the citizens who answer connected, the
	// busy and never-answering ones tried once and waiting for their next
	// try, RetryAfter (20 min) later. Not "all served or finally failed",
	// which the 20 minutes between tries would make 40 minutes whatever
	// the dialler does.
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

	// The conversations still going on end (the citizens hang up Talk
	// after answering), and so do the live callers' handlers: only then
	// are the records and the waits final.
	ended := time.Now().Add(o.Talk + 2*time.Minute)
	for time.Now().Before(ended) && ctx.Err() == nil {
		var talking int
		if err := db.QueryRow(ctx, "select count(*) from calls where direction = 'recall' and ended_at is null").Scan(&talking); err != nil {
			return err
		}
		rig.mu.Lock()
		serving := rig.serving
		rig.mu.Unlock()
		if talking == 0 && serving == 0 {
			break
		}
		time.Sleep(time.Second)
	}

	res.OpeningRecalls = o.Recalls
	res.OpeningMinutes = served.Minutes()
	var connected int
	var lastConnected time.Time
	if err := db.QueryRow(ctx, "select count(*), coalesce(max(connected_at), $1) from recall_requests where status = 'connected'", opening).
		Scan(&connected, &lastConnected); err != nil {
		return err
	}
	// A citizen who answered (the sandbox's dialplan says so) had an agent
	// on the line if Asterisk had one of their recall legs in a bridge with
	// another channel (the agent's). The call records say the same from
	// the controller's side (agent_answered only after the bridge): both
	// are printed.
	bridges.stop()
	answered, alone, unrecorded := 0, 0, 0
	for _, n := range numbers {
		_, yes, err := sim.Recalled(ctx, n)
		if err != nil {
			return err
		}
		if !yes {
			continue
		}
		answered++
		rows, err := db.Query(ctx, `select channel_id, coalesce(outcome::text, '') from calls where direction = 'recall' and caller = $1`, "+39"+n)
		if err != nil {
			return err
		}
		seen, recorded := false, false
		for rows.Next() {
			var channel, outcome string
			if err := rows.Scan(&channel, &outcome); err != nil {
				rows.Close()
				return err
			}
			seen = seen || bridges.saw(channel)
			recorded = recorded || outcome == "agent_answered"
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if !seen {
			alone++
		}
		if !recorded {
			unrecorded++
		}
	}
	res.AnsweredWithoutAgent = alone
	rig.mu.Lock()
	within := 0
	for _, c := range rig.live {
		if c.answered && c.waited <= time.Minute {
			within++
		}
	}
	total := max(int(placed.Load()), len(rig.live)) // a caller whose handler never ran was not answered
	rig.mu.Unlock()
	if total > 0 {
		res.LiveAnswered60sPct = 100 * float64(within) / float64(total)
	}
	fmt.Fprintf(out, "opening: every one of the %d recalls had its first try %.1f min after the opening (%d open at the deadline; "+
		"%d connected, the last %.1f min after the opening); %d citizens answered, %d of them never in a bridge with an agent "+
		"(%d by the call records); live callers: %d, %d answered within 60 s (%.0f %%)\n", o.Recalls, res.OpeningMinutes, open, connected,
		lastConnected.Sub(opening).Minutes(), answered, alone, unrecorded, total, within, res.LiveAnswered60sPct)
	return nil
}

// liveCall is one live caller: it waits in the queue and hangs up talk
// after an agent answered it. It reports whether the call was placed.
func liveCall(ctx context.Context, sim *callsim.Simulator, rig *openingRig, app, number string, talk time.Duration) bool {
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := sim.Place(pctx, app, "sim-stasis", number)
	if err != nil {
		return false
	}
	defer c.Hangup(context.Background())
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return true
		case <-c.Ended():
			return true
		case <-tick.C:
		}
		if rig.answeredBy(ctx, "+39"+number) {
			select {
			case <-time.After(talk):
			case <-ctx.Done():
			}
			return true
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

// bridgeWatch keeps the channels Asterisk had in a bridge with another
// channel, polling ARI's bridge list (GET /bridges) every 250 ms: what a
// citizen was bridged to, seen from Asterisk rather than the controller.
type bridgeWatch struct {
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	seen   map[string]bool
}

func watchBridges(ctx context.Context, ari asterisk.Config, log *slog.Logger) *bridgeWatch {
	ctx, cancel := context.WithCancel(ctx)
	w := &bridgeWatch{cancel: cancel, done: make(chan struct{}), seen: map[string]bool{}}
	hc := &http.Client{Timeout: 5 * time.Second}
	go func() {
		defer close(w.done)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			if err := w.poll(ctx, hc, ari); err != nil && ctx.Err() == nil {
				log.Error("listing the bridges", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return w
}

func (w *bridgeWatch) poll(ctx context.Context, hc *http.Client, ari asterisk.Config) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(ari.URL, "/")+"/bridges", nil)
	if err != nil {
		return err
	}
	req.SetBasicAuth(ari.User, ari.Password)
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /bridges: %s", resp.Status)
	}
	var list []struct {
		Channels []string `json:"channels"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, b := range list {
		if len(b.Channels) >= 2 {
			for _, ch := range b.Channels {
				w.seen[ch] = true
			}
		}
	}
	return nil
}

// saw reports whether channel was seen in a bridge with another channel.
func (w *bridgeWatch) saw(channel string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seen[channel]
}

// stop ends the polling (idempotent).
func (w *bridgeWatch) stop() {
	w.cancel()
	<-w.done
}
