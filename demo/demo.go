package demo

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/centralino-cup/centralino/app"
	"github.com/centralino-cup/centralino/asterisk"
	"github.com/centralino-cup/centralino/auth"
	"github.com/centralino-cup/centralino/booking"
	"github.com/centralino-cup/centralino/booking/seed"
	"github.com/centralino-cup/centralino/callsim"
	"github.com/centralino-cup/centralino/clock"
	"github.com/centralino-cup/centralino/config"
	"github.com/centralino-cup/centralino/hours"
	"github.com/centralino-cup/centralino/ivr"
	"github.com/centralino-cup/centralino/postgres"
	"github.com/centralino-cup/centralino/report"
	"github.com/centralino-cup/centralino/sms"
	"github.com/centralino-cup/centralino/sms/twiliostandin"
)

//go:embed queries/*.sql
var queryFiles embed.FS

var queries = postgres.LoadQueries(queryFiles, "demo")

// Options shape a run.
type Options struct {
	// Size is the number of citizens who call (DEMO_SIZE; default 200).
	Size int
	// Keep leaves the stack running after the report until ctx ends
	// (make run); otherwise Run returns after it (make demo).
	Keep bool
	// Config is the daemon's: the URLs of PostgreSQL (Database.URL names
	// the demo's database, prepared by Prepare), Redis (a database of
	// the demo's own: it is emptied) and ARI, and where it listens.
	Config config.Config
	// Day is the Monday morning played (Day picks the next one).
	Day time.Time
	// Dir receives the demo's credentials and the daemon's log.
	Dir string
	// Out is where the progress, the report and the summary go.
	Out io.Writer
}

// Result is what the simulator did next to what the report says of the
// same morning (the last line Run prints).
type Result struct {
	SimCalls               int64 `json:"sim_calls"`
	ReportCalls            int64 `json:"report_calls"`
	SimAnswered            int64 `json:"sim_answered"`
	ReportAnswered         int64 `json:"report_answered"`
	SimAbandoned           int64 `json:"sim_abandoned"`
	ReportAbandoned        int64 `json:"report_abandoned"`
	SimRecallsRequested    int64 `json:"sim_recalls_requested"`
	ReportRecallsRequested int64 `json:"report_recalls_requested"`
	SimRecallsConnected    int64 `json:"sim_recalls_connected"`
	ReportRecallsMade      int64 `json:"report_recalls_made"`
	// SimBookings counts what citizens did by themselves on the phone:
	// bookings, cancellations and moves (the report's self-service).
	SimBookings       int64 `json:"sim_bookings"`
	ReportSelfService int64 `json:"report_self_service"`
	// SMSSent is what the Twilio stand-in accepted; SMSRecorded what the
	// daemon's outbox says was accepted.
	SMSSent     int64 `json:"sms_sent"`
	SMSRecorded int64 `json:"sms_recorded"`
}

// Scaled is how the demo shortens the morning's thresholds, said at the
// start of every run.
var Scaled = struct {
	RecallAfter, AnnounceEvery, WrapUp time.Duration
	SMSFrom                            int
}{RecallAfter: 20 * time.Second, AnnounceEvery: 10 * time.Second, WrapUp: 5 * time.Second, SMSFrom: 7}

// NextMonday is the first Monday after t that is a working day.
func NextMonday(t time.Time, h *hours.Schedule) time.Time {
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, h.Location())
	for {
		d = d.AddDate(0, 0, 1)
		if d.Weekday() != time.Monday {
			continue
		}
		if h.Open(d.Add(9 * time.Hour)) {
			return d
		}
	}
}

