package recall_test

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/asterisk"
	"github.com/centralino-cup/centralino/asterisk/asteristest"
	"github.com/centralino-cup/centralino/calls"
	"github.com/centralino-cup/centralino/callsim"
	"github.com/centralino-cup/centralino/hours"
	"github.com/centralino-cup/centralino/postgres/pgtest"
	"github.com/centralino-cup/centralino/queue"
	"github.com/centralino-cup/centralino/queue/queuetest"
	"github.com/centralino-cup/centralino/recall"
	"github.com/centralino-cup/centralino/sms"
)

// The dialler on the real Asterisk, PostgreSQL and Redis: simulated agents
// (sim-agents) answer, simulated citizens (sim-citizens) answer, are busy
// or never answer, as each test sets them.

var rome, _ = time.LoadLocation("Europe/Rome")

func quiet() *slog.Logger { return asteristest.Quiet() }

// monday10 is in service hours: Monday 2 March 2026, 10:00 in Rome.
var monday10 = time.Date(2026, 3, 2, 10, 0, 0, 0, rome)

// movedClock runs at real speed from a start the test chooses, and jumps
// when told (Asterisk's ring timeouts still take real time).
type movedClock struct {
	mu    sync.Mutex
	base  time.Time
	real0 time.Time
}

func (c *movedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.base.Add(time.Since(c.real0))
}

func (c *movedClock) Jump(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.base = c.base.Add(d)
}

func (c *movedClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.base, c.real0 = t, time.Now()
}

// world is what the instances of a test share: the database, Redis, the
// clock, the service hours.
type world struct {
	t       *testing.T
	db      *pgxpool.Pool
	store   *queue.Store
	rdb     *redis.Client
	prefix  string
	clock   *movedClock
	hours   *hours.Schedule
	agents  *queue.Service
	recalls *recall.Service
	records *calls.Records
	outbox  *sms.Outbox
	ari     *asterisk.Client // any instance's, for globals
}

func newWorld(t *testing.T, now time.Time) *world {
	t.Helper()
	store, rdb, prefix := queuetest.Store(t)
	h, err := hours.New(hours.Default())
	require.NoError(t, err)
	return newWorldOn(t, now, store, rdb, prefix, h)
}

// newWorldOn is a world on the given Redis store and service hours.
func newWorldOn(t *testing.T, now time.Time, store *queue.Store, rdb *redis.Client, prefix string, h *hours.Schedule) *world {
	w := &world{t: t, db: pgtest.NewDB(t), clock: &movedClock{base: now, real0: time.Now()}, store: store, rdb: rdb, prefix: prefix, hours: h}
	w.agents = queue.NewService(w.store, queue.Options{WrapUp: -1, Clock: w.clock.Now, Log: quiet()})
	w.outbox = sms.NewOutbox(w.db)
	w.recalls = recall.NewService(w.db, w.clock.Now, quiet()).Register(prometheus.NewRegistry()).WithPolicy(recall.Policy{
		Hours: w.hours, Tries: 3, RetryAfter: 20 * time.Minute, Texts: w.outbox, NumeroVerde: "800466222"}).WithQueue(w.store)
	w.records = calls.NewRecords(w.db)
	return w
}

// instance is one controller: its ARI client, queue operator, dialler and
// scheduler.
type instance struct {
	name      string
	client    *asterisk.Client
	op        *queue.Operator
	dialler   *recall.Dialler
	scheduler *recall.Scheduler
	stopped   bool
}

type hangUpStrangers struct{}

func (hangUpStrangers) Handle(ctx context.Context, c *asterisk.Call)  { c.Hangup(ctx) }
func (hangUpStrangers) Recover(ctx context.Context, c *asterisk.Call) { c.Hangup(ctx) }

