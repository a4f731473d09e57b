// Package app assembles the daemon from its configuration: it builds the
// parts (booking core, SMS, queue, the numero verde's flow on ARI, HTTP),
// starts them in order and stops them in the reverse order, so that no
// part outlives a client it uses (Alertmanager's cmd/ + wiring). cmd/
// centralino only reads flags and configuration and calls Run.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/redis/go-redis/v9"

	"github.com/centralino-cup/centralino/asterisk"
	"github.com/centralino-cup/centralino/booking"
	"github.com/centralino-cup/centralino/calls"
	"github.com/centralino-cup/centralino/clock"
	"github.com/centralino-cup/centralino/config"
	"github.com/centralino-cup/centralino/hours"
	"github.com/centralino-cup/centralino/ivr"
	"github.com/centralino-cup/centralino/pages"
	"github.com/centralino-cup/centralino/postgres"
	"github.com/centralino-cup/centralino/prompts"
	"github.com/centralino-cup/centralino/queue"
	"github.com/centralino-cup/centralino/recall"
	"github.com/centralino-cup/centralino/report"
	"github.com/centralino-cup/centralino/sms"
)

// DrainTimeout bounds how long SIGTERM waits for live calls.
const DrainTimeout = 30 * time.Second

// part is a long-running piece of the daemon. stop gets a context that
// bounds a drain (already done for SIGINT: stop now).
type part struct {
	name  string
	start func(ctx context.Context) error
	stop  func(ctx context.Context)
}

// App is the daemon, built and not yet started.
type App struct {
	cfg   config.Config
	log   *slog.Logger
	now   clock.Clock
	db    *pgxpool.Pool
	rdb   *redis.Client // nil with queue.backend app_queue
	parts []part        // in start order
	// failures reports a part that failed while running (the HTTP
	// listener): the daemon stops.
	failures chan error
}

// New connects to PostgreSQL (migrating it) and Redis and builds every
// part; nothing runs until Start.
func New(ctx context.Context, cfg config.Config, now clock.Clock, log *slog.Logger) (*App, error) {
	a := &App{cfg: cfg, log: log, now: clock.Must(now, "app"), failures: make(chan error, 1)}
	if err := a.build(ctx); err != nil {
		a.close()
		return nil, err
	}
	return a, nil
}

func (a *App) build(ctx context.Context) error {
	cfg, log := a.cfg, a.log
	db, err := postgres.Open(ctx, cfg.Database.URL, cfg.Database.MaxConns)
	if err != nil {
		return err
	}
	a.db = db
	if err := postgres.Migrate(ctx, db, log.With("component", "migrate")); err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	schedule, err := hours.New(cfg.IVR.Hours)
	if err != nil {
		return fmt.Errorf("ivr.hours: %w", err)
	}
	// The alerts that hold only while the service is open (no agent
	// ready, a recall backlog) read the schedule from here.
	promauto.With(reg).NewGaugeFunc(prometheus.GaugeOpts{Name: "centralino_service_open",
		Help: "1 while the service is open (ivr.hours: weekly schedule and holidays), 0 outside."}, func() float64 {
		if schedule.Open(a.now()) {
			return 1
		}
		return 0
	})
	// Every booking change writes its SMS in its own transaction.
	outbox := sms.NewOutbox(db).Register(reg)
	quiet := sms.Quiet{Loc: schedule.Location(), From: cfg.SMS.AllowedFrom, To: cfg.SMS.AllowedTo, Holidays: schedule}
	notifier := sms.Notifier{Outbox: outbox, ReminderDays: cfg.SMS.ReminderDays, NumeroVerde: cfg.SMS.NumeroVerde, Quiet: quiet}
	bookings := booking.NewService(db, booking.Options{HoldTTL: cfg.Booking.HoldTTL, Events: notifier, Clock: a.now, Log: log})
	web, err := newWeb(cfg, db, reg, bookings, a.now, log)
	if err != nil {
		return err
	}
	if err := a.buildSMS(outbox, bookings, quiet, reg, web); err != nil {
		return err
	}

	recalls := recall.NewService(db, a.now, log).Register(reg).WithPolicy(recall.Policy{Hours: schedule,
		ValidDays: cfg.Recall.ValidDays, Tries: cfg.Recall.Tries, RetryAfter: cfg.Recall.RetryAfter,
		Texts: outbox, NumeroVerde: cfg.SMS.NumeroVerde})
	records := calls.NewRecords(db).Register(reg)
	// The flow and the queue need each other: the flow hands callers to
	// the queue's operator, which dials agents through the same client.
	var stasis ivr.Stasis
	client := asterisk.New(asterisk.Config{URL: cfg.ARI.URL, WebsocketURL: cfg.ARI.WebsocketURL, User: cfg.ARI.User,
		Password: cfg.ARI.Password, Application: cfg.ARI.Application, RequestTimeout: cfg.ARI.RequestTimeout},
		&stasis, reg, log)
	var operator ivr.Operator = ivr.AppQueue{Dialplan: client, Context: cfg.IVR.OperatorContext,
		Application: cfg.ARI.Application, Timeout: cfg.IVR.QueueTimeout}
	if cfg.Queue.Backend == "redis" {
		op, err := a.buildQueue(client, recalls, records, bookings, schedule, reg, web)
		if err != nil {
			return err
		}
		operator = op
	}
	stasis.Flow = ivr.NewFlow(ivr.Config{MenuTimeout: cfg.IVR.MenuTimeout, InterDigit: cfg.IVR.InterDigit,
		MaxTries: cfg.IVR.MaxTries, NREPrefix: cfg.Booking.NREPrefix}, ivr.Deps{
		Slots: bookings, Holds: bookings, Bookings: bookings,
		Recalls:  recalls,
		Operator: operator,
		Records:  records,
		Hours:    schedule,
		Speaker:  asterisk.Italian{Loc: schedule.Location(), PromptDir: prompts.Dir},
		Clock:    a.now,
		Log:      log,
	})
	handler, err := web.handler()
	if err != nil {
		return err
	}
	a.parts = append(a.parts, httpPart(cfg.HTTP.Listen, handler, limits, log, a.failures, web.onShutdown...), a.asteriskPart(client),
		a.closeGonePart(client, records))
	return nil
}

