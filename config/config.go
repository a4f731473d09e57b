package config

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/centralino-cup/centralino/hours"
	"github.com/centralino-cup/centralino/pii"
)

// Config is the whole configuration of the daemon and of centralinoctl.
type Config struct {
	HTTP     HTTP     `yaml:"http"`
	Database Database `yaml:"database"`
	Redis    Redis    `yaml:"redis"`
	ARI      ARI      `yaml:"ari"`
	Booking  Booking  `yaml:"booking"`
	IVR      IVR      `yaml:"ivr"`
	Queue    Queue    `yaml:"queue"`
	Recall   Recall   `yaml:"recall"`
	SMS      SMS      `yaml:"sms"`
	Auth     Auth     `yaml:"auth"`
	Log      Log      `yaml:"log"`
}

// Auth is who may do what (SPEC §10). The credentials live in their own
// file (one "role name bcrypt-hash [attribute]" a line, written by
// centralinoctl credential), never in this one.
type Auth struct {
	// CredentialsFile is the credentials' path (CENTRALINO_CREDENTIALS_FILE
	// overrides); empty: nobody is let in but /healthz and Twilio.
	CredentialsFile string `yaml:"credentials_file"`
	// SessionKey signs the pages' session cookies, base64, from
	// CENTRALINO_SESSION_KEY only; empty: a key per process (sessions end
	// with it and do not pass between instances).
	SessionKey string `yaml:"-"`
}

// SMS is the Twilio sender, reminders and webhooks (SPEC §6). The account
// SID and auth token come from the environment only (TWILIO_ACCOUNT_SID,
// TWILIO_AUTH_TOKEN); without them messages wait in the outbox.
type SMS struct {
	// BaseURL replaces Twilio's API host (a stand-in); empty: Twilio.
	BaseURL string `yaml:"base_url"`
	// From is the sender id or number.
	From string `yaml:"from"`
	// PublicURL is how Twilio reaches this daemon (webhooks are signed
	// over it).
	PublicURL string `yaml:"public_url"`
	// PerSecond limits messages sent per second per instance.
	PerSecond float64 `yaml:"per_second"`
	// ReminderDays before an appointment.
	ReminderDays int `yaml:"reminder_days"`
	// QuietFrom and QuietTo bound the allowed hours [from, to).
	AllowedFrom int `yaml:"allowed_from"`
	AllowedTo   int `yaml:"allowed_to"`
	// NumeroVerde is the toll-free number the texts give.
	NumeroVerde string `yaml:"numero_verde"`
	AccountSID  string `yaml:"-"`
	AuthToken   string `yaml:"-"`
}

// HTTP is the daemon's listener for APIs, webhooks, pages and /metrics.
type HTTP struct {
	Listen string `yaml:"listen"`
}

// Database is the PostgreSQL that holds the booking core, call records,
// recalls and the SMS outbox.
type Database struct {
	URL string `yaml:"url"`
	// MaxConns bounds the pool; 0 lets pgx choose (4 per core).
	MaxConns int32 `yaml:"max_conns"`
}

// Redis holds the shared agent queues.
type Redis struct {
	URL string `yaml:"url"`
}

// ARI is how centralino reaches Asterisk.
type ARI struct {
	URL            string        `yaml:"url"`
	WebsocketURL   string        `yaml:"websocket_url"`
	User           string        `yaml:"user"`
	Password       string        `yaml:"password"`
	Application    string        `yaml:"application"`
	RequestTimeout time.Duration `yaml:"request_timeout"`
}

// Booking tunes the booking core.
type Booking struct {
	// HoldTTL is how long an offered slot stays held while the citizen decides.
	HoldTTL time.Duration `yaml:"hold_ttl"`
	// NREPrefix is the regional part of the electronic prescription number
	// (NRE) that the caller does not key: 5 characters before 10 digits.
	NREPrefix string `yaml:"nre_prefix"`
}

// IVR tunes the numero verde's call flow (SPEC §3).
type IVR struct {
	// MenuTimeout is how long a menu waits for a key.
	MenuTimeout time.Duration `yaml:"menu_timeout"`
	// InterDigit is how long a code entry waits between keys.
	InterDigit time.Duration `yaml:"inter_digit"`
	// MaxTries failed tries send the caller to an operator (in hours) or
	// to the recall offer (out of hours).
	MaxTries int          `yaml:"max_tries"`
	Hours    hours.Config `yaml:"hours"`
	// OperatorContext is the dialplan context of the app_queue operator
	// queues (used with queue.backend: app_queue).
	OperatorContext string `yaml:"operator_context"`
	// QueueTimeout is the longest wait in that queue before the caller is
	// offered a recall.
	QueueTimeout time.Duration `yaml:"queue_timeout"`
}

