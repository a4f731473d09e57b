// Package callsim simulates citizens and agents on the real Asterisk: a
// citizen's call enters the numero verde through a Local channel, one half
// in the IVR's application and the other held by the simulator, which keys
// DTMF with realistic timing and records every prompt the IVR plays to
// that call by watching the IVR half's playback events. Simulated agents
// are Local endpoints of the sim-agents context (deploy/asterisk/
// extensions_sim.conf) that answer after a delay, ring out, or are busy.
// A call placed from outside, by a real SIP phone through the carrier
// trunk (callsim/sipua), is followed the same way (Follow).
package callsim

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/centralino-cup/centralino/asterisk"
)

// Simulator places simulated calls through its own ARI application.
type Simulator struct {
	client *asterisk.Client
}

type noCalls struct{}

func (noCalls) Handle(context.Context, *asterisk.Call)  {}
func (noCalls) Recover(context.Context, *asterisk.Call) {}

// New builds a simulator; cfg.Application should be unique to it.
func New(cfg asterisk.Config, reg prometheus.Registerer, log *slog.Logger) *Simulator {
	cfg.SubscribeAll = true // see the IVR half from its first event
	return &Simulator{client: asterisk.New(cfg, noCalls{}, reg, log.With("component", "callsim"))}
}

// Start connects the simulator.
func (s *Simulator) Start(ctx context.Context) error { return s.client.Start(ctx) }

// Stop disconnects it.
func (s *Simulator) Stop() { s.client.Stop() }

// Agent is the endpoint of a simulated agent's phone that answers after
// delay (whole seconds).
func Agent(delay time.Duration) string {
	return fmt.Sprintf("Local/a%d@sim-agents/n", int(delay.Seconds()))
}

// Simulated phones that never answer or are busy.
const (
	AgentNoAnswer = "Local/noanswer@sim-agents/n"
	AgentBusy     = "Local/busy@sim-agents/n"
)

// Citizen sets what the simulated citizen at national (a number a recall
// calls back, Local/<national>@sim-citizens) does: "answer:N:T" answers
// after N seconds and hangs up T later, "busy", "noanswer", ... (deploy/
// asterisk/extensions_sim.conf); its counts start again from zero.
func (s *Simulator) Citizen(ctx context.Context, national, does string) error {
	for name, v := range map[string]string{"SIMCITIZEN_" + national: does, "SIMCITIZEN_CALLS_" + national: "",
		"SIMCITIZEN_ANSWERED_" + national: "", "SIMAGENT_ANSWERED_" + national: ""} {
		if err := s.client.SetGlobalVar(ctx, name, v); err != nil {
			return err
		}
	}
	return nil
}

// Recalled is how many calls reached the simulated citizen at national
// since Citizen, and whether it answered one.
func (s *Simulator) Recalled(ctx context.Context, national string) (calls int, answered bool, err error) {
	n, err := s.client.GlobalVar(ctx, "SIMCITIZEN_CALLS_"+national)
	if err != nil {
		return 0, false, err
	}
	if n != "" {
		if calls, err = strconv.Atoi(n); err != nil {
			return 0, false, fmt.Errorf("SIMCITIZEN_CALLS_%s: %w", national, err)
		}
	}
	a, err := s.client.GlobalVar(ctx, "SIMCITIZEN_ANSWERED_"+national)
	return calls, a == "1", err
}

// AgentAnswered tells whether a simulated agent (Agent) answered a call
// presenting the caller national (since Citizen cleared it).
func (s *Simulator) AgentAnswered(ctx context.Context, national string) (bool, error) {
	v, err := s.client.GlobalVar(ctx, "SIMAGENT_ANSWERED_"+national)
	return v == "1", err
}

// Prompt is one playback the IVR started on the call.
type Prompt struct {
	Media string
	// At is when the simulator saw it start; Stamp is Asterisk's clock.
	At    time.Time
	Stamp time.Time
	// Finished is when the simulator saw it end, played out or stopped by
	// a key; zero while it plays.
	Finished time.Time
}

// Keypad is where a citizen keys and hangs up: the simulator's half of a
// Local call, or a real SIP phone (callsim/sipua).
type Keypad interface {
	SendDTMF(ctx context.Context, keys string, length, gap time.Duration) error
	Hangup(ctx context.Context) error
}

// Call is one simulated citizen's call.
type Call struct {
	sim    *Simulator
	leg    *asterisk.Call // the simulator's half of a Local call
	keypad Keypad
	watch  *asterisk.Watch

	mu      sync.Mutex
	prompts []Prompt
	dtmf    []time.Time // keys as the IVR half received them
	changed chan struct{}
	ended   chan struct{}
}

// Place calls did in dialplan context (the numero verde:
// "800466222", "from-trunk") with a caller ID, and returns once the IVR
// answered.
func (s *Simulator) Place(ctx context.Context, did, dialContext, callerID string) (*Call, error) {
	ivrID := "ivr-" + uuid.NewString()
	w, err := s.client.Watch(ctx, ivrID)
	if err != nil {
		return nil, err
	}
	c := s.follow(w)
	leg, err := s.client.Originate(ctx, asterisk.OriginateRequest{Endpoint: "Local/" + did + "@" + dialContext + "/n",
		CallerID: callerID, Timeout: 30 * time.Second, OtherID: ivrID, Formats: asterisk.TrunkFormats})
	if err != nil {
		w.Close()
		return nil, err
	}
	c.leg, c.keypad = leg, leg
	if err := leg.WaitStasis(ctx); err != nil {
		c.Hangup(context.Background())
		return nil, fmt.Errorf("waiting for the IVR to answer: %w", err)
	}
	return c, nil
}