// start runs an instance; h serves the calls entering its application
// (nil: none are expected).
func (w *world) start(name string, h asterisk.Handler) *instance {
	t := w.t
	t.Helper()
	if h == nil {
		h = hangUpStrangers{}
	}
	in := &instance{name: name}
	in.client = asterisk.New(asteristest.Config(t, asteristest.App("t-recall")), h, prometheus.NewRegistry(), asteristest.Quiet())
	in.op = queue.NewOperator(queue.OperatorConfig{Instance: name, Queues: []string{"booking"}, RingTimeout: 5 * time.Second,
		DefaultHandleTime: 30 * time.Second, RecallAfter: 10 * time.Second, AnnounceEvery: time.Minute},
		queue.NewStore(w.rdb, w.prefix), w.agents, in.client, w.recalls, w.clock.Now, prometheus.NewRegistry(), quiet())
	in.dialler = recall.NewDialler(recall.DiallerConfig{Instance: name, DialString: "Local/{national}@sim-citizens",
		CallerID: "800466222", AnswerTimeout: 6 * time.Second, Lease: 20 * time.Second}, w.recalls, in.op, in.client, w.store, w.records, quiet())
	in.op.ServeRecalls(in.dialler)
	in.scheduler = recall.NewScheduler(recall.SchedulerConfig{Poll: 100 * time.Millisecond, Reconcile: time.Second},
		w.recalls, w.store, w.store, in.client, quiet())
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	require.NoError(t, in.client.Start(ctx))
	require.NoError(t, in.op.Start(ctx))
	require.NoError(t, in.dialler.Start(ctx))
	require.NoError(t, in.scheduler.Start(ctx))
	t.Cleanup(in.stop)
	if w.ari == nil {
		w.ari = in.client
	}
	return in
}

// stop stops the instance as a stopping process does.
func (in *instance) stop() {
	if in.stopped {
		return
	}
	in.stopped = true
	in.client.Stop()
	in.scheduler.Stop()
	in.dialler.Stop()
	in.op.Stop()
}

// agent logs an agent in on a simulated phone and makes it ready.
func (w *world) agent(id, endpoint string) {
	ctx := context.Background()
	require.NoError(w.t, w.agents.Login(ctx, id, endpoint, []string{"booking"}))
	require.NoError(w.t, w.agents.Ready(ctx, id))
}

func (w *world) state(id string) queue.Agent {
	a, err := w.store.Agent(context.Background(), id)
	require.NoError(w.t, err)
	return a
}

// citizen sets what the simulated citizen at national number n does
// ("" answers after a second; see extensions_sim.conf) and clears what it
// recorded.
func (w *world) citizen(n, does string) {
	ctx := context.Background()
	for name, v := range map[string]string{"SIMCITIZEN_" + n: does, "SIMCITIZEN_CALLS_" + n: "", "SIMCITIZEN_SEEN_" + n: ""} {
		require.NoError(w.t, w.ari.SetGlobalVar(ctx, name, v))
	}
	w.t.Cleanup(func() {
		for _, name := range []string{"SIMCITIZEN_" + n, "SIMCITIZEN_CALLS_" + n, "SIMCITIZEN_SEEN_" + n} {
			_ = w.ari.SetGlobalVar(context.Background(), name, "")
		}
	})
}

// calledTimes is how many calls citizen n had.
func (w *world) calledTimes(n string) int {
	v, err := w.ari.GlobalVar(context.Background(), "SIMCITIZEN_CALLS_"+n)
	require.NoError(w.t, err)
	if v == "" {
		return 0
	}
	c, err := strconv.Atoi(v)
	require.NoError(w.t, err)
	return c
}

// recallRow is what the test reads of a recall.
type recallRow struct {
	Status   string
	Attempts int
	Next     time.Time
	Result   string
	Prealert bool
}

func (w *world) recall(id int64) recallRow {
	var r recallRow
	require.NoError(w.t, w.db.QueryRow(context.Background(), `select status::text, attempts, next_attempt_at, coalesce(last_result, ''),
		prealert_at is not null from recall_requests where id = $1`, id).Scan(&r.Status, &r.Attempts, &r.Next, &r.Result, &r.Prealert))
	return r
}

// waitStatus waits until recall id has status want.
func (w *world) waitStatus(id int64, want string, within time.Duration) recallRow {
	w.t.Helper()
	var r recallRow
	require.Eventually(w.t, func() bool { r = w.recall(id); return r.Status == want }, within, 50*time.Millisecond,
		"recall %d did not become %s (%+v)", id, want, w.recall(id))
	return r
}

