package pages

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/centralino-cup/centralino/auth"
	"github.com/centralino-cup/centralino/queue"
)

//go:embed assets
var assets embed.FS

// Pages serves the agent desktop and the wallboard.
type Pages struct {
	hub   *hub
	guard *auth.Guard
	log   *slog.Logger
	tmpl  *template.Template
	files http.Handler

	closing   chan struct{}
	closeOnce sync.Once
}

// New builds the pages; Start runs the hub that feeds them.
func New(cfg Config, deps Deps, guard *auth.Guard) *Pages {
	cfg.Log = cfg.Log.With("component", "pages")
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err)
	}
	return &Pages{hub: newHub(cfg, deps), guard: guard, log: cfg.Log,
		tmpl:    template.Must(template.ParseFS(assets, "assets/*.html")),
		files:   http.StripPrefix("/assets/", http.FileServerFS(static)),
		closing: make(chan struct{})}
}

// Start runs the hub.
func (p *Pages) Start(ctx context.Context) error { return p.hub.start(ctx) }

// Stop ends the hub and waits for it.
func (p *Pages) Stop() { p.hub.stop() }

// Shutdown ends every open stream, so that the HTTP server's shutdown is
// not held by pages that would listen forever (http.Server's
// RegisterOnShutdown). The pages reconnect to the next instance.
func (p *Pages) Shutdown() { p.closeOnce.Do(func() { close(p.closing) }) }

// Routes adds the pages' routes to mux. The login page and the static
// assets are public (they hold no data); the pages need a session of
// their role; the streams and the reveal are for their role only.
func (p *Pages) Routes(mux *http.ServeMux) {
	mux.Handle("GET /assets/", p.assetsHandler())
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		p.render(w, http.StatusOK, "login.html", nil)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		who, ok := p.guard.Who(r)
		switch {
		case ok && who.Role == auth.RoleAgent:
			http.Redirect(w, r, "/desk", http.StatusSeeOther)
		case ok && who.Role == auth.RoleManager:
			http.Redirect(w, r, "/wallboard", http.StatusSeeOther)
		default:
			http.Redirect(w, r, "/login", http.StatusSeeOther)
		}
	})
	mux.Handle("GET /desk", p.page("desk.html", auth.RoleAgent))
	mux.Handle("GET /wallboard", p.page("wallboard.html", auth.RoleManager))
	mux.Handle("GET /desk/events", p.guard.Need(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who, _ := auth.From(r.Context())
		p.stream(w, r, who.Name)
	}), auth.RoleAgent))
	mux.Handle("GET /wallboard/events", p.guard.Need(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.stream(w, r, "")
	}), auth.RoleManager))
	mux.Handle("POST /desk/reveal", p.guard.Need(http.HandlerFunc(p.reveal), auth.RoleAgent))
}

// securityHeaders keep the pages to their own assets: no inline script,
// nothing from elsewhere, never framed.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

func (p *Pages) assetsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w.Header())
		// Revalidated each time: a new binary's assets show at once.
		w.Header().Set("Cache-Control", "no-cache")
		p.files.ServeHTTP(w, r)
	})
}

// pageData is what a page's template shows.
type pageData struct {
	Name   string
	Role   string
	Queues string
	// Need is the role the page is for, on the refusal page.
	Need string
}

// roleNames are the roles as the pages say them.
var roleNames = map[auth.Role]string{auth.RoleAgent: "operatore", auth.RoleManager: "responsabile",
	auth.RoleChannel: "canale di prenotazione", auth.RoleMetrics: "raccolta metriche"}

// page serves a page to its role: without a session the browser goes to
// the login page (and back here after), with another role it is refused.
func (p *Pages) page(name string, role auth.Role) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who, ok := p.guard.Who(r)
		if !ok {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.Path), http.StatusSeeOther)
			return
		}
		if who.Role != role {
			p.render(w, http.StatusForbidden, "forbidden.html", pageData{Name: who.Name, Role: roleNames[who.Role], Need: roleNames[role]})
			return
		}
		p.render(w, http.StatusOK, name, pageData{Name: who.Name, Role: roleNames[who.Role], Queues: strings.Join(p.hub.cfg.Queues, ",")})
	})
}