// Follow watches the next call that reaches Asterisk from caller, placed
// from outside (a SIP phone dialling the numero verde through the
// trunk), as Place watches its own; call it before the call is placed.
// The call keys and hangs up on phone.
func (s *Simulator) Follow(ctx context.Context, caller string, phone Keypad) (*Call, error) {
	w, err := s.client.WatchCaller(ctx, caller)
	if err != nil {
		return nil, err
	}
	c := s.follow(w)
	c.keypad = phone
	return c, nil
}

func (s *Simulator) follow(w *asterisk.Watch) *Call {
	c := &Call{sim: s, watch: w, changed: make(chan struct{}, 1), ended: make(chan struct{})}
	go c.record()
	return c
}

// Channel is the id of the channel the IVR holds, once Asterisk has
// created it.
func (c *Call) Channel(ctx context.Context) (string, error) { return c.watch.Found(ctx) }

// record keeps what the IVR half does, in order.
func (c *Call) record() {
	defer close(c.ended)
	for {
		e, err := c.watch.Next(context.Background())
		if err != nil {
			return
		}
		c.mu.Lock()
		switch e.Kind {
		case asterisk.EventPlaybackStarted:
			c.prompts = append(c.prompts, Prompt{Media: e.Media, At: e.At, Stamp: e.Stamp})
		case asterisk.EventPlaybackFinished:
			// The IVR plays one thing at a time: the one ending is the
			// latest of that media still playing.
			for i := len(c.prompts) - 1; i >= 0; i-- {
				if c.prompts[i].Media == e.Media && c.prompts[i].Finished.IsZero() {
					c.prompts[i].Finished = e.At
					break
				}
			}
		case asterisk.EventDTMF:
			c.dtmf = append(c.dtmf, e.Stamp)
		}
		c.mu.Unlock()
		select {
		case c.changed <- struct{}{}:
		default:
		}
		if e.Kind == asterisk.EventHangup {
			return
		}
	}
}

// Heard returns the media the IVR started so far, in order.
func (c *Call) Heard() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.prompts))
	for i, p := range c.prompts {
		out[i] = p.Media
	}
	return out
}

// Prompts returns the playbacks with their start times.
func (c *Call) Prompts() []Prompt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Prompt(nil), c.prompts...)
}

// KeysReceived returns when the IVR half received each key (Asterisk's
// clock, as Prompt.Stamp).
func (c *Call) KeysReceived() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.dtmf...)
}

// WaitPrompt waits until the IVR has started a playback whose media
// contains want, counting from the n-th playback (0: any), and returns its
// index.
func (c *Call) WaitPrompt(ctx context.Context, want string, from int) (int, error) {
	return c.wait(ctx, func(p Prompt) bool { return strings.Contains(p.Media, want) }, want, from)
}

// WaitMedia is WaitPrompt with an exact media URI ("sound:centralino/e"
// does not match "sound:centralino/errore_tecnico").
func (c *Call) WaitMedia(ctx context.Context, media string, from int) (int, error) {
	return c.wait(ctx, func(p Prompt) bool { return p.Media == media }, media, from)
}

// WaitMediaEnd is WaitMedia until that playback has finished: a caller
// who listens to a prompt to its end before keying.
func (c *Call) WaitMediaEnd(ctx context.Context, media string, from int) (int, error) {
	return c.wait(ctx, func(p Prompt) bool { return p.Media == media && !p.Finished.IsZero() }, media+" to end", from)
}

func (c *Call) wait(ctx context.Context, match func(Prompt) bool, want string, from int) (int, error) {
	find := func() int {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i := from; i < len(c.prompts); i++ {
			if match(c.prompts[i]) {
				return i
			}
		}
		return -1
	}
	for {
		if i := find(); i >= 0 {
			return i, nil
		}
		select {
		case <-ctx.Done():
			return -1, fmt.Errorf("prompt %q not heard (heard %v): %w", want, c.Heard(), ctx.Err())
		case <-c.ended:
			// One last look: the prompt may have come with the hang-up.
			if i := find(); i >= 0 {
				return i, nil
			}
			return -1, fmt.Errorf("call ended before prompt %q (heard %v)", want, c.Heard())
		case <-c.changed:
		}
	}
}

// KeyGap is how long a citizen takes between keys, and KeyLength how long
// a key is held: a person keying without hesitation, four keys a second.
const (
	KeyLength = 100 * time.Millisecond
	KeyGap    = 150 * time.Millisecond
)

// FirstTimeKeyPeriod is a key every half second: a caller who looks for
// each key on the keypad.
const FirstTimeKeyPeriod = 500 * time.Millisecond

// Key presses keys with realistic timing.
func (c *Call) Key(ctx context.Context, keys string) error {
	return c.KeyEvery(ctx, keys, KeyLength+KeyGap)
}

// KeyEvery presses keys one every period, each held KeyLength.
func (c *Call) KeyEvery(ctx context.Context, keys string, period time.Duration) error {
	return c.keypad.SendDTMF(ctx, keys, KeyLength, max(period-KeyLength, 0))
}

// Ended is closed when the IVR side hangs up.
func (c *Call) Ended() <-chan struct{} { return c.ended }

// Hangup ends the call from the citizen's side.
func (c *Call) Hangup(ctx context.Context) error {
	var err error
	if c.keypad != nil {
		err = c.keypad.Hangup(ctx)
	}
	if c.leg != nil {
		c.sim.client.Release(c.leg)
	}
	select {
	case <-c.ended:
	case <-time.After(2 * time.Second):
	}
	c.watch.Close()
	return err
}
