package asterisk

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/CyCoreSystems/ari/v5/client/native"
	"github.com/CyCoreSystems/ari/v5/rid"
	"github.com/inconshreveable/log15"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"golang.org/x/net/websocket"
)

// Config is how to reach ARI.
type Config struct {
	URL          string // http://127.0.0.1:8088/ari
	WebsocketURL string // empty: derived from URL
	User         string
	Password     string
	// Application is the Stasis application this client serves.
	Application string
	// RequestTimeout bounds every ARI request to URL's host (see
	// boundRequests: the library has no timeout of its own).
	RequestTimeout time.Duration
	// SubscribeAll receives every channel's events (the call simulator,
	// which watches channels from their first event); only channels with a
	// Call or a Watch are routed.
	SubscribeAll bool
}

// Handler serves the calls of the application.
type Handler interface {
	// Handle owns a call that just entered Stasis, until it returns.
	Handle(ctx context.Context, c *Call)
	// Recover owns a call found in the application after a (re)connect
	// or a restart, whose history this process does not know.
	Recover(ctx context.Context, c *Call)
}

// Client keeps one ARI application connected and routes its events.
type Client struct {
	cfg     Config
	handler Handler
	log     *slog.Logger
	m       *metrics

	mu      sync.Mutex
	ari     ari.Client // nil while disconnected
	calls   map[string]*Call
	watches map[string]*mailbox
	callers map[string]*Watch // WatchCaller's, by caller number, until their channel is created
	up      chan struct{}     // closed at the first connection
	// found holds the channels a (re)connect found in the application
	// until the user event named marker comes back through the websocket:
	// those whose StasisStart arrives first entered after the connection
	// and are new calls, the rest are recovered (see recover).
	found  map[string]callData
	marker string

	stopOnce sync.Once
	cancel   context.CancelFunc
	done     chan struct{}
	wg       sync.WaitGroup // call goroutines
}

// libraryOnce sets the ari library's package-level logger once per
// process (its package-level RequestTimeout is never read in v5.3.1:
// boundRequests bounds the requests instead). The library is used for REST
// requests only: events come from this package's own websocket (see read).
var libraryOnce sync.Once

func setupLibrary(log *slog.Logger) {
	libraryOnce.Do(func() {
		native.Logger.SetHandler(log15.FuncHandler(func(r *log15.Record) error {
			log.Debug("ari library", "msg", r.Msg)
			return nil
		}))
	})
}

type metrics struct {
	connected   prometheus.Gauge
	reconnects  prometheus.Counter
	latency     *prometheus.HistogramVec
	events      prometheus.Counter
	dropped     prometheus.Counter
	undecodable prometheus.Counter
	active      prometheus.Gauge
	recovered   prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, app string) *metrics {
	f := promauto.With(reg)
	l := prometheus.Labels{"application": app}
	return &metrics{
		connected: f.NewGauge(prometheus.GaugeOpts{Name: "centralino_ari_connected", Help: "1 while the ARI websocket is connected.", ConstLabels: l}),
		reconnects: f.NewCounter(prometheus.CounterOpts{Name: "centralino_ari_reconnects_total",
			Help: "ARI connections made after the first.", ConstLabels: l}),
		latency: f.NewHistogramVec(prometheus.HistogramOpts{Name: "centralino_ari_request_duration_seconds",
			Help: "ARI request latency by operation.", ConstLabels: l,
			Buckets: []float64{.001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5}}, []string{"op"}),
		events: f.NewCounter(prometheus.CounterOpts{Name: "centralino_ari_events_total", Help: "ARI events received.", ConstLabels: l}),
		dropped: f.NewCounter(prometheus.CounterOpts{Name: "centralino_ari_events_dropped_total",
			Help: "ARI events dropped because a call's mailbox was over its cap.", ConstLabels: l}),
		undecodable: f.NewCounter(prometheus.CounterOpts{Name: "centralino_ari_events_undecodable_total",
			Help: "ARI events that could not be decoded (and were skipped).", ConstLabels: l}),
		active:    f.NewGauge(prometheus.GaugeOpts{Name: "centralino_ari_calls_active", Help: "Calls owned by this process.", ConstLabels: l}),
		recovered: f.NewCounter(prometheus.CounterOpts{Name: "centralino_ari_calls_recovered_total", Help: "Calls found after a (re)connect and recovered.", ConstLabels: l}),
	}
}

