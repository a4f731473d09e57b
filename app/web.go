package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/centralino-cup/centralino/booking"
	"github.com/centralino-cup/centralino/clock"
	"github.com/centralino-cup/centralino/config"
	"github.com/centralino-cup/centralino/queue"
	"github.com/centralino-cup/centralino/recall"
	"github.com/centralino-cup/centralino/sms"
)

// web gathers the daemon's HTTP routes: the booking API, the agent
// desktop's, Twilio's webhooks, /metrics and /healthz.
type web struct {
	cfg      config.Config
	db       *pgxpool.Pool
	reg      *prometheus.Registry
	bookings *booking.Service
	log      *slog.Logger
	routes   []func(*http.ServeMux)
	// role tells who a request is for the recall API (desk sets it).
	role func(*http.Request) (recall.Role, bool)
}

// recalls adds the recall API for agents and managers.
func (w *web) recalls(svc *recall.Service) {
	w.routes = append(w.routes, func(mux *http.ServeMux) {
		h := svc.Handler(w.role)
		mux.Handle("/api/v1/recalls", h)
		mux.Handle("/api/v1/recalls/", h)
	})
}

// publicURL is where Twilio reaches path on this daemon (webhooks are
// signed over it).
func (w *web) publicURL(path string) string {
	return strings.TrimSuffix(w.cfg.SMS.PublicURL, "/") + path
}

// webhooks adds Twilio's status callbacks and inbound replies.
func (w *web) webhooks(outbox *sms.Outbox, bookings *booking.Service, v sms.Verifier, now clock.Clock) {
	w.routes = append(w.routes, func(mux *http.ServeMux) {
		mux.Handle("POST /webhooks/twilio/status", outbox.StatusHandler(v, w.publicURL("/webhooks/twilio/status"), now, w.log))
		mux.Handle("POST /webhooks/twilio/inbound", outbox.InboundHandler(v, w.publicURL("/webhooks/twilio/inbound"), bookings, now, w.log))
	})
}

// desk adds the agent desktop's API; an agent made ready is offered the
// next caller at once.
func (w *web) desk(agents *queue.Service, op *queue.Operator) error {
	tokens, err := queue.ParseTokens(os.Getenv("CENTRALINO_AGENT_TOKENS"))
	if err != nil {
		return fmt.Errorf("CENTRALINO_AGENT_TOKENS: %w", err)
	}
	managers, err := queue.ParseTokens(os.Getenv("CENTRALINO_MANAGER_TOKENS"))
	if err != nil {
		return fmt.Errorf("CENTRALINO_MANAGER_TOKENS: %w", err)
	}
	w.role = func(r *http.Request) (recall.Role, bool) {
		if _, ok := managers.Who(r); ok {
			return recall.RoleManager, true
		}
		if _, ok := tokens.Who(r); ok {
			return recall.RoleAgent, true
		}
		return "", false
	}
	h := agents.Handler(tokens, func(ctx context.Context, queues []string) {
		for _, q := range queues {
			op.Dispatch(ctx, q)
		}
	})
	w.routes = append(w.routes, func(mux *http.ServeMux) {
		mux.Handle("/api/v1/agent", h)
		mux.Handle("/api/v1/agent/", h)
	})
	return nil
}

func (w *web) handler() (http.Handler, error) {
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", w.bookings.Handler())
	for _, add := range w.routes {
		add(mux)
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(w.reg, promhttp.HandlerOpts{Registry: w.reg}))
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, r *http.Request) {
		if err := w.db.Ping(r.Context()); err != nil {
			http.Error(rw, "database unreachable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(rw, "ok")
	})
	return mux, nil
}

// httpPart serves the routes on listen; a listener that fails is reported
// on the app's failure channel.
func httpPart(listen string, h http.Handler, log *slog.Logger, failed chan<- error) part {
	srv := &http.Server{Addr: listen, Handler: h, ReadHeaderTimeout: 5 * time.Second}
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