// buildSMS adds the sender and Twilio's webhooks when Twilio's credentials
// are set; without them messages wait in the outbox.
func (a *App) buildSMS(outbox *sms.Outbox, bookings *booking.Service, quiet sms.Quiet, reg prometheus.Registerer, web *web) error {
	cfg := a.cfg.SMS
	if cfg.AccountSID == "" || cfg.AuthToken == "" {
		a.log.Warn("TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN not set: SMS wait in the outbox")
		return nil
	}
	instance, _ := os.Hostname()
	inbox := sms.NewInbox(outbox, bookings, cfg.NumeroVerde, instance, a.now, a.log)
	web.webhooks(outbox, inbox, sms.NewVerifier(cfg.AuthToken), a.now)
	tw, err := sms.NewTwilio(sms.TwilioConfig{BaseURL: cfg.BaseURL, AccountSID: cfg.AccountSID, AuthToken: cfg.AuthToken,
		From: cfg.From, StatusCallback: web.publicURL("/webhooks/twilio/status")})
	if err != nil {
		return err
	}
	sender := sms.NewSender(sms.SenderConfig{Owner: instance, PerSecond: cfg.PerSecond, Quiet: quiet}, outbox, tw, a.now, reg, a.log)
	a.parts = append(a.parts, part{name: "sms sender", start: sender.Start, stop: func(context.Context) { sender.Stop() }},
		part{name: "sms replies", start: inbox.Start, stop: func(context.Context) { inbox.Stop() }})
	return nil
}

// buildQueue connects Redis and adds the queue's dispatcher, the agent
// desktop's API, and the recall's dialler and scheduler, which serve the
// recalls in the queue.
func (a *App) buildQueue(client *asterisk.Client, recalls *recall.Service, records *calls.Records, bookings *booking.Service,
	schedule *hours.Schedule, reg prometheus.Registerer, web *web) (*queue.Operator, error) {
	cfg := a.cfg.Queue
	ropts, err := redis.ParseURL(a.cfg.Redis.URL)
	if err != nil {
		return nil, fmt.Errorf("redis.url: %w", err)
	}
	a.rdb = redis.NewClient(ropts)
	instance := cfg.Instance
	if instance == "" {
		instance, _ = os.Hostname()
	}
	store := queue.NewStore(a.rdb, "centralino")
	wrapUp := cfg.WrapUp
	if wrapUp == 0 {
		wrapUp = -1 // configured as none
	}
	agents := queue.NewService(store, queue.Options{WrapUp: wrapUp, Desks: client, Clock: a.now, Log: a.log})
	share := a.cfg.Recall.OutOfHoursShare
	if share == 0 {
		share = -1 // configured as none
	}
	op := queue.NewOperator(queue.OperatorConfig{Instance: instance, Queues: cfg.Queues, AnnounceEvery: cfg.AnnounceEvery,
		RecallAfter: cfg.RecallAfter, RingTimeout: cfg.RingTimeout, RecallShare: share, ShortAbandon: cfg.ShortAbandon},
		store, agents, client, recalls, a.now, reg, a.log)
	rc := a.cfg.Recall
	dialler := recall.NewDialler(recall.DiallerConfig{Instance: instance, DialString: rc.DialString, CallerID: rc.CallerID,
		AnswerTimeout: rc.AnswerTimeout, Lease: rc.Lease}, recalls, op, client, store, records, a.log)
	op.ServeRecalls(dialler)
	scheduler := recall.NewScheduler(recall.SchedulerConfig{PrealertLead: rc.PrealertLead}, recalls, store, store, client, a.log)
	web.desk(agents, op)
	recalls.WithQueue(store)
	web.recalls(recalls)
	// The pages read the same Redis and database as the APIs; the day's
	// figures are the report's, counted in the service's time zone.
	loc := schedule.Location()
	desk := pages.New(pages.Config{Instance: instance, Queues: cfg.Queues, Clock: a.now, Log: a.log}, pages.Deps{
		Live: store, Links: store, Lookups: bookings, Recalls: recalls, ARI: client,
		Figures: func(ctx context.Context, now time.Time) (report.Live, error) {
			return report.Today(ctx, a.db, now, loc)
		},
	}, web.guard)
	web.pages(desk)
	a.parts = append(a.parts,
		part{name: "queue dispatcher", start: op.Start, stop: func(context.Context) { op.Stop() }},
		part{name: "recall dialler", start: dialler.Start, stop: func(context.Context) { dialler.Stop() }},
		part{name: "recall scheduler", start: scheduler.Start, stop: func(context.Context) { scheduler.Stop() }},
		part{name: "pages", start: desk.Start, stop: func(context.Context) { desk.Stop() }})
	return op, nil
}