// Prepare makes the demo's database afresh: migrated, emptied, a small region
// seeded (six sites, three weeks of agendas from day, bookings already
// made), and renders its service and site names into promptDir for the
// sandbox to load.
func Prepare(ctx context.Context, db *pgxpool.Pool, day time.Time, promptDir, studioDir string, log *slog.Logger) error {
	if err := postgres.Migrate(ctx, db, log); err != nil {
		return err
	}
	// Every run's report is its own morning's.
	if _, err := db.Exec(ctx, "truncate calls, recall_requests, sms_outbox, sms_optouts, sms_inbound restart identity"); err != nil {
		return fmt.Errorf("emptying the demo database: %w", err)
	}
	if _, err := seed.Run(ctx, db, seed.Options{Scale: "small", Days: 21, Start: day, Seed: 1, Reset: true}, log); err != nil {
		return err
	}
	if promptDir == "" {
		return nil
	}
	_, err := ivr.RenderPrompts(ctx, booking.NewService(db, booking.Options{Clock: clock.Wall(), Log: log}), promptDir, studioDir, log)
	return err
}

// stack is what Run starts: the stand-in, the daemon, the simulator.
type stack struct {
	opts    Options
	cfg     config.Config
	now     func() time.Time
	opening time.Time
	db      *pgxpool.Pool
	standin *twiliostandin.Server
	sim     *callsim.Simulator
	base    string
	secrets map[string]string // demo credentials: name → secret
	agents  []string
	web     *http.Client

	standinSrv *http.Server
	signals    chan os.Signal
	ran        chan error
}