func (w *world) count(sql string, args ...any) int {
	var n int
	require.NoError(w.t, w.db.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

// attempts are the outcomes of a recall's call records, in order.
func (w *world) attempts(id int64) []string {
	rows, err := w.db.Query(context.Background(), `select outcome::text from calls where recall_id = $1 and direction = 'recall'
		order by started_at`, id)
	require.NoError(w.t, err)
	var out []string
	for rows.Next() {
		var o string
		require.NoError(w.t, rows.Scan(&o))
		out = append(out, o)
	}
	require.NoError(w.t, rows.Err())
	return out
}

// outOfHours asks an out-of-hours recall of national number n, due at the
// next opening.
func (w *world) outOfHours(n string) int64 {
	next, ok := w.hours.NextOpening(w.clock.Now())
	require.True(w.t, ok)
	a, err := w.recalls.Request(context.Background(), recall.Request{Phone: "+39" + n, Reason: recall.ReasonOutOfHours, NotBefore: next})
	require.NoError(w.t, err)
	return a.ID
}

// A recall asked at night is dialled at the opening, agent first, from
// the numero verde; the citizen hears who calls and talks to the agent,
// who goes to wrap-up after (none here: free at once).
func TestOutOfHoursRecallDialledAtOpening(t *testing.T) {
	t.Parallel()
	w := newWorld(t, time.Date(2026, 3, 2, 7, 0, 0, 0, rome)) // Monday 07:00: closed
	in := w.start("a", nil)
	const n = "3471000001"
	w.citizen(n, "answer:1:10") // hears who calls, talks, hangs up
	id := w.outOfHours(n)
	w.agent("anna", callsim.Agent(time.Second))
	time.Sleep(time.Second)
	require.Equal(t, "pending", w.recall(id).Status, "not dialled while closed")
	require.Zero(t, w.calledTimes(n))

	w.clock.Set(time.Date(2026, 3, 2, 8, 0, 0, 0, rome)) // the opening
	w.waitStatus(id, "connected", 20*time.Second)
	require.Equal(t, 1, w.calledTimes(n))
	seen, err := in.client.GlobalVar(context.Background(), "SIMCITIZEN_SEEN_"+n)
	require.NoError(t, err)
	require.Equal(t, "800466222", seen, "the citizen sees the numero verde")
	require.True(t, w.recall(id).Prealert, "pre-alerted at the opening")
	require.Equal(t, 1, w.count(`select count(*) from sms_outbox where kind = 'recall_prealert' and phone = $1`, "+39"+n))
	// The citizen hangs up after ten seconds: the record is ended as
	// answered by anna, and anna goes to wrap-up.
	require.Eventually(t, func() bool {
		a := w.attempts(id)
		return len(a) == 1 && a[0] == "agent_answered"
	}, 15*time.Second, 50*time.Millisecond, "attempts %v", w.attempts(id))
	require.Eventually(t, func() bool { return w.state("anna").State == queue.WrapUp }, 10*time.Second, 50*time.Millisecond,
		"the agent goes to wrap-up after the conversation")
	var agent string
	require.NoError(t, w.db.QueryRow(context.Background(), "select agent from calls where recall_id = $1", id).Scan(&agent))
	require.Equal(t, "anna", agent)
}

// Busy on the first try: the agent is free at once, the recall is tried
// again 20 minutes later (in service hours) and answered.
func TestBusyThenAnsweredOnTheSecondTry(t *testing.T) {
	t.Parallel()
	w := newWorld(t, monday10)
	w.start("a", nil)
	const n = "3471000002"
	w.citizen(n, "busy")
	w.agent("bea", callsim.Agent(0))
	a, err := w.recalls.Request(context.Background(), recall.Request{Phone: "+39" + n, Reason: recall.ReasonOutOfHours})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return w.recall(a.ID).Attempts == 1 }, 15*time.Second, 50*time.Millisecond)
	r := w.recall(a.ID)
	require.Equal(t, "pending", r.Status)
	require.Equal(t, "busy", r.Result)
	require.WithinDuration(t, w.clock.Now().Add(20*time.Minute), r.Next, 5*time.Second, "the next try in 20 minutes")
	require.Eventually(t, func() bool { return w.state("bea").State == queue.Ready }, 5*time.Second, 20*time.Millisecond,
		"the agent is released at once")

	w.citizen(n, "answer:1:9")
	time.Sleep(time.Second)
	require.Equal(t, "pending", w.recall(a.ID).Status, "not before its time")
	w.clock.Jump(20 * time.Minute)
	w.waitStatus(a.ID, "connected", 20*time.Second)
	require.Eventually(t, func() bool { return len(w.attempts(a.ID)) == 2 && w.attempts(a.ID)[1] == "agent_answered" },
		15*time.Second, 50*time.Millisecond)
	require.Equal(t, []string{"busy", "agent_answered"}, w.attempts(a.ID))
	require.Equal(t, 1, w.calledTimes(n), "dialled once since the busy try")
}

