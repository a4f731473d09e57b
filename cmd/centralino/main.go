// Command centralino is the daemon: it loads the configuration, builds the
// booking core, the numero verde's call flow on ARI, the HTTP API and the
// metrics endpoint, and runs them until SIGTERM (drain: no new calls are
// refused, live calls get up to the drain timeout, then the rest are left
// in Asterisk for the next instance) or SIGINT (stop now: calls are left in
// Asterisk and recovered by the next instance).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/centralino-cup/centralino/asterisk"
	"github.com/centralino-cup/centralino/booking"
	"github.com/centralino-cup/centralino/config"
	"github.com/centralino-cup/centralino/ivr"
	"github.com/centralino-cup/centralino/postgres"
	"github.com/centralino-cup/centralino/queue"
	"github.com/centralino-cup/centralino/recall"
	"github.com/centralino-cup/centralino/sms"
)

func main() {
	path := flag.String("config", "", "YAML configuration file (empty: built-in defaults)")
	flag.Parse()
	cfg, err := config.Load(*path, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "centralino:", err)
		os.Exit(2)
	}
	log := cfg.Log.Logger(os.Stderr)
	if err := run(cfg, log); err != nil {
		log.Error("centralino stopped", "err", err)
		os.Exit(1)
	}
}

// drainTimeout bounds how long SIGTERM waits for in-flight work.
const drainTimeout = 30 * time.Second