// Queue is the agent queues (SPEC §4).
type Queue struct {
	// Backend is "redis" (centralino's own queue) or "app_queue"
	// (Asterisk's, through ivr.operator_context).
	Backend string `yaml:"backend"`
	// Instance names this controller among those sharing Redis (empty:
	// the host name).
	Instance string `yaml:"instance"`
	// Queues are the skills served ("booking", "cancellation").
	Queues        []string      `yaml:"queues"`
	AnnounceEvery time.Duration `yaml:"announce_every"`
	RecallAfter   time.Duration `yaml:"recall_after"`
	RingTimeout   time.Duration `yaml:"ring_timeout"`
	WrapUp        time.Duration `yaml:"wrap_up"`
	// ShortAbandon: a caller who hangs up within it, waiting, is a short
	// abandon, counted apart and out of the service level (SPEC §8).
	ShortAbandon time.Duration `yaml:"short_abandon"`
}

// Recall is the recall dialler (SPEC §5): agent first, then the citizen
// from the numero verde.
type Recall struct {
	// DialString reaches the citizen: {e164} (+39…) and {national} are
	// replaced. The sandbox's simulated citizens by default; production:
	// the carrier trunk, e.g. "PJSIP/{e164}@carrier".
	DialString string `yaml:"dial_string"`
	// CallerID is what the citizen sees: the numero verde.
	CallerID string `yaml:"caller_id"`
	// AnswerTimeout is how long the citizen's phone rings.
	AnswerTimeout time.Duration `yaml:"answer_timeout"`
	// Tries the citizen is called, RetryAfter apart, in service hours.
	Tries      int           `yaml:"tries"`
	RetryAfter time.Duration `yaml:"retry_after"`
	// ValidDays: a recall not served by the closing time of the
	// ValidDays-th service day after its request expires.
	ValidDays int `yaml:"valid_days"`
	// PrealertLead: a mobile gets "Il CUP la richiamerà a breve" when its
	// recall's estimated turn is this close (out-of-hours ones at opening).
	PrealertLead time.Duration `yaml:"prealert_lead"`
	// OutOfHoursShare is the share of the agents that out-of-hours recalls
	// take while callers wait (0: none until the callers are served).
	OutOfHoursShare float64 `yaml:"out_of_hours_share"`
	// Lease is how long a dial is its instance's before another takes it
	// back, should that instance die.
	Lease time.Duration `yaml:"lease"`
}

// Log selects the slog handler.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
}

// Default returns the configuration used when no file says otherwise: every
// service on this machine, with development-only credentials.
func Default() Config {
	return Config{
		HTTP:     HTTP{Listen: "127.0.0.1:8080"},
		Database: Database{URL: "postgres://centralino:centralino@127.0.0.1:5432/centralino?sslmode=disable"},
		Redis:    Redis{URL: "redis://127.0.0.1:6379/0"},
		ARI: ARI{
			URL:            "http://127.0.0.1:8088/ari",
			User:           "centralino",
			Password:       "centralino",
			Application:    "centralino",
			RequestTimeout: 5 * time.Second,
		},
		Booking: Booking{HoldTTL: 3 * time.Minute, NREPrefix: "070A4"},
		IVR: IVR{
			MenuTimeout: 6 * time.Second, InterDigit: 4 * time.Second, MaxTries: 3,
			Hours:           hours.Default(),
			OperatorContext: "cup-operator",
			QueueTimeout:    5 * time.Minute,
		},
		Queue: Queue{Backend: "redis", Queues: []string{"booking", "cancellation"}, AnnounceEvery: 45 * time.Second,
			RecallAfter: 2 * time.Minute, RingTimeout: 15 * time.Second, WrapUp: 10 * time.Second, ShortAbandon: 5 * time.Second},
		Recall: Recall{DialString: "Local/{national}@sim-citizens", CallerID: "800466222", AnswerTimeout: 30 * time.Second,
			Tries: 3, RetryAfter: 20 * time.Minute, ValidDays: 1, PrealertLead: 2 * time.Minute, OutOfHoursShare: 0.5,
			Lease: 2 * time.Minute},
		SMS: SMS{From: "CUP", PublicURL: "http://127.0.0.1:8080", PerSecond: 10, ReminderDays: 5,
			AllowedFrom: 9, AllowedTo: 20, NumeroVerde: "800466222"},
		Log: Log{Level: "info", Format: "text"},
	}
}