func (p *Pages) render(w http.ResponseWriter, status int, name string, data any) {
	securityHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := p.tmpl.ExecuteTemplate(w, name, data); err != nil {
		p.log.Error("rendering a page", "page", name, "err", err)
	}
}

// pingEvery is how often a stream says it is alive, with the time and
// when the state was last read: the page marks itself stale when pings
// stop or the state is old.
const pingEvery = 2 * time.Second

// stream is a page's server-sent events: "state" with the page's view
// each time it changes, "ping" every pingEvery.
func (p *Pages) stream(w http.ResponseWriter, r *http.Request, agent string) {
	rc := http.NewResponseController(w)
	// A stream outlives the server's read and write timeouts, which
	// bound ordinary requests.
	if err := rc.SetWriteDeadline(time.Time{}); err != nil {
		p.log.Error("opening a page's stream", "err", err)
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	s := p.hub.subscribe(agent)
	defer p.hub.unsubscribe(s)
	// A page whose stream drops tries again after 2 s.
	if _, err := fmt.Fprint(w, "retry: 2000\n\n"); err != nil {
		return
	}
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	for first := true; ; first = false {
		var err error
		if first {
			err = p.ping(w)
		} else {
			select {
			case <-r.Context().Done():
				return
			case <-p.closing:
				return
			case b := <-s.ch:
				_, err = fmt.Fprintf(w, "event: state\ndata: %s\n\n", b)
			case <-ping.C:
				err = p.ping(w)
			}
		}
		if err == nil {
			err = rc.Flush()
		}
		if err != nil {
			return // the page went away
		}
	}
}

func (p *Pages) ping(w http.ResponseWriter) error {
	now, fresh := p.hub.freshness()
	b, _ := json.Marshal(struct {
		Now   time.Time `json:"now"`
		Fresh time.Time `json:"fresh,omitzero"`
	}{now.UTC(), fresh.UTC()})
	_, err := fmt.Fprintf(w, "event: ping\ndata: %s\n\n", b)
	return err
}

// reveal answers the caller's number in clear to the agent the caller is
// in front of, and logs that it did (who, which call; the number is never
// logged). A recall's number stays masked: the agent does not dial it.
func (p *Pages) reveal(w http.ResponseWriter, r *http.Request) {
	who, _ := auth.From(r.Context())
	var body struct {
		CallID string `json:"call_id"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1024))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.CallID == "" {
		auth.WriteError(w, http.StatusBadRequest, "invalid_input", "a JSON body with call_id is required")
		return
	}
	ctx := r.Context()
	a, err := p.agent(ctx, who.Name)
	if err != nil {
		p.log.Error("revealing a caller's number", "agent", who.Name, "err", err)
		auth.WriteError(w, http.StatusInternalServerError, "internal", "internal error")
		return
	}
	if a.CallID != body.CallID || (a.State != queue.Ringing && a.State != queue.Busy) {
		auth.WriteError(w, http.StatusForbidden, "not_your_call", "the call is not in front of this agent")
		return
	}
	c, err := p.hub.deps.Live.Call(ctx, body.CallID)
	if errors.Is(err, queue.ErrNotWaiting) {
		auth.WriteError(w, http.StatusForbidden, "not_your_call", "the call is over")
		return
	}
	if err != nil {
		p.log.Error("revealing a caller's number", "agent", who.Name, "err", err)
		auth.WriteError(w, http.StatusInternalServerError, "internal", "internal error")
		return
	}
	if c.Recall {
		auth.WriteError(w, http.StatusForbidden, "recall_masked", "a recall's number stays masked")
		return
	}
	p.log.Info("caller's number revealed", "agent", who.Name, "call_id", c.CallID, "queue", c.Queue)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]string{"caller": c.Caller})
}

// agent reads one agent from the shared state (logged out when unknown).
func (p *Pages) agent(ctx context.Context, name string) (queue.Agent, error) {
	a, err := p.hub.deps.Live.Agent(ctx, name)
	if errors.Is(err, queue.ErrUnknownAgent) {
		return queue.Agent{ID: name, State: queue.LoggedOut}, nil
	}
	return a, err
}
