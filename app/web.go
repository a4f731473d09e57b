package app

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/centralino-cup/centralino/asterisk"
	"github.com/centralino-cup/centralino/auth"
	"github.com/centralino-cup/centralino/booking"
	"github.com/centralino-cup/centralino/clock"
	"github.com/centralino-cup/centralino/config"
	"github.com/centralino-cup/centralino/pages"
	"github.com/centralino-cup/centralino/queue"
	"github.com/centralino-cup/centralino/recall"
	"github.com/centralino-cup/centralino/sms"
)

// web gathers the daemon's HTTP routes and who may use each (SPEC §10):
// every route but /healthz, /login and Twilio's webhooks (signed) needs a
// credential, whose role decides.
type web struct {
	cfg      config.Config
	db       *pgxpool.Pool
	reg      *prometheus.Registry
	bookings *booking.Service
	guard    *auth.Guard
	log      *slog.Logger
	routes   []func(*http.ServeMux)
	// onShutdown runs as the HTTP server starts shutting down (the pages
	// end their streams).
	onShutdown []func()
}

// newWeb loads the credentials and builds the guard.
func newWeb(cfg config.Config, db *pgxpool.Pool, reg *prometheus.Registry, bookings *booking.Service, now clock.Clock,
	log *slog.Logger) (*web, error) {
	creds, err := credentials(cfg.Auth.CredentialsFile)
	if err != nil {
		return nil, err
	}
	if cfg.Auth.CredentialsFile == "" {
		log.Warn("no credentials file (auth.credentials_file, CENTRALINO_CREDENTIALS_FILE): every route but /healthz answers 401; issue credentials with centralinoctl credential")
	}
	var key []byte
	if cfg.Auth.SessionKey != "" {
		if key, err = base64.StdEncoding.DecodeString(cfg.Auth.SessionKey); err != nil {
			return nil, errors.New("CENTRALINO_SESSION_KEY is not base64")
		}
	}
	guard, err := auth.NewGuard(creds, key, now, log)
	if err != nil {
		return nil, fmt.Errorf("CENTRALINO_SESSION_KEY: %w", err)
	}
	for _, p := range creds.All(auth.RoleChannel) {
		if ch, err := booking.ParseChannel(p.Attr); err != nil || ch == booking.ChannelAgent || ch == booking.ChannelIVR {
			return nil, fmt.Errorf("credentials: channel %s books on %q: it must be web, counter or pharmacy", p.Name, p.Attr)
		}
	}
	return &web{cfg: cfg, db: db, reg: reg, bookings: bookings, guard: guard, log: log}, nil
}

// credentials loads the configured file; none configured lets nobody in.
func credentials(path string) (*auth.Credentials, error) {
	if path == "" {
		return auth.Parse(strings.NewReader(""), "no credentials")
	}
	return auth.Load(path)
}

// publicURL is where Twilio reaches path on this daemon (webhooks are
// signed over it).
func (w *web) publicURL(path string) string {
	return strings.TrimSuffix(w.cfg.SMS.PublicURL, "/") + path
}

// webhooks adds Twilio's status callbacks and inbound replies: signed,
// they need no credential.
func (w *web) webhooks(outbox *sms.Outbox, inbox *sms.Inbox, v sms.Verifier, now clock.Clock) {
	w.routes = append(w.routes, func(mux *http.ServeMux) {
		mux.Handle("POST /webhooks/twilio/status", outbox.StatusHandler(v, w.publicURL("/webhooks/twilio/status"), now, w.log))
		mux.Handle("POST /webhooks/twilio/inbound", inbox.Handler(v, w.publicURL("/webhooks/twilio/inbound")))
	})
}

// desk adds the agent desktop's API, for agents; an agent made ready is
// offered the next caller at once.
func (w *web) desk(agents *queue.Service, op *queue.Operator) {
	agentOf := func(r *http.Request) (string, bool) {
		p, ok := auth.From(r.Context())
		return p.Name, ok && p.Role == auth.RoleAgent
	}
	h := w.guard.Need(agents.Handler(agentOf, w.guard.Credentials().Phone, func(ctx context.Context, queues []string) {
		for _, q := range queues {
			op.Dispatch(ctx, q)
		}
	}), auth.RoleAgent)
	w.routes = append(w.routes, func(mux *http.ServeMux) {
		mux.Handle("/api/v1/agent", h)
		mux.Handle("/api/v1/agent/", h)
	})
}

// What the pages read, and who provides it.
var (
	_ pages.Live    = (*queue.Store)(nil)
	_ pages.Links   = (*queue.Store)(nil)
	_ pages.Lookups = (*booking.Service)(nil)
	_ pages.Recalls = (*recall.Service)(nil)
	_ pages.ARI     = (*asterisk.Client)(nil)
)

// pages adds the agent desktop and the wallboard, and their streams.
func (w *web) pages(p *pages.Pages) {
	w.routes = append(w.routes, p.Routes)
	w.onShutdown = append(w.onShutdown, p.Shutdown)
}