// Env names the environment variables that override the file: URLs,
// credentials and the log level, which differ per machine. Everything else
// belongs in the file.
var Env = map[string]func(*Config, string){
	"CENTRALINO_HTTP_LISTEN":      func(c *Config, v string) { c.HTTP.Listen = v },
	"CENTRALINO_DATABASE_URL":     func(c *Config, v string) { c.Database.URL = v },
	"CENTRALINO_REDIS_URL":        func(c *Config, v string) { c.Redis.URL = v },
	"CENTRALINO_ARI_URL":          func(c *Config, v string) { c.ARI.URL = v },
	"CENTRALINO_ARI_WS_URL":       func(c *Config, v string) { c.ARI.WebsocketURL = v },
	"CENTRALINO_ARI_USER":         func(c *Config, v string) { c.ARI.User = v },
	"CENTRALINO_ARI_PASSWORD":     func(c *Config, v string) { c.ARI.Password = v },
	"CENTRALINO_LOG_LEVEL":        func(c *Config, v string) { c.Log.Level = v },
	"CENTRALINO_INSTANCE":         func(c *Config, v string) { c.Queue.Instance = v },
	"CENTRALINO_SMS_BASE_URL":     func(c *Config, v string) { c.SMS.BaseURL = v },
	"TWILIO_ACCOUNT_SID":          func(c *Config, v string) { c.SMS.AccountSID = v },
	"TWILIO_AUTH_TOKEN":           func(c *Config, v string) { c.SMS.AuthToken = v },
	"CENTRALINO_CREDENTIALS_FILE": func(c *Config, v string) { c.Auth.CredentialsFile = v },
	"CENTRALINO_SESSION_KEY":      func(c *Config, v string) { c.Auth.SessionKey = v },
}