// Three tries unanswered: the recall fails and a mobile gets an SMS saying
// the CUP tried; the agent is freed each time.
func TestThreeTriesUnansweredThenSMS(t *testing.T) {
	t.Parallel()
	w := newWorld(t, monday10)
	w.start("a", nil)
	const n = "3471000003"
	w.citizen(n, "noanswer")
	w.agent("ciro", callsim.Agent(0))
	a, err := w.recalls.Request(context.Background(), recall.Request{Phone: "+39" + n, Reason: recall.ReasonOutOfHours})
	require.NoError(t, err)
	for try := 1; try <= 3; try++ {
		require.Eventually(t, func() bool { return w.recall(a.ID).Attempts == try }, 20*time.Second, 50*time.Millisecond, "try %d", try)
		require.Eventually(t, func() bool { return w.state("ciro").State == queue.Ready }, 5*time.Second, 20*time.Millisecond,
			"the agent is free after try %d", try)
		if try < 3 {
			require.Equal(t, "pending", w.recall(a.ID).Status)
			w.clock.Jump(20 * time.Minute)
		}
	}
	r := w.waitStatus(a.ID, "failed", 5*time.Second)
	require.Equal(t, "no_answer", r.Result)
	require.Equal(t, []string{"no_answer", "no_answer", "no_answer"}, w.attempts(a.ID))
	require.Equal(t, 1, w.count(`select count(*) from sms_outbox where kind = 'recall_failed' and phone = $1`, "+39"+n))
	require.Equal(t, 3, w.calledTimes(n))
}

// Recalls released at the opening never take more agents than are free:
// with two agents, two are dialled at a time, the third when one is free.
func TestOpeningPacedByTheAgentsReady(t *testing.T) {
	t.Parallel()
	w := newWorld(t, time.Date(2026, 3, 3, 6, 30, 0, 0, rome)) // Tuesday, before the opening
	w.start("a", nil)
	numbers := []string{"3471000011", "3471000012", "3471000013"}
	var ids []int64
	for _, n := range numbers {
		w.citizen(n, "answer:1:9")
		ids = append(ids, w.outOfHours(n))
	}
	w.agent("dina", callsim.Agent(0))
	w.agent("ezio", callsim.Agent(0))
	w.clock.Set(time.Date(2026, 3, 3, 8, 0, 0, 0, rome))
	most := 0
	deadline := time.Now().Add(30 * time.Second)
	for w.count("select count(*) from recall_requests where status = 'connected'") < 3 && time.Now().Before(deadline) {
		// Dialling, or connected and still on the line with an agent.
		busy := w.count(`select count(*) from recall_requests r where status = 'dialling'
			or (status = 'connected' and exists (select 1 from calls c where c.recall_id = r.id and c.ended_at is null))`)
		most = max(most, busy)
		time.Sleep(20 * time.Millisecond)
	}
	require.Equal(t, 3, w.count("select count(*) from recall_requests where status = 'connected'"))
	require.LessOrEqual(t, most, 2, "never more recalls on the line than agents")
	require.Equal(t, 2, most, "both agents took recalls at once")
}

// A recall not served by the end of its validity expires, and leaves its
// queue.
func TestRecallExpires(t *testing.T) {
	t.Parallel()
	w := newWorld(t, time.Date(2026, 3, 2, 21, 0, 0, 0, rome)) // Monday night
	w.start("a", nil)
	id := w.outOfHours("3471000021") // no agent will ever be ready
	var until time.Time
	require.NoError(t, w.db.QueryRow(context.Background(), "select valid_until from recall_requests where id = $1", id).Scan(&until))
	require.True(t, until.Equal(time.Date(2026, 3, 3, 18, 0, 0, 0, rome)), "valid until the next service day's closing: %s", until)
	w.clock.Set(time.Date(2026, 3, 3, 8, 0, 0, 0, rome))
	w.waitStatus(id, "queued", 5*time.Second)
	waiting, err := w.store.RecallsWaiting(context.Background(), []int64{id})
	require.NoError(t, err)
	require.True(t, waiting[id])
	w.clock.Set(time.Date(2026, 3, 3, 18, 0, 0, 0, rome))
	w.waitStatus(id, "expired", 5*time.Second)
	require.Eventually(t, func() bool {
		waiting, err := w.store.RecallsWaiting(context.Background(), []int64{id})
		return err == nil && !waiting[id]
	}, 5*time.Second, 50*time.Millisecond, "an expired recall leaves its queue")
}