// recalls adds the recall API: agents list, managers list and change.
func (w *web) recalls(svc *recall.Service) {
	role := func(r *http.Request) (recall.Role, bool) {
		p, ok := auth.From(r.Context())
		if ok && p.Role == auth.RoleManager {
			return recall.RoleManager, true
		}
		return recall.RoleAgent, ok && p.Role == auth.RoleAgent
	}
	h := w.guard.Need(svc.Handler(role), auth.RoleAgent, auth.RoleManager)
	w.routes = append(w.routes, func(mux *http.ServeMux) {
		mux.Handle("/api/v1/recalls", h)
		mux.Handle("/api/v1/recalls/", h)
	})
}

// bookingClient is the booking API's view of who asks: the channel is the
// credential's.
func bookingClient(r *http.Request) (booking.Client, bool) {
	p, ok := auth.From(r.Context())
	if !ok {
		return booking.Client{}, false
	}
	switch p.Role {
	case auth.RoleAgent, auth.RoleManager:
		return booking.Client{Name: p.Name, Channel: booking.ChannelAgent, Staff: true}, true
	case auth.RoleChannel:
		return booking.Client{Name: p.Name, Channel: booking.Channel(p.Attr)}, true
	}
	return booking.Client{}, false
}

func (w *web) handler() (http.Handler, error) {
	mux := http.NewServeMux()
	g := w.guard
	mux.Handle("/api/v1/", g.Need(w.bookings.Handler(bookingClient), auth.RoleAgent, auth.RoleChannel, auth.RoleManager))
	for _, add := range w.routes {
		add(mux)
	}
	mux.Handle("GET /metrics", g.Need(promhttp.HandlerFor(w.reg, promhttp.HandlerOpts{Registry: w.reg}), auth.RoleMetrics, auth.RoleManager))
	mux.Handle("POST /login", g.Login())
	mux.Handle("POST /logout", g.Logout())
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, r *http.Request) {
		if err := w.db.Ping(r.Context()); err != nil {
			http.Error(rw, "database unreachable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(rw, "ok")
	})
	// State changes from another origin (a page elsewhere posting to this
	// one with the agent's cookie) are refused.
	return http.NewCrossOriginProtection().Handler(jsonErrors(logged(mux, w.log))), nil
}

// logged logs each refused or failed request by its route's pattern, never
// its path (booking numbers, NREs).
func logged(h http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &status{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(sw, r)
		if sw.code >= 400 {
			log.Info("http request refused", "method", r.Method, "route", r.Pattern, "status", sw.code)
		}
	})
}

type status struct {
	http.ResponseWriter
	code int
}

func (s *status) WriteHeader(code int)        { s.code = code; s.ResponseWriter.WriteHeader(code) }
func (s *status) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// jsonErrors answers an unknown route or method with the JSON error every
// route answers with, not the mux's plain text.
func jsonErrors(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&plainErrors{ResponseWriter: w}, r)
	})
}

// plainErrors turns a plain-text 404 or 405 into JSON.
type plainErrors struct {
	http.ResponseWriter
	swallow bool
}

func (p *plainErrors) WriteHeader(code int) {
	if (code == http.StatusNotFound || code == http.StatusMethodNotAllowed) &&
		strings.HasPrefix(p.Header().Get("Content-Type"), "text/plain") {
		p.swallow = true
		p.Header().Del("Content-Length")
		if code == http.StatusNotFound {
			auth.WriteError(p.ResponseWriter, code, "not_found", "no such route")
		} else {
			auth.WriteError(p.ResponseWriter, code, "method_not_allowed", "the route does not take this method")
		}
		return
	}
	p.ResponseWriter.WriteHeader(code)
}

func (p *plainErrors) Write(b []byte) (int, error) {
	if p.swallow {
		return len(b), nil
	}
	return p.ResponseWriter.Write(b)
}

func (p *plainErrors) Unwrap() http.ResponseWriter { return p.ResponseWriter }

// serverLimits bound each phase of a request and the size of its headers,
// so that a slow or idle client cannot hold the daemon's connections.
type serverLimits struct {
	readHeader, read, write, idle time.Duration
	maxHeaderBytes                int
}

// limits are the daemon's (the README's Security section).
var limits = serverLimits{readHeader: 5 * time.Second, read: 15 * time.Second, write: 30 * time.Second,
	idle: 2 * time.Minute, maxHeaderBytes: 16 << 10}

// httpPart serves the routes on listen within limits; a listener that
// fails is reported on the app's failure channel.
func httpPart(listen string, h http.Handler, lim serverLimits, log *slog.Logger, failed chan<- error, onShutdown ...func()) part {
	srv := &http.Server{Addr: listen, Handler: h, ReadHeaderTimeout: lim.readHeader, ReadTimeout: lim.read,
		WriteTimeout: lim.write, IdleTimeout: lim.idle, MaxHeaderBytes: lim.maxHeaderBytes}
	for _, f := range onShutdown {
		srv.RegisterOnShutdown(f)
	}
	return part{name: "http",
		start: func(ctx context.Context) error {
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return err
			}
			go func() {
				if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
					failed <- fmt.Errorf("http server: %w", err)
				}
			}()
			return nil
		},
		stop: func(ctx context.Context) {
			if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				log.Error("stopping the http server", "err", err)
			}
		}}
}