// Run plays the morning and prints the report and the summary; with Keep
// it then waits for ctx before stopping everything it started.
func Run(ctx context.Context, o Options) (Result, error) {
	if o.Size <= 0 {
		o.Size = 200
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	p := plan(o.Size)
	s, err := start(ctx, o, p[len(p)-1].at-prelude(o.Size))
	if err != nil {
		return Result{}, err
	}
	defer s.stop()
	fmt.Fprintf(o.Out, "A morning at the CUP on %s: %d citizens, %d agents; the service opens at 08:00, the demo starts at %s.\n",
		s.opening.Format("Monday 2 January 2006"), o.Size, len(s.agents), s.now().In(s.opening.Location()).Format("15:04:05"))
	fmt.Fprintf(o.Out, "Scaled for a short run: the two-minute rule at %s, the position every %s, wrap-up %s, SMS from %02d:00.\n",
		Scaled.RecallAfter, Scaled.AnnounceEvery, Scaled.WrapUp, Scaled.SMSFrom)
	fmt.Fprintf(o.Out, "Daemon log: %s\n\n", filepath.Join(o.Dir, "centralino.log"))
	tally, err := s.play(ctx, p)
	if err != nil {
		return Result{}, err
	}
	res, err := s.summary(ctx, tally)
	if err != nil {
		return res, err
	}
	line, _ := json.Marshal(res)
	if o.Keep {
		s.where()
		fmt.Fprintln(o.Out, string(line))
		fmt.Fprintln(o.Out, "The stack keeps running: Ctrl-C stops everything the demo started.")
		<-ctx.Done()
		return res, nil
	}
	fmt.Fprintln(o.Out, string(line))
	return res, nil
}

// start brings the stack up: Redis emptied, the stand-in, the demo's
// credentials, the reminders due in the morning (which lasts morning from
// the opening), the daemon at the demo's clock, the simulated agents.
func start(ctx context.Context, o Options, morning time.Duration) (*stack, error) {
	sched, err := hours.New(o.Config.IVR.Hours)
	if err != nil {
		return nil, err
	}
	if o.Day.IsZero() {
		o.Day = NextMonday(clock.Wall()(), sched)
	}
	s := &stack{opts: o, cfg: o.Config, secrets: map[string]string{}, web: &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}}
	s.opening = time.Date(o.Day.Year(), o.Day.Month(), o.Day.Day(), 8, 0, 0, 0, sched.Location())
	real0 := time.Now()
	base := s.opening.Add(-prelude(o.Size))
	s.now = func() time.Time { return base.Add(time.Since(real0)) }
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, err
	}
	cfg := &s.cfg
	cfg.Queue.RecallAfter, cfg.Queue.AnnounceEvery, cfg.Queue.WrapUp = Scaled.RecallAfter, Scaled.AnnounceEvery, Scaled.WrapUp
	cfg.SMS.AllowedFrom = Scaled.SMSFrom
	cfg.Recall.DialString = "Local/{national}@sim-citizens"

	if err := emptyRedis(ctx, cfg.Redis.URL); err != nil {
		return nil, err
	}
	if s.db, err = postgres.Open(ctx, cfg.Database.URL, 4); err != nil {
		return nil, err
	}
	if err := s.standIn(); err != nil {
		s.stop()
		return nil, err
	}
	if err := s.credentials(o.Size); err != nil {
		s.stop()
		return nil, err
	}
	if err := s.reminders(ctx, sched, morning); err != nil {
		s.stop()
		return nil, err
	}
	logf, err := os.OpenFile(filepath.Join(o.Dir, "centralino.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		s.stop()
		return nil, err
	}
	log := cfg.Log.Logger(logf)
	s.base = "http://" + cfg.HTTP.Listen
	s.signals, s.ran = make(chan os.Signal, 2), make(chan error, 1)
	go func() {
		s.ran <- app.Run(*cfg, s.now, log, s.signals)
		logf.Close()
	}()
	if err := s.waitUp(ctx); err != nil {
		s.stop()
		return nil, err
	}
	ari := asterisk.Config{URL: cfg.ARI.URL, WebsocketURL: cfg.ARI.WebsocketURL, User: cfg.ARI.User, Password: cfg.ARI.Password,
		Application: cfg.ARI.Application + "-demo-sim", RequestTimeout: cfg.ARI.RequestTimeout}
	s.sim = callsim.New(ari, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := s.sim.Start(ctx); err != nil {
		s.stop()
		return nil, err
	}
	for _, a := range s.agents {
		if err := s.agentReady(ctx, a); err != nil {
			s.stop()
			return nil, err
		}
	}
	return s, nil
}

// prelude is how long the demo runs out of hours before the opening.
func prelude(size int) time.Duration {
	return min(max(time.Duration(size)*300*time.Millisecond, 25*time.Second), 90*time.Second)
}

// standIn serves the Twilio stand-in on a loopback port, for an account of
// the demo's own.
func (s *stack) standIn() error {
	// Twilio's forms: twilio-go refuses a token that is not alphanumeric.
	sid, token := "AC"+hexToken(16), hexToken(16)
	s.standin = twiliostandin.New(sid, token)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	s.standinSrv = &http.Server{Handler: s.standin, ReadHeaderTimeout: 5 * time.Second}
	go s.standinSrv.Serve(ln)
	s.cfg.SMS.BaseURL = "http://" + ln.Addr().String()
	s.cfg.SMS.AccountSID, s.cfg.SMS.AuthToken = sid, token
	s.cfg.SMS.PublicURL = "http://" + s.cfg.HTTP.Listen
	return nil
}

// credentials writes the demo's credentials file: the agents (each on a
// simulated phone that answers after two seconds), a manager and the
// scraper, with fresh secrets.
func (s *stack) credentials(size int) error {
	principals := []auth.Principal{{Role: auth.RoleManager, Name: "responsabile"}, {Role: auth.RoleMetrics, Name: "prometheus"}}
	for i := range agentsFor(size) {
		name := fmt.Sprintf("operatore%02d", i+1)
		s.agents = append(s.agents, name)
		principals = append(principals, auth.Principal{Role: auth.RoleAgent, Name: name, Attr: callsim.Agent(2 * time.Second)})
	}
	var lines []string
	for _, p := range principals {
		secret := auth.NewSecret()
		h, err := auth.Hash(secret)
		if err != nil {
			return err
		}
		s.secrets[p.Name] = secret
		lines = append(lines, auth.Line(p, h))
	}
	path := filepath.Join(s.opts.Dir, "credentials")
	if err := os.WriteFile(path, []byte("# The demo's credentials (make run): written afresh by every run.\n"+
		strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	s.cfg.Auth.CredentialsFile = path
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	s.cfg.Auth.SessionKey = base64.StdEncoding.EncodeToString(key)
	return nil
}

// agentsFor is how many agents answer: one per 40 citizens, at least two.
func agentsFor(size int) int { return max(2, (size+39)/40) }

// reminders gives the bookings made before the morning (the seeded
// region's) the reminders SPEC §6 gives every booking: those whose time
// comes during the morning (appointments five days on, at the hours the
// morning covers, at most one per five citizens) get a simulated mobile
// number (the seeded ones are fictitious, and get no SMS) and their
// reminder, which the daemon sends at its time.
func (s *stack) reminders(ctx context.Context, sched *hours.Schedule, morning time.Duration) error {
	quiet := sms.Quiet{Loc: sched.Location(), From: s.cfg.SMS.AllowedFrom, To: s.cfg.SMS.AllowedTo, Holidays: sched}
	notifier := sms.Notifier{Outbox: sms.NewOutbox(s.db), Quiet: quiet, ReminderDays: s.cfg.SMS.ReminderDays, NumeroVerde: s.cfg.SMS.NumeroVerde}
	day := s.opening.AddDate(0, 0, s.cfg.SMS.ReminderDays)
	rows, err := s.db.Query(ctx, queries.Get("remind"), pgx.NamedArgs{"from": day, "to": day.Add(morning), "n": max(1, s.opts.Size/5)})
	if err != nil {
		return fmt.Errorf("bookings to remind: %w", err)
	}
	numbers, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	bookings := booking.NewService(s.db, booking.Options{Clock: s.now})
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		for _, n := range numbers {
			b, err := bookings.Lookup(ctx, n)
			if err != nil {
				return err
			}
			if err := notifier.Remind(ctx, tx, b, s.now()); err != nil {
				return err
			}
		}
		return nil
	})
}

// waitUp waits for the daemon's HTTP and its ARI connection.
func (s *stack) waitUp(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	want := `centralino_ari_connected{application="` + s.cfg.ARI.Application + `"} 1`
	for {
		select {
		case err := <-s.ran:
			s.ran <- err
			return fmt.Errorf("the daemon stopped at start: %v (see %s)", err, filepath.Join(s.opts.Dir, "centralino.log"))
		default:
		}
		if code, body, err := s.call(ctx, "GET", "/metrics", "prometheus", ""); err == nil && code == http.StatusOK && strings.Contains(body, want) {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("the daemon did not connect to Asterisk within 30 s (is the sandbox up? make asterisk-up)")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// call makes an API request as who (a demo credential).
func (s *stack) call(ctx context.Context, method, path, who, body string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.SetBasicAuth(who, s.secrets[who])
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.web.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

// agentReady logs an agent in to every queue and makes it ready.
func (s *stack) agentReady(ctx context.Context, agent string) error {
	queues, _ := json.Marshal(map[string][]string{"queues": s.cfg.Queue.Queues})
	for _, step := range []struct{ path, body string }{{"/api/v1/agent/login", string(queues)}, {"/api/v1/agent/ready", ""}} {
		code, body, err := s.call(ctx, "POST", step.path, agent, step.body)
		if err != nil {
			return err
		}
		if code != http.StatusNoContent {
			return fmt.Errorf("%s %s: %d %s", agent, step.path, code, body)
		}
	}
	return nil
}

// where says where to look while the stack runs.
func (s *stack) where() {
	out := s.opts.Out
	fmt.Fprintf(out, "\nLive, while the stack runs (the demo's credentials, in %s):\n", s.cfg.Auth.CredentialsFile)
	fmt.Fprintf(out, "  wallboard        %s/wallboard   name responsabile, password %s\n", s.base, s.secrets["responsabile"])
	fmt.Fprintf(out, "  agent desktop    %s/desk        name %s, password %s\n", s.base, s.agents[0], s.secrets[s.agents[0]])
	fmt.Fprintf(out, "  metrics          %s/metrics     curl -u prometheus:%s\n", s.base, s.secrets["prometheus"])
	fmt.Fprintf(out, "  the report       bin/centralinoctl report --from %s --to %s (CENTRALINO_DATABASE_URL=%s)\n",
		s.opening.Format(time.DateOnly), s.opening.Format(time.DateOnly), config.RedactURL(s.cfg.Database.URL))
	fmt.Fprintf(out, "  a call of yours  bin/callsim call -caller 3471234567 -keys 0   (the agents answer it)\n\n")
}

// stop stops what start started, in reverse.
func (s *stack) stop() {
	if s.sim != nil {
		s.sim.Stop()
	}
	if s.signals != nil {
		s.signals <- syscall.SIGINT
		select {
		case <-s.ran:
		case <-time.After(20 * time.Second):
		}
	}
	if s.standinSrv != nil {
		s.standinSrv.Close()
	}
	if s.db != nil {
		s.db.Close()
	}
}

// summary prints the report of the settled morning (play waited for it)
// and returns the comparison.
func (s *stack) summary(ctx context.Context, t *tally) (Result, error) {
	loc := s.opening.Location()
	day := time.Date(s.opening.Year(), s.opening.Month(), s.opening.Day(), 0, 0, 0, 0, loc)
	rep, err := report.Build(ctx, s.db, report.Options{From: day, To: day.AddDate(0, 0, 1), Location: loc,
		ShortAbandon: s.cfg.Queue.ShortAbandon, WrapUp: s.cfg.Queue.WrapUp})
	if err != nil {
		return Result{}, err
	}
	fmt.Fprintln(s.opts.Out)
	if err := rep.Write(s.opts.Out, report.FormatText); err != nil {
		return Result{}, err
	}
	res := t.result()
	res.ReportCalls, res.ReportAnswered, res.ReportAbandoned = rep.Total.Calls, rep.Total.Answered, rep.Total.Abandoned
	res.ReportRecallsMade, res.ReportSelfService = rep.Total.RecallsMade, rep.Total.SelfService
	for _, n := range rep.Recalls.Requested {
		res.ReportRecallsRequested += n
	}
	res.SMSSent = int64(len(s.standin.Messages()))
	rows, err := s.db.Query(ctx, queries.Get("sms_sent"))
	if err != nil {
		return res, err
	}
	type kind struct {
		Kind string
		N    int64
	}
	kinds, err := pgx.CollectRows(rows, pgx.RowToStructByPos[kind])
	if err != nil {
		return res, err
	}
	var parts []string
	for _, k := range kinds {
		res.SMSRecorded += k.N
		parts = append(parts, fmt.Sprintf("%s %d", k.Kind, k.N))
	}
	fmt.Fprintf(s.opts.Out, "\nSMS sent: %d (%s)\n", res.SMSSent, strings.Join(parts, ", "))
	return res, nil
}

// settle waits until nothing moves any more: no recall open, no call up,
// no message due (at most five minutes).
func (s *stack) settle(ctx context.Context) error {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		var recalls, calls, texts int64
		if err := s.db.QueryRow(ctx, queries.Get("settled"), pgx.NamedArgs{"now": s.now()}).Scan(&recalls, &calls, &texts); err != nil {
			return err
		}
		if recalls == 0 && calls == 0 && texts == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the morning did not settle: %d recalls open, %d calls up, %d messages due", recalls, calls, texts)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// emptyRedis empties the demo's Redis database.
func emptyRedis(ctx context.Context, raw string) error {
	opts, err := redis.ParseURL(raw)
	if err != nil {
		return fmt.Errorf("redis.url: %w", err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	return rdb.FlushDB(ctx).Err()
}

// hexToken is n random bytes in hex (Twilio's SIDs and tokens).
func hexToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