// Load reads the defaults, then the YAML file at path (when path is not
// empty), then the environment (getenv, os.Getenv when nil), and validates
// the result. Unknown keys in the file are an error: a typo must not
// silently fall back to a default.
func Load(path string, getenv func(string) string) (Config, error) {
	cfg := Default()
	if path != "" {
		f, err := os.Open(path)
		if err != nil {
			return Config{}, fmt.Errorf("reading config: %w", err)
		}
		defer f.Close()
		dec := yaml.NewDecoder(f)
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
			return Config{}, fmt.Errorf("parsing config %s: %w", path, err)
		}
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	for name, set := range Env {
		if v := getenv(name); v != "" {
			set(&cfg, v)
		}
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Validate reports every problem at once, so an operator fixes the file in
// one go.
func (c Config) Validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(c.HTTP.Listen != "", "http.listen is empty")
	check(validURL(c.Database.URL, "postgres", "postgresql"), "database.url %q is not a postgres:// URL", RedactURL(c.Database.URL))
	check(c.Database.MaxConns >= 0, "database.max_conns must not be negative")
	check(validURL(c.Redis.URL, "redis", "rediss"), "redis.url %q is not a redis:// URL", RedactURL(c.Redis.URL))
	check(validURL(c.ARI.URL, "http", "https"), "ari.url %q is not an http(s) URL", c.ARI.URL)
	check(c.ARI.WebsocketURL == "" || validURL(c.ARI.WebsocketURL, "ws", "wss"), "ari.websocket_url %q is not a ws(s) URL", c.ARI.WebsocketURL)
	check(c.ARI.User != "", "ari.user is empty")
	check(c.ARI.Application != "", "ari.application is empty")
	check(c.ARI.RequestTimeout > 0, "ari.request_timeout must be positive")
	check(c.Booking.HoldTTL >= 10*time.Second && c.Booking.HoldTTL <= time.Hour, "booking.hold_ttl %s must be between 10s and 1h", c.Booking.HoldTTL)
	check(len(c.Booking.NREPrefix) == 5, "booking.nre_prefix %q must be 5 characters", c.Booking.NREPrefix)
	check(c.IVR.MenuTimeout >= time.Second && c.IVR.MenuTimeout <= time.Minute, "ivr.menu_timeout %s must be between 1s and 1m", c.IVR.MenuTimeout)
	check(c.IVR.InterDigit >= time.Second && c.IVR.InterDigit <= time.Minute, "ivr.inter_digit %s must be between 1s and 1m", c.IVR.InterDigit)
	check(c.IVR.MaxTries >= 1 && c.IVR.MaxTries <= 10, "ivr.max_tries %d must be between 1 and 10", c.IVR.MaxTries)
	check(c.IVR.OperatorContext != "", "ivr.operator_context is empty")
	check(c.IVR.QueueTimeout >= 10*time.Second, "ivr.queue_timeout %s must be at least 10s", c.IVR.QueueTimeout)
	check(c.Queue.Backend == "redis" || c.Queue.Backend == "app_queue", "queue.backend %q must be redis or app_queue", c.Queue.Backend)
	check(len(c.Queue.Queues) > 0, "queue.queues is empty")
	check(c.Queue.AnnounceEvery >= 10*time.Second, "queue.announce_every %s must be at least 10s", c.Queue.AnnounceEvery)
	check(c.Queue.RecallAfter >= 10*time.Second, "queue.recall_after %s must be at least 10s", c.Queue.RecallAfter)
	check(c.Queue.RingTimeout >= 5*time.Second && c.Queue.RingTimeout <= time.Minute, "queue.ring_timeout %s must be between 5s and 1m", c.Queue.RingTimeout)
	check(c.Queue.WrapUp >= 0 && c.Queue.WrapUp <= 5*time.Minute, "queue.wrap_up %s must be between 0 and 5m", c.Queue.WrapUp)
	check(c.Queue.ShortAbandon > 0 && c.Queue.ShortAbandon <= time.Minute, "queue.short_abandon %s must be between 0 and 1m", c.Queue.ShortAbandon)
	check(strings.Contains(c.Recall.DialString, "{e164}") || strings.Contains(c.Recall.DialString, "{national}"),
		"recall.dial_string %q must contain {e164} or {national}", c.Recall.DialString)
	check(c.Recall.CallerID != "" && strings.Trim(c.Recall.CallerID, "+0123456789") == "", "recall.caller_id %q must be a number", c.Recall.CallerID)
	check(c.Recall.AnswerTimeout >= 10*time.Second && c.Recall.AnswerTimeout <= 2*time.Minute, "recall.answer_timeout %s must be between 10s and 2m", c.Recall.AnswerTimeout)
	check(c.Recall.Tries >= 1 && c.Recall.Tries <= 10, "recall.tries %d must be between 1 and 10", c.Recall.Tries)
	check(c.Recall.RetryAfter >= time.Minute, "recall.retry_after %s must be at least 1m", c.Recall.RetryAfter)
	check(c.Recall.ValidDays >= 1 && c.Recall.ValidDays <= 7, "recall.valid_days %d must be between 1 and 7", c.Recall.ValidDays)
	check(c.Recall.PrealertLead >= 0, "recall.prealert_lead must not be negative")
	check(c.Recall.OutOfHoursShare >= 0 && c.Recall.OutOfHoursShare <= 1, "recall.out_of_hours_share %g must be between 0 and 1", c.Recall.OutOfHoursShare)
	check(c.Recall.Lease >= c.Queue.RingTimeout+c.Recall.AnswerTimeout+10*time.Second,
		"recall.lease %s must outlast the agent's ring and the citizen's (%s)", c.Recall.Lease, c.Queue.RingTimeout+c.Recall.AnswerTimeout+10*time.Second)
	check(c.SMS.BaseURL == "" || validURL(c.SMS.BaseURL, "http", "https"), "sms.base_url %q is not an http(s) URL", c.SMS.BaseURL)
	check(validURL(c.SMS.PublicURL, "http", "https"), "sms.public_url %q is not an http(s) URL", c.SMS.PublicURL)
	check(c.SMS.From != "", "sms.from is empty")
	check(c.SMS.PerSecond > 0, "sms.per_second must be positive")
	check(c.SMS.ReminderDays >= 1 && c.SMS.ReminderDays <= 30, "sms.reminder_days %d must be between 1 and 30", c.SMS.ReminderDays)
	check(c.SMS.AllowedFrom >= 0 && c.SMS.AllowedFrom < c.SMS.AllowedTo && c.SMS.AllowedTo <= 24, "sms.allowed_from/allowed_to must be hours with from < to")
	check(c.SMS.NumeroVerde != "", "sms.numero_verde is empty")
	_, levelErr := ParseLevel(c.Log.Level)
	check(levelErr == nil, "log.level %q must be debug, info, warn or error", c.Log.Level)
	check(c.Log.Format == "text" || c.Log.Format == "json", "log.format %q must be text or json", c.Log.Format)
	errs = append(errs, c.exposure()...)
	if len(errs) > 0 {
		return fmt.Errorf("invalid configuration: %w", errors.Join(errs...))
	}
	return nil
}

// DevPassword is the development password of the shipped defaults (ARI,
// the database role): fine on one machine, refused off it.
const DevPassword = "centralino"

// exposure refuses what would expose the service: a development password
// while the daemon, or a peer it talks to, is reachable off this machine;
// ARI off this machine in clear; Twilio's webhooks signed over an address
// Twilio cannot reach or over plain HTTP. Settings are named, secrets not
// printed.
func (c Config) exposure() []error {
	var errs []error
	var dev []string
	if c.ARI.Password == DevPassword {
		dev = append(dev, "ari.password")
	}
	if u, err := url.Parse(c.Database.URL); err == nil {
		if p, ok := u.User.Password(); ok && p == DevPassword {
			dev = append(dev, "database.url's password")
		}
	}
	var exposed []string
	if !loopbackAddr(c.HTTP.Listen) {
		exposed = append(exposed, "http.listen")
	}
	for _, p := range []struct{ name, url string }{{"ari.url", c.ARI.URL}, {"database.url", c.Database.URL}, {"redis.url", c.Redis.URL}} {
		if !loopbackURL(p.url) {
			exposed = append(exposed, p.name)
		}
	}
	if len(dev) > 0 && len(exposed) > 0 {
		errs = append(errs, fmt.Errorf("the development password (%s) is in use while %s is off this machine: set real secrets from the environment",
			strings.Join(dev, ", "), strings.Join(exposed, ", ")))
	}
	if !loopbackURL(c.ARI.URL) {
		if u, err := url.Parse(c.ARI.URL); err == nil && u.Scheme != "https" {
			errs = append(errs, fmt.Errorf("ari.url is off this machine: it must be https (ARI's password and calls travel in it)"))
		}
		if ws := c.ARI.WebsocketURL; ws != "" && !strings.HasPrefix(ws, "wss://") {
			errs = append(errs, fmt.Errorf("ari.websocket_url is off this machine: it must be wss"))
		}
	}
	if c.SMS.AccountSID != "" && c.SMS.BaseURL == "" {
		// Real Twilio calls the webhooks at public_url, and signs over it.
		if loopbackURL(c.SMS.PublicURL) {
			errs = append(errs, fmt.Errorf("sms.public_url %q is this machine: Twilio cannot reach it, every webhook would fail its signature", c.SMS.PublicURL))
		} else if !strings.HasPrefix(c.SMS.PublicURL, "https://") {
			errs = append(errs, fmt.Errorf("sms.public_url must be https: Twilio's webhooks carry the citizens' replies"))
		}
	}
	return errs
}

// loopbackURL tells a URL whose host is this machine.
func loopbackURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && loopbackHost(u.Hostname())
}

// loopbackAddr tells a listen address on this machine only (":8080"
// listens everywhere).
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && loopbackHost(host)
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// ParseLevel maps the configured level name to a slog level.
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	err := l.UnmarshalText([]byte(s))
	return l, err
}

func validURL(raw string, schemes ...string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return false
	}
	for _, s := range schemes {
		if u.Scheme == s {
			return true
		}
	}
	return false
}

// redactURL hides a password in a URL so it can be printed in an error.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable)"
	}
	return u.Redacted()
}

// Logger builds the process's logger from the log section: text or JSON on
// w, with phone numbers and codici fiscali masked (pii.ReplaceAttr).
func (l Log) Logger(w io.Writer) *slog.Logger {
	level, err := ParseLevel(l.Level)
	if err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: pii.ReplaceAttr}
	if l.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
