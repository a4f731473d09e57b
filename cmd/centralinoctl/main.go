// Command centralinoctl administers centralino: migrate the schema, seed a
// realistic region, and run the benchmarks.
//
//	centralinoctl [-config FILE] migrate
//	centralinoctl [-config FILE] seed [-scale small|medium|liguria] [-days N] [-seed N] [-reset]
//	centralinoctl [-config FILE] prompts [-out DIR] [-studio DIR] [-names=true]
//	centralinoctl [-config FILE] report --from DAY [--to DAY] [--by day|week|month] [--format text|csv|json] [--target 0.8 --within 30s] [--aht D]
//	centralinoctl staffing --calls N --interval 30m --aht 4m [--target 0.8 --within 30s]
//	centralinoctl twilio-standin [-listen 127.0.0.1:8089]
//	centralinoctl [-config FILE] demo [-prepare] [-size N] [-keep]
//	centralinoctl credential [-file F] [-secret-stdin] ROLE NAME [ATTRIBUTE]
//	centralinoctl [-config FILE] bench booking [-scale liguria] [-clients 64] [-duration 20s] [-lookups 2000]
//	centralinoctl [-config FILE] bench ivr [-prepare] [-db centralino_bench_ivr]
//	centralinoctl [-config FILE] bench queue [-calls 200] [-agents 30] [-rate 5]
//	centralinoctl [-config FILE] bench sms [-messages 100000] [-senders 3]
//	centralinoctl [-config FILE] bench recall [-recalls 100000] [-instances 3] [-opening 200] [-agents 10]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/centralino-cup/centralino/asterisk"
	"github.com/centralino-cup/centralino/auth"
	"github.com/centralino-cup/centralino/booking"
	"github.com/centralino-cup/centralino/booking/bench"
	"github.com/centralino-cup/centralino/booking/seed"
	"github.com/centralino-cup/centralino/clock"
	"github.com/centralino-cup/centralino/config"
	"github.com/centralino-cup/centralino/ivr"
	ivrbench "github.com/centralino-cup/centralino/ivr/bench"
	"github.com/centralino-cup/centralino/postgres"
	"github.com/centralino-cup/centralino/prompts"
	queuebench "github.com/centralino-cup/centralino/queue/bench"
	"github.com/centralino-cup/centralino/recall"
	recallbench "github.com/centralino-cup/centralino/recall/bench"
	"github.com/centralino-cup/centralino/report"
	smsbench "github.com/centralino-cup/centralino/sms/bench"
	"github.com/centralino-cup/centralino/sms/twiliostandin"
)

const usage = `usage: centralinoctl [-config FILE] COMMAND
commands:
  migrate                 apply the schema migrations
  seed [flags]            build a realistic region (see seed -h)
  prompts [flags]         render the Italian prompts to 8 kHz WAV (see prompts -h)
  report [flags]          the CUP report of a period, with Erlang C staffing per half hour (see report -h)
  staffing [flags]        Erlang C for figures given by hand: agents, service level, ASA, occupancy (see staffing -h)
  twilio-standin [flags]  serve the local Twilio stand-in (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN)
  demo [flags]            a morning at the CUP on the real stack, then its report (make run, make demo; see demo -h)
  credential [flags] ROLE NAME [ATTRIBUTE]
                          a credential: agent NAME PHONE, channel NAME web|counter|pharmacy, manager NAME, metrics NAME
  bench booking [flags]   benchmark the booking core (see bench booking -h)
  bench ivr [flags]       time a citizen booking through the IVR on the sandbox (see bench ivr -h)
  bench queue [flags]     app_queue and centralino's queue side by side on the sandbox (see bench queue -h)
  bench sms [flags]       SMS sender instances against the Twilio stand-in (see bench sms -h)
  bench recall [flags]    the recall scheduler, and an opening on the sandbox (see bench recall -h)`

func main() {
	path := flag.String("config", "", "YAML configuration file (empty: built-in defaults)")
	flag.Usage = func() { fmt.Fprintln(os.Stderr, usage) }
	flag.Parse()
	cfg, err := config.Load(*path, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "centralinoctl:", err)
		os.Exit(2)
	}
	log := cfg.Log.Logger(os.Stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, log, flag.Args()); err != nil {
		if errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, usage)
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "centralinoctl:", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