// New builds a client; Start connects it.
func New(cfg Config, h Handler, reg prometheus.Registerer, log *slog.Logger) *Client {
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 5 * time.Second
	}
	if cfg.WebsocketURL == "" {
		cfg.WebsocketURL = strings.Replace(strings.TrimSuffix(cfg.URL, "/"), "http", "ws", 1) + "/events"
	}
	log = log.With("component", "asterisk", "application", cfg.Application)
	setupLibrary(log)
	boundRequests(cfg.URL, cfg.RequestTimeout)
	return &Client{cfg: cfg, handler: h, log: log, m: newMetrics(reg, cfg.Application),
		calls: map[string]*Call{}, watches: map[string]*mailbox{}, callers: map[string]*Watch{}, up: make(chan struct{})}
}

// Start connects in the background, reconnecting forever with backoff
// (100 ms doubling, capped at 5 s), and returns once the first connection
// is up or ctx ends.
func (c *Client) Start(ctx context.Context) error {
	runCtx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.done = make(chan struct{})
	go c.run(runCtx)
	select {
	case <-c.up:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("connecting to asterisk: %w", ctx.Err())
	}
}

// Stop disconnects and waits for the event loop; calls in progress see
// their context cancelled. It is safe to call more than once.
func (c *Client) Stop() {
	c.stopOnce.Do(func() {
		if c.cancel != nil {
			c.cancel()
			<-c.done
		}
		c.mu.Lock()
		for _, call := range c.calls {
			call.end(ErrStopped)
		}
		c.mu.Unlock()
		c.wg.Wait()
	})
}

// Drain waits until no call is owned by this client or ctx ends, and
// returns how many calls are still owned.
func (c *Client) Drain(ctx context.Context) int {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		c.mu.Lock()
		n := 0
		for _, call := range c.calls {
			if !call.outbound {
				n++
			}
		}
		c.mu.Unlock()
		if n == 0 {
			return 0
		}
		select {
		case <-ctx.Done():
			return n
		case <-t.C:
		}
	}
}

// Application is the Stasis application this client serves.
func (c *Client) Application() string { return c.cfg.Application }

// Connected reports whether the websocket is up.
func (c *Client) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ari != nil
}

// WaitConnected waits until the client is connected (after a reconnect).
func (c *Client) WaitConnected(ctx context.Context) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for !c.Connected() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

func (c *Client) current() (ari.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ari == nil {
		return nil, ErrNotConnected
	}
	return c.ari, nil
}

// GlobalVar reads a dialplan global variable; unset reads as "".
func (c *Client) GlobalVar(ctx context.Context, name string) (string, error) {
	cl, err := c.current()
	if err != nil {
		return "", err
	}
	start := time.Now()
	v, err := cl.Asterisk().Variables().Get(ari.NewKey(ari.VariableKey, name))
	c.observe("getglobal", start)
	return v, translate(err, "reading global "+name)
}

// SetGlobalVar sets a dialplan global variable ("" clears it).
func (c *Client) SetGlobalVar(ctx context.Context, name, value string) error {
	cl, err := c.current()
	if err != nil {
		return err
	}
	start := time.Now()
	err = cl.Asterisk().Variables().Set(ari.NewKey(ari.VariableKey, name), value)
	c.observe("setglobal", start)
	return translate(err, "setting global "+name)
}

// observe times one ARI request.
func (c *Client) observe(op string, start time.Time) {
	c.m.latency.WithLabelValues(op).Observe(time.Since(start).Seconds())
}

func (c *Client) run(ctx context.Context) {
	defer close(c.done)
	backoff := 100 * time.Millisecond
	first := true
	for ctx.Err() == nil {
		cl, ws, err := c.connect(ctx)
		if err != nil {
			c.log.Debug("asterisk not reachable", "err", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		if !first {
			c.m.reconnects.Inc()
		}
		// No event filter (PUT /applications/{app}/eventFilter): with
		// several applications connecting at once it left Asterisk 22's
		// ARI hanging in the sandbox. The events are read here directly,
		// so their volume costs decoding only.
		c.mu.Lock()
		c.ari = cl
		c.mu.Unlock()
		c.m.connected.Set(1)
		c.log.Info("connected to asterisk", "reconnect", !first)
		if first {
			close(c.up)
			first = false
		}
		// The websocket is open, so events from here on wait in it while
		// the channels already in the application are recovered.
		c.recover(ctx, cl)
		c.read(ctx, ws)
		c.mu.Lock()
		c.ari = nil
		c.mu.Unlock()
		c.m.connected.Set(0)
		if ctx.Err() == nil {
			c.log.Warn("disconnected from asterisk; reconnecting")
		}
	}
}

// connect probes ARI over HTTP first (so a dead Asterisk costs one quick
// request, and our own backoff applies), then opens the application's
// event websocket. The library's client is built for REST requests only:
// its own websocket would feed events through a bus that silently drops
// them when a subscriber's 100-event buffer is full.
func (c *Client) connect(ctx context.Context) (ari.Client, *websocket.Conn, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.cfg.URL+"/asterisk/info", nil)
	if err != nil {
		return nil, nil, err
	}
	req.SetBasicAuth(c.cfg.User, c.cfg.Password)
	probe := http.Client{Timeout: 2 * time.Second}
	resp, err := probe.Do(req)
	if err != nil {
		return nil, nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("ari answered %s", resp.Status)
	}
	q := url.Values{"app": {c.cfg.Application}}
	if c.cfg.SubscribeAll {
		q.Set("subscribeAll", "true")
	}
	wsCfg, err := websocket.NewConfig(c.cfg.WebsocketURL+"?"+q.Encode(), "http://localhost/")
	if err != nil {
		return nil, nil, err
	}
	wsCfg.Header = http.Header{}
	wsCfg.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(c.cfg.User+":"+c.cfg.Password)))
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ws, err := wsCfg.DialContext(dctx)
	if err != nil {
		return nil, nil, fmt.Errorf("opening the event websocket: %w", err)
	}
	cl := native.New(&native.Options{Application: c.cfg.Application, URL: c.cfg.URL,
		WebsocketURL: c.cfg.WebsocketURL, Username: c.cfg.User, Password: c.cfg.Password})
	return cl, ws, nil
}

