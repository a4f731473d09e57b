package pages

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/centralino-cup/centralino/booking"
	"github.com/centralino-cup/centralino/clock"
	"github.com/centralino-cup/centralino/queue"
	"github.com/centralino-cup/centralino/recall"
	"github.com/centralino-cup/centralino/report"
	"github.com/centralino-cup/centralino/startstop"
)

// Live is the queue's shared state, read by every instance alike
// (*queue.Store).
type Live interface {
	Agents(ctx context.Context) ([]queue.Agent, error)
	Agent(ctx context.Context, id string) (queue.Agent, error)
	Call(ctx context.Context, callID string) (queue.CallInfo, error)
	Waiting(ctx context.Context, queue string) ([]string, error)
	FirstEntered(ctx context.Context, ids []string) (time.Time, bool, error)
}

// Links are the instances' ARI links, each instance reporting its own
// (*queue.Store).
type Links interface {
	ReportARI(ctx context.Context, instance string, up bool, now time.Time) error
	ARILinks(ctx context.Context, now time.Time) (map[string]bool, error)
}

// Lookups read what a caller keyed, for the agent (*booking.Service).
type Lookups interface {
	LookupPrescription(ctx context.Context, nre string) (booking.Prescribed, error)
	Lookup(ctx context.Context, number string) (booking.Booking, error)
}

// Recalls lists the open recalls (*recall.Service).
type Recalls interface {
	List(ctx context.Context) ([]recall.Open, error)
}

// Figures are the day's figures at now (report.Today on the database).
type Figures func(ctx context.Context, now time.Time) (report.Live, error)

// ARI tells whether this instance's ARI websocket is up
// (*asterisk.Client).
type ARI interface {
	Connected() bool
}

// Deps are what the pages read.
type Deps struct {
	Live    Live
	Links   Links
	Lookups Lookups
	Recalls Recalls
	Figures Figures
	ARI     ARI
}

// Config tunes the pages.
type Config struct {
	// Instance names this instance (its ARI link on the wallboard).
	Instance string
	// Queues are the queues shown and offered at an agent's login.
	Queues []string
	// Every is how often the shared state is read while a page is open
	// (default 250 ms); SlowEvery how often the figures, the recalls and
	// the ARI links are (default 5 s).
	Every, SlowEvery time.Duration
	Clock            clock.Clock
	Log              *slog.Logger
}

// reportEvery is how often this instance reports its ARI link; a report
// older than the queue's staleness drops the instance.
const reportEvery = 2 * time.Second

// hub reads the shared state while a page is open and hands each page
// its view when the view changed.
type hub struct {
	cfg  Config
	deps Deps
	now  clock.Clock
	log  *slog.Logger
	loop startstop.Loop
	wake chan struct{}

	// Owned by the hub's goroutine.
	screens  map[string]cachedScreen
	slowAt   time.Time
	reported time.Time
	failing  bool

	mu    sync.Mutex
	subs  map[*sub]struct{}
	cur   *state
	fresh time.Time // when the state was last read whole
}

type cachedScreen struct {
	screen
	at time.Time
}

// sub is one open page: the wallboard (agent "") or an agent's desk. ch
// holds the latest view not yet sent.
type sub struct {
	agent string
	ch    chan []byte
	last  []byte
}

func newHub(cfg Config, deps Deps) *hub {
	if cfg.Every == 0 {
		cfg.Every = 250 * time.Millisecond
	}
	if cfg.SlowEvery == 0 {
		cfg.SlowEvery = 5 * time.Second
	}
	return &hub{cfg: cfg, deps: deps, now: clock.Must(cfg.Clock, "pages"), log: cfg.Log, wake: make(chan struct{}, 1),
		screens: map[string]cachedScreen{}, subs: map[*sub]struct{}{}}
}

func (h *hub) start(ctx context.Context) error {
	if _, err := h.loop.Begin(ctx); err != nil {
		return fmt.Errorf("pages: %w", err)
	}
	h.loop.Go(h.run)
	return nil
}

func (h *hub) stop() { h.loop.Stop() }

func (h *hub) run(ctx context.Context) error {
	t := time.NewTicker(h.cfg.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-h.wake:
		}
		now := h.now()
		if now.Sub(h.reported) >= reportEvery && h.deps.Links != nil && h.deps.ARI != nil {
			if err := h.deps.Links.ReportARI(ctx, h.cfg.Instance, h.deps.ARI.Connected(), now); err == nil {
				h.reported = now
			}
		}
		if h.watched() {
			h.refresh(ctx, now)
		}
	}
}

func (h *hub) watched() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs) > 0
}

// subscribe opens a page's stream: it gets the current view at once, if
// there is one, and a fresh read follows.
func (h *hub) subscribe(agent string) *sub {
	s := &sub{agent: agent, ch: make(chan []byte, 1)}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	if h.cur != nil {
		h.send(s, h.view(h.cur, agent, map[string][]byte{}))
	}
	h.mu.Unlock()
	select {
	case h.wake <- struct{}{}:
	default:
	}
	return s
}

func (h *hub) unsubscribe(s *sub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, s)
}

// freshness is the time now and when the state was last read whole.
func (h *hub) freshness() (now, fresh time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now(), h.fresh
}