// The pre-alert goes once, to a mobile, when the recall's turn is near; not
// to a number that opted out of SMS.
func TestPrealertOnceNotToAnOptedOutNumber(t *testing.T) {
	t.Parallel()
	w := newWorld(t, monday10)
	w.start("a", nil)
	ctx := context.Background()
	_, err := w.db.Exec(ctx, "insert into sms_optouts values ('+393471000032', now())")
	require.NoError(t, err)
	var ids []int64
	for _, n := range []string{"3471000031", "3471000032"} {
		id, err := w.recalls.KeepPlace(ctx, queue.Ticket{Caller: "+39" + n, Queue: "booking"}, w.clock.Now())
		require.NoError(t, err)
		// The caller's place passed to the recall (as the queue does).
		_, err = w.store.EnterRecall(ctx, queue.RecallEntry{ID: id, Queue: "booking", Lane: queue.LaneLive, Rank: w.clock.Now(),
			Phone: "+39" + n, Reason: "wait", Requested: w.clock.Now()})
		require.NoError(t, err)
		ids = append(ids, id)
	}
	// No agent logged in: the estimate is the default handle time per
	// place (4 min) and no pre-alert goes; an agent serving the queue (on
	// a break, so nobody is dialled) brings both turns within two minutes.
	time.Sleep(500 * time.Millisecond)
	require.Zero(t, w.count("select count(*) from sms_outbox where kind = 'recall_prealert'"))
	require.NoError(t, w.store.ObserveHandleTime(ctx, "booking", 10*time.Second, 10*time.Second))
	require.NoError(t, w.store.ObserveHandleTime(ctx, "booking", 10*time.Second, 10*time.Second))
	require.Eventually(t, func() bool { return w.recall(ids[0]).Prealert }, 5*time.Second, 50*time.Millisecond)
	time.Sleep(500 * time.Millisecond) // more ticks
	require.Equal(t, 1, w.count("select count(*) from sms_outbox where kind = 'recall_prealert' and phone = '+393471000031'"), "once")
	require.Zero(t, w.count("select count(*) from sms_outbox where phone = '+393471000032'"), "not to an opted-out number")
	body := ""
	require.NoError(t, w.db.QueryRow(ctx, "select body from sms_outbox where kind = 'recall_prealert'").Scan(&body))
	require.Equal(t, "Il CUP la richiamerà a breve dal numero 800 466 222", body)
}

// A citizen who called again and was served has the pending recall
// closed: nobody is called for nothing; one being dialled goes on.
func TestServedInboundClosesTheRecall(t *testing.T) {
	t.Parallel()
	w := newWorld(t, monday10)
	ctx := context.Background()
	id := w.outOfHours("3471000041")
	id2 := w.outOfHours("3471000042")
	_, err := w.db.Exec(ctx, "update recall_requests set status = 'dialling' where id = $1", id2)
	require.NoError(t, err)
	closed, err := w.recalls.ServedInbound(ctx, "+393471000041")
	require.NoError(t, err)
	require.Equal(t, []int64{id}, closed)
	require.Equal(t, "served_inbound", w.recall(id).Status)
	closed, err = w.recalls.ServedInbound(ctx, "+393471000042")
	require.NoError(t, err)
	require.Empty(t, closed, "a recall being dialled is left to its dial")
	require.Equal(t, "dialling", w.recall(id2).Status)
}

// Two instances on 500 due recalls: each citizen is called exactly once.
func TestTwoInstancesDialEachRecallOnce(t *testing.T) {
	w := newWorld(t, time.Date(2026, 3, 3, 7, 0, 0, 0, rome))
	w.start("a", nil)
	w.start("b", nil)
	const recalls = 500
	numbers := make([]string, recalls)
	for i := range numbers {
		numbers[i] = fmt.Sprintf("34720%05d", i)
		w.citizen(numbers[i], "answer:0:0") // answers and hangs up at once
		w.outOfHours(numbers[i])
	}
	for i := range 16 {
		w.agent(fmt.Sprintf("r%02d", i), callsim.Agent(0))
	}
	w.clock.Set(time.Date(2026, 3, 3, 8, 0, 0, 0, rome))
	require.Eventually(t, func() bool {
		return w.count("select count(*) from recall_requests where status in ('pending', 'queued', 'dialling')") == 0
	}, 3*time.Minute, 200*time.Millisecond, "served: %d", w.count("select count(*) from recall_requests where status = 'connected'"))
	twice := 0
	for _, n := range numbers {
		if w.calledTimes(n) > 1 {
			twice++
		}
	}
	require.Zero(t, twice, "citizens called more than once")
	require.Equal(t, recalls, w.count("select count(*) from recall_requests where status = 'connected'"), "%v", w.statuses())
	require.Equal(t, recalls, w.count("select count(distinct recall_id) from calls where direction = 'recall'"))
	require.Equal(t, recalls, w.count("select count(*) from calls where direction = 'recall'"), "one call record per try")
}

func (w *world) statuses() map[string]int {
	rows, err := w.db.Query(context.Background(), "select status::text || ':' || coalesce(last_result, ''), count(*) from recall_requests group by 1")
	require.NoError(w.t, err)
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		require.NoError(w.t, rows.Scan(&s, &n))
		out[s] = n
	}
	return out
}