// read routes events until the websocket fails or ctx ends. It reads the
// socket itself and never blocks on a consumer (route only queues), so no
// event is dropped on the way in.
func (c *Client) read(ctx context.Context, ws *websocket.Conn) {
	stop := context.AfterFunc(ctx, func() { ws.Close() })
	defer stop()
	defer ws.Close()
	for {
		var data []byte
		if err := websocket.Message.Receive(ws, &data); err != nil {
			if ctx.Err() == nil {
				c.log.Warn("event websocket failed", "err", err)
			}
			return
		}
		e, err := ari.DecodeEvent(data)
		if err != nil {
			c.m.undecodable.Inc()
			c.log.Warn("undecodable ARI event", "err", err)
			continue
		}
		c.m.events.Inc()
		c.route(ctx, e)
	}
}

type channelEvent interface {
	GetChannelIDs() []string
}

func (c *Client) route(ctx context.Context, e ari.Event) {
	switch ev := e.(type) {
	case *ari.ChannelUserevent:
		c.adoptFound(ctx, ev.Eventname)
	case *ari.ChannelCreated:
		c.foundCaller(ev.Channel)
	case *ari.ChannelDestroyed:
		c.mu.Lock()
		delete(c.found, ev.Channel.ID)
		c.mu.Unlock()
	case *ari.StasisStart:
		c.mu.Lock()
		delete(c.found, ev.Channel.ID) // it entered after the connection
		prev, known := c.calls[ev.Channel.ID]
		c.mu.Unlock()
		// A channel that left the application and came back (from the
		// dialplan) is a new session; its old one may still be finishing.
		if !known || prev.ctx.Err() != nil {
			c.adopt(ctx, newCallData(ev.Channel, ev.Args), false)
		}
	}
	ce, ok := e.(channelEvent)
	if !ok {
		return
	}
	for _, id := range ce.GetChannelIDs() {
		c.mu.Lock()
		call := c.calls[id]
		watch := c.watches[id]
		c.mu.Unlock()
		if call != nil {
			if !call.box.put(e) {
				c.m.dropped.Inc()
			}
			if terminal(e, call.app) {
				call.gone()
			}
		}
		if watch != nil && !watch.put(e) {
			c.m.dropped.Inc()
		}
	}
}

// terminal tells the events after which a call is no longer ours.
func terminal(e ari.Event, app string) bool {
	switch e.(type) {
	case *ari.ChannelDestroyed, *ari.ChannelHangupRequest:
		return true
	case *ari.StasisEnd:
		return true
	}
	return false
}

// adopt registers a call and runs the handler for it in its own goroutine.
func (c *Client) adopt(ctx context.Context, d callData, recovered bool) *Call {
	call := c.newCall(d)
	c.mu.Lock()
	c.calls[d.id] = call
	c.mu.Unlock()
	c.m.active.Inc()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer c.forget(call)
		if recovered {
			c.m.recovered.Inc()
			c.handler.Recover(call.ctx, call)
			return
		}
		c.handler.Handle(call.ctx, call)
	}()
	return call
}

func (c *Client) forget(call *Call) {
	c.mu.Lock()
	if c.calls[call.id] == call {
		delete(c.calls, call.id)
	}
	c.mu.Unlock()
	call.gone()
	call.box.close()
	c.m.active.Dec()
}