// refresh reads the state and sends every page whose view changed.
func (h *hub) refresh(ctx context.Context, now time.Time) {
	prev := h.current()
	st, err := h.read(ctx, now, prev)
	if err != nil {
		if !h.failing {
			h.log.Error("reading the live state for the pages", "err", err)
		}
		h.failing = true
		return
	}
	if h.failing {
		h.log.Info("the pages read the live state again")
		h.failing = false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cur, h.fresh = st, now
	views := map[string][]byte{}
	for s := range h.subs {
		h.send(s, h.view(st, s.agent, views))
	}
}

func (h *hub) current() *state {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cur
}

// view is the JSON of a page's view, built once per pass for each agent
// (and once for the wallboard).
func (h *hub) view(st *state, agent string, built map[string][]byte) []byte {
	key := "desk:" + agent
	if agent == "" {
		key = "board"
	}
	if b, ok := built[key]; ok {
		return b
	}
	var v any = st.board()
	if agent != "" {
		v = st.desk(agent)
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("pages: encoding a view: %v", err)) // the views are plain data
	}
	built[key] = b
	return b
}

// send hands s its view if it changed, replacing one not yet sent (the
// page wants the latest, not every one). Called with h.mu held.
func (h *hub) send(s *sub, b []byte) {
	if string(b) == string(s.last) {
		return
	}
	s.last = b
	select {
	case <-s.ch:
	default:
	}
	s.ch <- b
}

// read reads the state: the agents, their callers and the queues every
// time; the figures, the recalls and the ARI links when due (keeping the
// previous ones when they fail).
func (h *hub) read(ctx context.Context, now time.Time, prev *state) (*state, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	st := &state{calls: map[string]queue.CallInfo{}, screens: map[string]screen{}}
	var err error
	if st.agents, err = h.deps.Live.Agents(ctx); err != nil {
		return nil, err
	}
	for _, a := range st.agents {
		if a.CallID == "" || (a.State != queue.Ringing && a.State != queue.Busy) {
			continue
		}
		c, err := h.deps.Live.Call(ctx, a.CallID)
		if errors.Is(err, queue.ErrNotWaiting) {
			continue // gone meanwhile
		}
		if err != nil {
			return nil, err
		}
		st.calls[a.CallID] = c
	}
	for _, q := range h.cfg.Queues {
		ids, err := h.deps.Live.Waiting(ctx, q)
		if err != nil {
			return nil, err
		}
		qs := queueState{name: q}
		for _, id := range ids {
			if !strings.HasPrefix(id, "recall:") {
				qs.waiting++ // a caller on the line; recalls are counted apart
			}
		}
		if first, ok, err := h.deps.Live.FirstEntered(ctx, ids); err != nil {
			return nil, err
		} else if ok {
			qs.first = first
		}
		st.queues = append(st.queues, qs)
	}
	h.lookUp(ctx, st, now)
	if prev != nil {
		st.recalls, st.today, st.ari = prev.recalls, prev.today, prev.ari
	}
	if prev == nil || now.Sub(h.slowAt) >= h.cfg.SlowEvery {
		h.slowAt = now
		h.readSlow(ctx, st, now)
	}
	return st, nil
}

// readSlow reads the figures of the day, the open recalls and the ARI
// links; what fails keeps its previous value, and is logged.
func (h *hub) readSlow(ctx context.Context, st *state, now time.Time) {
	if h.deps.Figures != nil {
		if live, err := h.deps.Figures(ctx, now); err != nil {
			h.log.Error("reading the day's figures for the wallboard", "err", err)
		} else {
			st.today = &live
		}
	}
	if h.deps.Recalls != nil {
		if open, err := h.deps.Recalls.List(ctx); err != nil {
			h.log.Error("listing the recalls for the pages", "err", err)
		} else {
			st.recalls = open
		}
	}
	if h.deps.Links != nil {
		if links, err := h.deps.Links.ARILinks(ctx, now); err != nil {
			h.log.Error("reading the instances' ARI links", "err", err)
		} else {
			st.ari = links
		}
	}
}

// lookUp fills the screen-pop of each caller in front of an agent: the
// prescription or booking it keyed, read again after SlowEvery (an agent
// may have just booked it).
func (h *hub) lookUp(ctx context.Context, st *state, now time.Time) {
	for id, c := range st.calls {
		if cs, ok := h.screens[id]; ok && now.Sub(cs.at) < h.cfg.SlowEvery {
			st.screens[id] = cs.screen
			continue
		}
		s, cache := h.lookUpOne(ctx, c)
		st.screens[id] = s
		if cache {
			h.screens[id] = cachedScreen{screen: s, at: now}
		}
	}
	for id := range h.screens {
		if _, ok := st.calls[id]; !ok {
			delete(h.screens, id)
		}
	}
}

// lookUpOne reads what c keyed; cache=false when the booking core
// failed (tried again next time).
func (h *hub) lookUpOne(ctx context.Context, c queue.CallInfo) (screen, bool) {
	var s screen
	var err error
	switch {
	case h.deps.Lookups == nil:
		return s, true
	case c.Keyed["nre"] != "":
		var p booking.Prescribed
		if p, err = h.deps.Lookups.LookupPrescription(ctx, c.Keyed["nre"]); err == nil {
			s.prescription = &p
		}
	case c.Keyed["booking_number"] != "":
		var b booking.Booking
		if b, err = h.deps.Lookups.Lookup(ctx, c.Keyed["booking_number"]); err == nil {
			s.booking = &b
		}
	}
	switch {
	case err == nil:
		return s, true
	case errors.Is(err, booking.ErrPrescriptionNotFound), errors.Is(err, booking.ErrBookingNotFound), errors.Is(err, booking.ErrInvalidInput):
		s.lookup = "not_found"
		return s, true
	default:
		h.log.Error("looking up what a caller keyed", "call_id", c.CallID, "err", err)
		s.lookup = "unavailable"
		return s, false
	}
}