func run(cfg config.Config, log *slog.Logger) error {
	// SIGTERM drains; SIGINT (and a second signal) stops now.
	term := make(chan os.Signal, 2)
	signal.Notify(term, syscall.SIGTERM, syscall.SIGINT)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	db, err := postgres.Open(ctx, cfg.Database.URL, cfg.Database.MaxConns)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := postgres.Migrate(ctx, db, log.With("component", "migrate")); err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	var webhooks func(*http.ServeMux) // Twilio's callbacks, when configured
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	hours, err := ivr.NewHours(ivr.HoursConfig(cfg.IVR.Hours))
	if err != nil {
		return fmt.Errorf("ivr.hours: %w", err)
	}
	// Every booking change writes its SMS in its own transaction.
	outbox := sms.NewOutbox(db).Register(reg)
	notifier := sms.Notifier{Outbox: outbox, ReminderDays: cfg.SMS.ReminderDays, NumeroVerde: cfg.SMS.NumeroVerde,
		Quiet: sms.Quiet{Loc: hours.Location(), From: cfg.SMS.AllowedFrom, To: cfg.SMS.AllowedTo, Holidays: hours}}
	bookings := booking.NewService(db, booking.Options{HoldTTL: cfg.Booking.HoldTTL, Events: notifier, Log: log})
	if cfg.SMS.AccountSID == "" || cfg.SMS.AuthToken == "" {
		log.Warn("TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN not set: SMS wait in the outbox")
	} else {
		tw, err := sms.NewTwilio(sms.TwilioConfig{BaseURL: cfg.SMS.BaseURL, AccountSID: cfg.SMS.AccountSID, AuthToken: cfg.SMS.AuthToken,
			From: cfg.SMS.From, StatusCallback: strings.TrimSuffix(cfg.SMS.PublicURL, "/") + "/webhooks/twilio/status"})
		if err != nil {
			return err
		}
		instance, _ := os.Hostname()
		sender := sms.NewSender(sms.SenderConfig{Owner: instance, PerSecond: cfg.SMS.PerSecond}, outbox, tw, nil, reg, log)
		go func() {
			if err := sender.Run(ctx, time.Second); err != nil {
				log.Error("sms sender stopped", "err", err)
			}
		}()
		verifier := sms.NewVerifier(cfg.SMS.AuthToken)
		public := strings.TrimSuffix(cfg.SMS.PublicURL, "/")
		webhooks = func(mux *http.ServeMux) {
			mux.Handle("POST /webhooks/twilio/status", outbox.StatusHandler(verifier, public+"/webhooks/twilio/status", nil, log))
			mux.Handle("POST /webhooks/twilio/inbound", outbox.InboundHandler(verifier, public+"/webhooks/twilio/inbound", bookings, nil, log))
		}
	}
	recalls := recall.NewService(db, nil, log)
	// The flow and the queue need each other: the flow hands callers to
	// the queue's operator, which dials agents through the same client.
	var operator ivr.Operator = ivr.AppQueue{Context: cfg.IVR.OperatorContext, Application: cfg.ARI.Application, Timeout: cfg.IVR.QueueTimeout}
	var stasis ivr.Stasis
	calls := asterisk.New(asterisk.Config{URL: cfg.ARI.URL, WebsocketURL: cfg.ARI.WebsocketURL, User: cfg.ARI.User,
		Password: cfg.ARI.Password, Application: cfg.ARI.Application, RequestTimeout: cfg.ARI.RequestTimeout},
		&stasis, reg, log)
	var agents *queue.Service
	var op *queue.Operator
	if cfg.Queue.Backend == "redis" {
		ropts, err := redis.ParseURL(cfg.Redis.URL)
		if err != nil {
			return fmt.Errorf("redis.url: %w", err)
		}
		rdb := redis.NewClient(ropts)
		// The work using Redis stops before its client closes.
		defer func() { cancel(); rdb.Close() }()
		instance := cfg.Queue.Instance
		if instance == "" {
			instance, _ = os.Hostname()
		}
		store := queue.NewStore(rdb, "centralino")
		wrapUp := cfg.Queue.WrapUp
		if wrapUp == 0 {
			wrapUp = -1 // configured as none
		}
		agents = queue.NewService(store, queue.Options{WrapUp: wrapUp, Log: log})
		op = queue.NewOperator(queue.OperatorConfig{Instance: instance, AnnounceEvery: cfg.Queue.AnnounceEvery,
			RecallAfter: cfg.Queue.RecallAfter, RingTimeout: cfg.Queue.RingTimeout}, store, agents, calls, recalls, nil, reg, log)
		operator = op
		go func() {
			if err := op.Run(ctx, cfg.Queue.Queues); err != nil {
				log.Error("queue dispatcher stopped", "err", err)
			}
		}()
	}
	records := ivr.NewRecords(db)
	stasis.Flow = ivr.NewFlow(ivr.Config{MenuTimeout: cfg.IVR.MenuTimeout, InterDigit: cfg.IVR.InterDigit,
		MaxTries: cfg.IVR.MaxTries, NREPrefix: cfg.Booking.NREPrefix}, ivr.Deps{
		Slots: bookings, Holds: bookings, Bookings: bookings,
		Recalls:  recalls,
		Operator: operator,
		Records:  records,
		Hours:    hours,
		Speaker:  asterisk.Italian{Loc: hours.Location(), PromptDir: ivr.PromptDir},
		Log:      log,
	})
	// Asterisk may start after us: the client keeps reconnecting in the
	// background, and calls arriving meanwhile get the dialplan's fallback.
	actx, acancel := context.WithTimeout(ctx, 5*time.Second)
	if err := calls.Start(actx); err != nil {
		log.Warn("asterisk not reachable yet; retrying in the background", "err", err)
	}
	acancel()
	defer calls.Stop()
	started := time.Now()
	go func() {
		// Calls whose caller hung up while no controller was there have
		// records nobody ended: once connected (and this controller's calls
		// taken back), they are ended as hung up.
		if calls.WaitConnected(ctx) != nil {
			return
		}
		n, err := records.CloseGone(ctx, time.Now(), started, calls.ChannelUp)
		if err != nil {
			log.Error("ending the records of calls gone meanwhile", "err", err)
		} else if n > 0 {
			log.Info("records of calls gone meanwhile ended", "calls", n)
		}
	}()

	mux := http.NewServeMux()
	mux.Handle("/api/v1/", bookings.Handler())
	if webhooks != nil {
		webhooks(mux)
	}
	if agents != nil {
		tokens, err := queue.ParseTokens(os.Getenv("CENTRALINO_AGENT_TOKENS"))
		if err != nil {
			return fmt.Errorf("CENTRALINO_AGENT_TOKENS: %w", err)
		}
		desk := agents.Handler(tokens, func(queues []string) {
			for _, q := range queues {
				op.Dispatch(ctx, q)
			}
		})
		mux.Handle("/api/v1/agent", desk)
		mux.Handle("/api/v1/agent/", desk)
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := db.Ping(r.Context()); err != nil {
			http.Error(w, "database unreachable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	srv := &http.Server{Addr: cfg.HTTP.Listen, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.ListenAndServe() }()
	log.Info("centralino started", "http", cfg.HTTP.Listen)

	select {
	case err := <-served:
		return fmt.Errorf("http server: %w", err)
	case sig := <-term:
		log.Info("stopping", "signal", sig.String())
		grace := drainTimeout
		if sig == syscall.SIGINT {
			grace = 0
		}
		sctx, scancel := context.WithTimeout(context.Background(), grace)
		defer scancel()
		go func() {
			// A second signal during the drain stops now.
			<-term
			scancel()
		}()
		// Calls first: they drain within the grace; what is left stays in
		// Asterisk for the next instance to recover.
		if n := calls.Drain(sctx); n > 0 {
			log.Info("calls left for the next instance", "calls", n)
		}
		calls.Stop()
		if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	return nil
}