// recover lists the application's channels (Asterisk does not replay the
// events missed while disconnected): known ones that are gone are released,
// unknown ones are handed to Recover. A channel that enters the
// application just after the websocket opened is listed too, and its
// StasisStart is on its way: it is a new call, for Handle, with its
// arguments. So the unknown channels wait in found while a user event,
// sent after the listing, makes its way through the websocket behind any
// such StasisStart; route adopts what is left in found when it arrives.
func (c *Client) recover(ctx context.Context, cl ari.Client) {
	start := time.Now()
	data, err := cl.Application().Data(ari.NewKey(ari.ApplicationKey, c.cfg.Application))
	c.observe("application_data", start)
	if err != nil {
		c.log.Error("listing application channels", "err", err)
		return
	}
	present := map[string]bool{}
	found := map[string]callData{}
	for _, id := range data.ChannelIDs {
		present[id] = true
		c.mu.Lock()
		_, known := c.calls[id]
		c.mu.Unlock()
		if known {
			continue
		}
		ch, inApp, err := c.channel(ctx, id)
		if err != nil || !inApp {
			// Hung up meanwhile, or only subscribed to (the far half of
			// a Local channel originated here), not in the application.
			continue
		}
		found[id] = newCallData(ch, nil)
	}
	c.mu.Lock()
	for id, call := range c.calls {
		if !present[id] && !call.outbound {
			call.gone()
		}
	}
	marker := "centralino-recovery-" + rid.New("")
	c.found, c.marker = found, marker
	c.mu.Unlock()
	if len(found) == 0 {
		return
	}
	if err := c.userEvent(ctx, marker); err != nil {
		c.log.Warn("recovery marker not sent; recovering at once", "err", err)
		c.adoptFound(ctx, marker)
		return
	}
	// Should the marker be lost, the calls are recovered all the same.
	time.AfterFunc(c.cfg.RequestTimeout, func() { c.adoptFound(ctx, marker) })
}

// adoptFound hands the channels still in found to Recover, once, when the
// recovery named marker is the current one.
func (c *Client) adoptFound(ctx context.Context, marker string) {
	c.mu.Lock()
	if marker != c.marker || c.found == nil || ctx.Err() != nil {
		c.mu.Unlock()
		return
	}
	found := c.found
	c.found = nil
	c.mu.Unlock()
	for id, d := range found {
		c.log.Info("recovering call", "call_id", id)
		c.adopt(ctx, d, true)
	}
}

// ChannelUp reports whether Asterisk still has the channel.
func (c *Client) ChannelUp(ctx context.Context, id string) (bool, error) {
	_, _, err := c.channel(ctx, id)
	if errors.Is(err, ErrChannelGone) {
		return false, nil
	}
	return err == nil, err
}

// channel reads a channel, and whether it is in this application (in
// Stasis for it, not only subscribed to): the ari library's channel has no
// dialplan application.
func (c *Client) channel(ctx context.Context, id string) (ari.ChannelData, bool, error) {
	var ch ari.ChannelData
	resp, err := c.rest(ctx, http.MethodGet, "/channels/"+url.PathEscape(id), "channel_data")
	if err != nil {
		return ch, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return ch, false, fmt.Errorf("reading channel: %w", ErrChannelGone)
	}
	if resp.StatusCode != http.StatusOK {
		return ch, false, fmt.Errorf("reading channel: ari answered %s", resp.Status)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return ch, false, err
	}
	var where struct {
		Dialplan struct {
			AppName string `json:"app_name"`
			AppData string `json:"app_data"`
		} `json:"dialplan"`
	}
	if err := json.Unmarshal(body, &ch); err != nil {
		return ch, false, err
	}
	if err := json.Unmarshal(body, &where); err != nil {
		return ch, false, err
	}
	app, _, _ := strings.Cut(where.Dialplan.AppData, ",")
	return ch, strings.EqualFold(where.Dialplan.AppName, "Stasis") && app == c.cfg.Application, nil
}

// userEvent sends a user event to this application alone (POST
// /events/user: the ari library only sends them from a channel).
func (c *Client) userEvent(ctx context.Context, name string) error {
	resp, err := c.rest(ctx, http.MethodPost, "/events/user/"+url.PathEscape(name)+
		"?"+url.Values{"application": {c.cfg.Application}}.Encode(), "user_event")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("ari answered %s", resp.Status)
	}
	return nil
}

// rest makes an ARI request the ari library does not offer, timed as op.
func (c *Client) rest(ctx context.Context, method, path, op string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.cfg.URL, "/")+path, nil)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(c.cfg.User, c.cfg.Password)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	c.observe(op, start)
	return resp, err
}