func run(ctx context.Context, cfg config.Config, log *slog.Logger, args []string) error {
	if len(args) == 0 {
		return errUsage
	}
	switch args[0] {
	case "migrate":
		db, err := postgres.Open(ctx, cfg.Database.URL, 2)
		if err != nil {
			return err
		}
		defer db.Close()
		return postgres.Migrate(ctx, db, log)
	case "seed":
		return runSeed(ctx, cfg.Database.URL, log, args[1:])
	case "prompts":
		return runPrompts(ctx, cfg.Database.URL, log, args[1:])
	case "report":
		return runReport(ctx, cfg, args[1:])
	case "staffing":
		return runStaffing(args[1:])
	case "twilio-standin":
		return runStandin(ctx, log, args[1:])
	case "credential":
		return runCredential(args[1:])
	case "demo":
		return runDemo(ctx, cfg, log, args[1:])
	case "bench":
		if len(args) < 2 {
			return errUsage
		}
		switch args[1] {
		case "booking":
			return runBenchBooking(ctx, cfg, log, args[2:])
		case "ivr":
			return runBenchIVR(ctx, cfg, log, args[2:])
		case "queue":
			return runBenchQueue(ctx, cfg, log, args[2:])
		case "sms":
			return runBenchSMS(ctx, cfg, log, args[2:])
		case "recall":
			return runBenchRecall(ctx, cfg, log, args[2:])
		}
		return errUsage
	}
	return errUsage
}

func seedFlags(fs *flag.FlagSet) *seed.Options {
	o := &seed.Options{}
	fs.StringVar(&o.Scale, "scale", "small", "region size: small, medium or liguria (about 5 M slots)")
	fs.IntVar(&o.Days, "days", 120, "agenda horizon in days")
	fs.Int64Var(&o.Seed, "seed", 1, "random seed (the same seed builds the same region)")
	fs.BoolVar(&o.Reset, "reset", false, "empty the booking tables first")
	return o
}

func runSeed(ctx context.Context, url string, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	o := seedFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := postgres.Open(ctx, url, 4)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := postgres.Migrate(ctx, db, log); err != nil {
		return err
	}
	o.Start = time.Now()
	rep, err := seed.Run(ctx, db, *o, log)
	if err != nil {
		return err
	}
	fmt.Printf("seeded %s: %d services, %d sites, %d agendas, %d slots, %d prescriptions, %d bookings in %s\n",
		o.Scale, rep.Services, rep.Sites, rep.Agendas, rep.Slots, rep.Prescriptions, rep.Bookings, rep.Took.Round(time.Second))
	return nil
}

func runPrompts(ctx context.Context, url string, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("prompts", flag.ContinueOnError)
	out := fs.String("out", "deploy/sounds/generated/it/centralino", "directory for the rendered prompts")
	studio := fs.String("studio", "deploy/sounds/studio", "studio recordings <id>.wav that replace generated prompts")
	names := fs.Bool("names", true, "also render every service and site name from the database")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cat, err := prompts.LoadCatalogue()
	if err != nil {
		return err
	}
	if *names {
		db, err := postgres.Open(ctx, url, 2)
		if err != nil {
			return err
		}
		defer db.Close()
		if err := postgres.Migrate(ctx, db, log); err != nil {
			return err
		}
		if cat, err = ivr.CatalogueWithNames(ctx, booking.NewService(db, booking.Options{Clock: clock.Wall(), Log: log})); err != nil {
			return err
		}
	}
	rep, err := cat.Generate(ctx, *out, *studio, log)
	if err != nil {
		return err
	}
	fmt.Printf("prompts in %s: %d generated, %d from studio recordings, %d unchanged\n", *out, rep.Generated, rep.Studio, rep.Unchanged)
	return nil
}