// asteriskPart is the ARI client. Asterisk may start after the daemon: the
// client keeps reconnecting in the background, and calls arriving
// meanwhile get the dialplan's fallback. Its stop drains the live calls
// within the stop's context; what is left stays in Asterisk for the next
// instance to recover.
func (a *App) asteriskPart(client *asterisk.Client) part {
	return part{name: "asterisk",
		start: func(ctx context.Context) error {
			sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			if err := client.Start(sctx); err != nil {
				a.log.Warn("asterisk not reachable yet; retrying in the background", "err", err)
			}
			return nil
		},
		stop: func(ctx context.Context) {
			if n := client.Drain(ctx); n > 0 {
				a.log.Info("calls left for the next instance", "calls", n)
			}
			client.Stop()
		}}
}

// closeGonePart ends, once connected (and this controller's calls taken
// back), the records of calls whose caller hung up while no controller
// was there.
func (a *App) closeGonePart(client *asterisk.Client, records *calls.Records) part {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	return part{name: "call records",
		start: func(context.Context) error {
			started := a.now()
			go func() {
				defer close(done)
				if client.WaitConnected(ctx) != nil {
					return
				}
				n, err := records.CloseGone(ctx, a.now(), started, client.ChannelUp)
				if err != nil {
					a.log.Error("ending the records of calls gone meanwhile", "err", err)
				} else if n > 0 {
					a.log.Info("records of calls gone meanwhile ended", "calls", n)
				}
			}()
			return nil
		},
		stop: func(context.Context) { cancel(); <-done }}
}

// Start starts the parts in order; on a failure it stops those started.
func (a *App) Start(ctx context.Context) error {
	for i, p := range a.parts {
		if err := p.start(ctx); err != nil {
			a.stopParts(a.parts[:i], ctx)
			return fmt.Errorf("starting %s: %w", p.name, err)
		}
		a.log.Debug("started", "part", p.name)
	}
	a.log.Info("centralino started", "http", a.cfg.HTTP.Listen)
	return nil
}

// Stop stops the parts in the reverse order of start (the drain of live
// calls bounded by ctx), then closes Redis and PostgreSQL.
func (a *App) Stop(ctx context.Context) {
	a.stopParts(a.parts, ctx)
	a.close()
}

func (a *App) stopParts(parts []part, ctx context.Context) {
	for i := len(parts) - 1; i >= 0; i-- {
		parts[i].stop(ctx)
		a.log.Debug("stopped", "part", parts[i].name)
	}
}

func (a *App) close() {
	if a.rdb != nil {
		a.rdb.Close()
	}
	if a.db != nil {
		a.db.Close()
	}
}

// Run builds and starts the daemon and runs it until a signal: SIGTERM
// drains live calls for up to DrainTimeout (a second signal stops now),
// SIGINT stops now; calls not drained are left in Asterisk for the next
// instance. It returns when every part has stopped; an error when the
// daemon could not start or a part (the HTTP server) failed.
func Run(cfg config.Config, now clock.Clock, log *slog.Logger, signals <-chan os.Signal) error {
	ctx := context.Background()
	a, err := New(ctx, cfg, now, log)
	if err != nil {
		return err
	}
	if err := a.Start(ctx); err != nil {
		a.close()
		return err
	}
	var failed error
	var grace time.Duration
	select {
	case err := <-a.failures:
		failed = err
	case sig := <-signals:
		log.Info("stopping", "signal", sig.String())
		if sig == syscall.SIGTERM {
			grace = DrainTimeout
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	go func() {
		// A second signal during the drain stops now.
		select {
		case <-signals:
			cancel()
		case <-sctx.Done():
		}
	}()
	a.Stop(sctx)
	if failed != nil && !errors.Is(failed, context.Canceled) {
		return failed
	}
	return nil
}