func runReport(ctx context.Context, cfg config.Config, args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	from := fs.String("from", "", "first day of the period (2006-01-02, or a month 2006-01), in the service's time zone")
	to := fs.String("to", "", "last day of the period, included (default: the from day or month)")
	by := fs.String("by", "", "break the period into day, week or month rows")
	format := fs.String("format", report.FormatText, "text, csv or json")
	target := fs.Float64("target", report.DefaultTarget, "staffing: service level target")
	within := fs.Duration("within", report.DefaultWithin, "staffing: answered within this wait")
	aht := fs.Duration("aht", 0, "staffing: handle time per call (0: the period's mean talk time plus queue.wrap_up)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	loc, err := time.LoadLocation(cfg.IVR.Hours.TimeZone)
	if err != nil {
		return fmt.Errorf("ivr.hours.time_zone: %w", err)
	}
	start, end, err := report.ParseDays(*from, *to, loc)
	if err != nil {
		return err
	}
	db, err := postgres.Open(ctx, cfg.Database.URL, 2)
	if err != nil {
		return err
	}
	defer db.Close()
	r, err := report.Build(ctx, db, report.Options{From: start, To: end, By: *by, Location: loc, ShortAbandon: cfg.Queue.ShortAbandon,
		Target: *target, Within: *within, AHT: *aht, WrapUp: cfg.Queue.WrapUp})
	if err != nil {
		return err
	}
	return r.Write(os.Stdout, *format)
}

func runStaffing(args []string) error {
	fs := flag.NewFlagSet("staffing", flag.ContinueOnError)
	calls := fs.Float64("calls", 0, "calls arriving in the interval")
	interval := fs.Duration("interval", report.HalfHour, "the interval the calls arrive in")
	aht := fs.Duration("aht", report.DefaultAHT, "handle time per call (talk and wrap-up)")
	target := fs.Float64("target", report.DefaultTarget, "service level target")
	within := fs.Duration("within", report.DefaultWithin, "answered within this wait")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return report.WriteStaffing(os.Stdout, report.Load{Calls: *calls, Interval: *interval, AHT: *aht}, *target, *within)
}

// minSlots is how many slots a scale must have for the bench to reuse an
// already seeded database instead of seeding again.
var minSlots = map[string]int64{"small": 10_000, "medium": 300_000, "liguria": 4_000_000}

func runBenchBooking(ctx context.Context, cfg config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("bench booking", flag.ContinueOnError)
	o := seedFlags(fs)
	clients := fs.Int("clients", 64, "concurrent booking clients")
	duration := fs.Duration("duration", 20*time.Second, "how long clients book, and pgbench runs")
	lookups := fs.Int("lookups", 2000, "first-availability lookups timed")
	dbName := fs.String("db", "centralino_bench", "scratch database (created when absent)")
	fs.Lookup("scale").DefValue, o.Scale = "liguria", "liguria"
	if err := fs.Parse(args); err != nil {
		return err
	}
	url, err := postgres.EnsureDatabase(ctx, cfg.Database.URL, *dbName)
	if err != nil {
		return err
	}
	db, err := postgres.Open(ctx, url, int32(*clients+8))
	if err != nil {
		return err
	}
	defer db.Close()
	if err := postgres.Migrate(ctx, db, log); err != nil {
		return err
	}
	var slots, unused int64
	if err := db.QueryRow(ctx, `select (select count(*) from slots),
		(select count(*) from prescriptions p where not exists (select 1 from bookings b where b.prescription_nre = p.nre))`).Scan(&slots, &unused); err != nil {
		return err
	}
	needed := int64(*lookups + *clients*int(duration.Seconds())*200)
	if slots < minSlots[o.Scale] || unused < needed || o.Reset {
		fmt.Printf("seeding %s (%s scale)...\n", *dbName, o.Scale)
		o.Reset, o.Start = true, time.Now()
		if o.Prescriptions == 0 {
			o.Prescriptions = int(needed) * 2
		}
		rep, err := seed.Run(ctx, db, *o, log)
		if err != nil {
			return err
		}
		fmt.Printf("seeded %d slots, %d prescriptions in %s\n", rep.Slots, rep.Prescriptions, rep.Took.Round(time.Second))
	}
	// The service logs nothing per booking here: the figures are the
	// booking core's, not the logger's.
	svc := booking.NewService(db, booking.Options{HoldTTL: cfg.Booking.HoldTTL, Clock: clock.Wall(), Log: slog.New(slog.DiscardHandler)})
	res, err := bench.Run(ctx, db, svc, bench.Options{Lookups: *lookups, Clients: *clients, Duration: *duration, Log: log}, os.Stdout)
	if err != nil {
		return err
	}
	db.Close() // pgbench needs the connections
	pgbenchURL, err := postgres.EnsureDatabase(ctx, cfg.Database.URL, *dbName+"_pgbench")
	if err != nil {
		return err
	}
	if err := res.Pgbench(ctx, pgbenchURL, *clients, *duration, os.Stdout); err != nil {
		return err
	}
	return res.Print(os.Stdout)
}

func runBenchIVR(ctx context.Context, cfg config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("bench ivr", flag.ContinueOnError)
	prepare := fs.Bool("prepare", false, "seed the bench database and render its service and site names, then stop (the sandbox loads them at its next start or reload)")
	dbName := fs.String("db", "centralino_bench_ivr", "scratch database (created when absent)")
	out := fs.String("out", "deploy/sounds/generated/it/centralino", "directory of the rendered prompts")
	studio := fs.String("studio", "deploy/sounds/studio", "studio recordings that replace generated prompts")
	if err := fs.Parse(args); err != nil {
		return err
	}
	url, err := postgres.EnsureDatabase(ctx, cfg.Database.URL, *dbName)
	if err != nil {
		return err
	}
	db, err := postgres.Open(ctx, url, 8)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := postgres.Migrate(ctx, db, log); err != nil {
		return err
	}
	if *prepare {
		return ivrbench.Prepare(ctx, db, *out, *studio, log)
	}
	ari := asterisk.Config{URL: cfg.ARI.URL, WebsocketURL: cfg.ARI.WebsocketURL, User: cfg.ARI.User,
		Password: cfg.ARI.Password, RequestTimeout: cfg.ARI.RequestTimeout}
	_, err = ivrbench.Run(ctx, db, ari, log.With("bench", "ivr"), os.Stdout)
	return err
}

func runBenchQueue(ctx context.Context, cfg config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("bench queue", flag.ContinueOnError)
	o := queuebench.Options{}
	fs.IntVar(&o.Calls, "calls", 200, "callers per run")
	fs.IntVar(&o.Agents, "agents", 30, "simulated agents (ring 1 s, talk 2 s)")
	fs.Float64Var(&o.Rate, "rate", 5, "callers entering per second")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.Calls < 2 || o.Agents < 1 || o.Rate <= 0 {
		return errors.New("calls ≥ 2, agents ≥ 1 and a positive rate are required")
	}
	ropts, err := redis.ParseURL(cfg.Redis.URL)
	if err != nil {
		return fmt.Errorf("redis.url: %w", err)
	}
	rdb := redis.NewClient(ropts)
	defer rdb.Close()
	db, err := postgres.Open(ctx, cfg.Database.URL, 2)
	if err != nil {
		return err
	}
	defer db.Close()
	ari := asterisk.Config{URL: cfg.ARI.URL, WebsocketURL: cfg.ARI.WebsocketURL, User: cfg.ARI.User,
		Password: cfg.ARI.Password, RequestTimeout: cfg.ARI.RequestTimeout}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	_, err = queuebench.Run(ctx, ari, rdb, recall.NewService(db, clock.Wall(), log), o, log.With("bench", "queue"), os.Stdout)
	return err
}

func runBenchSMS(ctx context.Context, cfg config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("bench sms", flag.ContinueOnError)
	o := smsbench.Options{}
	fs.IntVar(&o.Messages, "messages", 100_000, "reminders due in the same minute")
	fs.IntVar(&o.Senders, "senders", 3, "sender instances")
	dbName := fs.String("db", "centralino_bench_sms", "scratch database (created when absent; its outbox is emptied)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.Messages < 1 || o.Senders < 1 {
		return errors.New("messages and senders must be positive")
	}
	url, err := postgres.EnsureDatabase(ctx, cfg.Database.URL, *dbName)
	if err != nil {
		return err
	}
	db, err := postgres.Open(ctx, url, int32(o.Senders*2+4))
	if err != nil {
		return err
	}
	defer db.Close()
	if err := postgres.Migrate(ctx, db, log); err != nil {
		return err
	}
	// The senders log every retry; the figure is what matters here.
	quiet := slog.New(slog.DiscardHandler)
	_, err = smsbench.Run(ctx, db, o, quiet, os.Stdout)
	return err
}

func runBenchRecall(ctx context.Context, cfg config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("bench recall", flag.ContinueOnError)
	so := recallbench.SchedulerOptions{}
	oo := recallbench.OpeningOptions{}
	fs.IntVar(&so.Recalls, "recalls", 100_000, "recalls due at once (scheduler part)")
	fs.IntVar(&so.Instances, "instances", 3, "dialler instances; the first is killed midway (its work left held, as a crash leaves it)")
	fs.IntVar(&oo.Recalls, "opening", 200, "out-of-hours recalls due at the opening (0: skip the opening part)")
	fs.IntVar(&oo.Agents, "agents", 10, "simulated agents at the opening")
	fs.DurationVar(&oo.Live, "live", 10*time.Second, "a live caller arrives this often during the opening")
	fs.DurationVar(&oo.Talk, "talk", 15*time.Second, "how long a citizen stays on the line once answered (greeting included)")
	dbName := fs.String("db", "centralino_bench_recall", "scratch database (created when absent; its recalls are replaced)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if so.Recalls < 1 || so.Instances < 2 || oo.Recalls < 0 || oo.Agents < 1 {
		return errors.New("recalls ≥ 1, instances ≥ 2, opening ≥ 0 and agents ≥ 1 are required")
	}
	url, err := postgres.EnsureDatabase(ctx, cfg.Database.URL, *dbName)
	if err != nil {
		return err
	}
	db, err := postgres.Open(ctx, url, int32(so.Instances*4+8))
	if err != nil {
		return err
	}
	defer db.Close()
	if err := postgres.Migrate(ctx, db, log); err != nil {
		return err
	}
	quiet := slog.New(slog.DiscardHandler) // the figures, not the logs
	var res recallbench.Result
	if err := recallbench.Scheduler(ctx, db, so, quiet, os.Stdout, &res); err != nil {
		return err
	}
	if oo.Recalls > 0 {
		ropts, err := redis.ParseURL(cfg.Redis.URL)
		if err != nil {
			return fmt.Errorf("redis.url: %w", err)
		}
		rdb := redis.NewClient(ropts)
		defer rdb.Close()
		ari := asterisk.Config{URL: cfg.ARI.URL, WebsocketURL: cfg.ARI.WebsocketURL, User: cfg.ARI.User,
			Password: cfg.ARI.Password, RequestTimeout: cfg.ARI.RequestTimeout}
		if err := recallbench.Opening(ctx, db, rdb, ari, oo, quiet, os.Stdout, &res); err != nil {
			return err
		}
	}
	line, err := json.Marshal(res)
	if err != nil {
		return err
	}
	fmt.Println(string(line))
	return nil
}

// runCredential makes a credential: a new secret, shown once (or one read
// from stdin), and its line for the credentials file, printed or appended
// to -file.
func runCredential(args []string) error {
	fs := flag.NewFlagSet("credential", flag.ContinueOnError)
	file := fs.String("file", "", "credentials file to append the line to (created 0600 when absent); empty: print it")
	fromStdin := fs.Bool("secret-stdin", false, "read the secret (a password for the pages) from stdin instead of making one")
	if err := fs.Parse(args); err != nil {
		return err
	}
	a := fs.Args()
	if len(a) < 2 || len(a) > 3 {
		return errors.New("credential ROLE NAME [ATTRIBUTE]: agent NAME PHONE, channel NAME web|counter|pharmacy, manager NAME, metrics NAME")
	}
	p := auth.Principal{Role: auth.Role(a[0]), Name: a[1]}
	if len(a) == 3 {
		p.Attr = a[2]
	}
	secret := auth.NewSecret()
	if *fromStdin {
		b, err := io.ReadAll(io.LimitReader(os.Stdin, 1024))
		if err != nil {
			return err
		}
		secret = strings.TrimSpace(string(b))
	}
	hash, err := auth.Hash(secret)
	if err != nil {
		return err
	}
	line := auth.Line(p, hash)
	// The line must read back as a credential (role, name, attribute).
	if _, err := auth.Parse(strings.NewReader(line), "the new credential"); err != nil {
		return err
	}
	if *file == "" {
		fmt.Println(line)
	} else {
		f, err := os.OpenFile(*file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintln(f, line); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	if !*fromStdin {
		fmt.Fprintf(os.Stderr, "secret of %s (shown once; the file keeps only its hash): %s\n", p.Name, secret)
	}
	return nil
}

// runStandin serves the Twilio stand-in for the demo and manual checks.
func runStandin(ctx context.Context, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("twilio-standin", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8089", "address to serve Twilio's Messages API on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	sid, token := os.Getenv("TWILIO_ACCOUNT_SID"), os.Getenv("TWILIO_AUTH_TOKEN")
	if sid == "" || token == "" {
		return errors.New("set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (any values; the daemon uses the same)")
	}
	srv := &http.Server{Addr: *listen, Handler: twiliostandin.New(sid, token), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	log.Info("twilio stand-in listening", "listen", *listen)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
