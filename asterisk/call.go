package asterisk

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/CyCoreSystems/ari/v5"
	"github.com/CyCoreSystems/ari/v5/rid"
)

// callData is what is known of a channel when it is adopted.
type callData struct {
	id, name, caller, exten, state string
	args                           []string
}

func newCallData(ch ari.ChannelData, args []string) callData {
	d := callData{id: ch.ID, name: ch.Name, state: ch.State, args: args}
	if ch.Caller != nil {
		d.caller = ch.Caller.Number
	}
	if ch.Dialplan != nil {
		d.exten = ch.Dialplan.Exten
	}
	return d
}

// Call is one channel in the application, owned by one goroutine. Its
// context is cancelled when the channel hangs up or leaves the
// application.
type Call struct {
	client *Client
	callData
	app      string
	box      *mailbox
	ctx      context.Context
	cancel   context.CancelCauseFunc
	goneOnce sync.Once
	outbound bool // originated by us, not yet in Stasis
}

func (c *Client) newCall(d callData) *Call {
	ctx, cancel := context.WithCancelCause(context.Background())
	return &Call{client: c, callData: d, app: c.cfg.Application, box: newMailbox(), ctx: ctx, cancel: cancel}
}

func (call *Call) gone() { call.end(ErrChannelGone) }

// end cancels the call's context once, with why.
func (call *Call) end(cause error) { call.goneOnce.Do(func() { call.cancel(cause) }) }

// Detached reports that the call's context ended because this client
// stopped, not because the channel went: the call is still in the
// application, for the next controller to recover. Its owner must not
// hang it up or record it as ended.
func (call *Call) Detached() bool { return errors.Is(context.Cause(call.ctx), ErrStopped) }

// ID is the channel's unique id.
func (call *Call) ID() string { return call.id }

// Name is the channel's name (technology/resource-id).
func (call *Call) Name() string { return call.name }

// Caller is the caller ID number as presented (may be empty).
func (call *Call) Caller() string { return call.caller }

// DID is the dialled extension that entered the application.
func (call *Call) DID() string { return call.exten }

// Args are the Stasis application arguments.
func (call *Call) Args() []string { return call.args }

// Context is cancelled when the call is over.
func (call *Call) Context() context.Context { return call.ctx }

func (call *Call) handle() (*ari.ChannelHandle, error) {
	cl, err := call.client.current()
	if err != nil {
		return nil, err
	}
	return cl.Channel().Get(ari.NewKey(ari.ChannelKey, call.id)), nil
}

// do runs one ARI request on the channel, timed and translated.
func (call *Call) do(op string, f func(*ari.ChannelHandle) error) error {
	h, err := call.handle()
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	start := time.Now()
	err = f(h)
	call.client.observe(op, start)
	return translate(err, op)
}

// Answer answers the channel.
func (call *Call) Answer(ctx context.Context) error {
	return call.do("answer", func(h *ari.ChannelHandle) error { return h.Answer() })
}

// Hangup hangs the channel up; a channel already gone is not an error.
func (call *Call) Hangup(ctx context.Context) error {
	err := call.do("hangup", func(h *ari.ChannelHandle) error { return h.Hangup() })
	if errors.Is(err, ErrChannelGone) {
		return nil
	}
	return err
}

// Ring indicates ringing to the caller.
func (call *Call) Ring(ctx context.Context) error {
	return call.do("ring", func(h *ari.ChannelHandle) error { return h.Ring() })
}

// StartMOH plays music on hold of the class ("" is default).
func (call *Call) StartMOH(ctx context.Context, class string) error {
	return call.do("moh", func(h *ari.ChannelHandle) error { return h.MOH(class) })
}

// StopMOH stops the music on hold.
func (call *Call) StopMOH(ctx context.Context) error {
	return call.do("moh_stop", func(h *ari.ChannelHandle) error { return h.StopMOH() })
}

// SetLanguage sets the channel's language for sound: URIs.
func (call *Call) SetLanguage(ctx context.Context, lang string) error {
	return call.SetVar(ctx, "CHANNEL(language)", lang)
}

// SetVar sets a channel variable (or function, e.g. CHANNEL(language)).
func (call *Call) SetVar(ctx context.Context, name, value string) error {
	return call.do("setvar", func(h *ari.ChannelHandle) error { return h.SetVariable(name, value) })
}

// Var reads a channel variable.
func (call *Call) Var(ctx context.Context, name string) (string, error) {
	var v string
	err := call.do("getvar", func(h *ari.ChannelHandle) (err error) { v, err = h.GetVariable(name); return })
	return v, err
}

// SendDTMF sends keys to the channel, each lasting duration and separated
// by between (the call simulator keys with it).
func (call *Call) SendDTMF(ctx context.Context, digits string, duration, between time.Duration) error {
	return call.do("dtmf", func(h *ari.ChannelHandle) error {
		return h.SendDTMF(digits, &ari.DTMFOptions{Duration: duration, Between: between})
	})
}

// Continue sends the channel back to the dialplan, out of the application.
func (call *Call) Continue(ctx context.Context, context, exten string, priority int) error {
	return call.do("continue", func(h *ari.ChannelHandle) error { return h.Continue(context, exten, priority) })
}

// ContinueIn sets variables on a channel (by id) and sends it back to the
// dialplan at context, exten, priority 1, out of the application.
func (c *Client) ContinueIn(ctx context.Context, channelID, dialContext, exten string, vars map[string]string) error {
	cl, err := c.current()
	if err != nil {
		return err
	}
	h := cl.Channel().Get(ari.NewKey(ari.ChannelKey, channelID))
	for name, value := range vars {
		start := time.Now()
		err := h.SetVariable(name, value)
		c.observe("setvar", start)
		if err != nil {
			return translate(err, "setting "+name)
		}
	}
	start := time.Now()
	err = h.Continue(dialContext, exten, 1)
	c.observe("continue", start)
	return translate(err, "continue")
}

// next returns the call's next event, or ErrChannelGone once the call is
// over and its mailbox drained.
func (call *Call) next(ctx context.Context) (ari.Event, error) {
	e, err := call.box.get(ctx)
	if err != nil {
		if call.ctx.Err() != nil {
			return nil, ErrChannelGone
		}
		return nil, err
	}
	return e, nil
}

// OriginateRequest places a call from the application.
type OriginateRequest struct {
	// Endpoint to call, e.g. "PJSIP/agent101" or "Local/800466222@from-trunk/n".
	Endpoint string
	// CallerID presented to the callee.
	CallerID string
	// Timeout for the callee to answer.
	Timeout time.Duration
	// OtherID names the other half of a Local channel, so it can be
	// watched before it exists.
	OtherID string
	// Originator is the ID of the channel this call is made for (the
	// caller an agent is rung for): the new channel takes its codecs, so
	// bridging the two needs no transcoding, and its linked ID.
	Originator string
	// Formats are the codecs of a call made for no channel, e.g. "alaw".
	// Empty with no Originator: every codec Asterisk has, which for a Local
	// channel means slin192 and a resampler on every frame it carries.
	Formats string
	Args    []string
	// ChannelID is the new channel's id, chosen by the caller (empty: a new
	// one), so it can be recorded before the call is placed.
	ChannelID string
	// Variables are set on the new channel (what a controller taking it
	// over after a restart reads back with Var).
	Variables map[string]string
}

// NewChannelID is a fresh channel id, for an OriginateRequest whose
// channel must be on record before it is placed.
func NewChannelID() string { return rid.New(rid.Channel) }

// TrunkFormats are the codecs of a simulated citizen's call (a Local
// channel standing for the carrier's trunk): G.711 A-law, as Italian
// carriers deliver the numero verde.
const TrunkFormats = "alaw"

// Originate calls an endpoint; the returned Call enters the application
// when answered. Its events are routed from the first one.
func (c *Client) Originate(ctx context.Context, r OriginateRequest) (*Call, error) {
	cl, err := c.current()
	if err != nil {
		return nil, err
	}
	id := r.ChannelID
	if id == "" {
		id = rid.New(rid.Channel)
	}
	call := c.newCall(callData{id: id})
	call.outbound = true
	// Registered before the request: no event of it can be missed.
	c.mu.Lock()
	c.calls[id] = call
	c.mu.Unlock()
	req := ari.OriginateRequest{Endpoint: r.Endpoint, App: c.cfg.Application, AppArgs: strings.Join(r.Args, ","),
		CallerID: r.CallerID, Timeout: int(r.Timeout.Seconds()), ChannelID: id, OtherChannelID: r.OtherID,
		Originator: r.Originator, Formats: r.Formats, Variables: r.Variables}
	start := time.Now()
	_, err = cl.Channel().Originate(nil, req)
	c.observe("originate", start)
	if err != nil {
		c.forgetOutbound(call)
		return nil, translate(err, "originate")
	}
	return call, nil
}

func (c *Client) forgetOutbound(call *Call) {
	c.mu.Lock()
	delete(c.calls, call.id)
	c.mu.Unlock()
	call.gone()
}

// Release drops an originated call's registration once its owner is done
// with it (after hangup).
func (c *Client) Release(call *Call) { c.forgetOutbound(call) }

// DialResult is how an outbound call attempt ended.
type DialResult int

// Dial results.
const (
	Answered DialResult = iota
	Busy
	NoAnswer
	Failed
)

func (r DialResult) String() string {
	return [...]string{"answered", "busy", "no_answer", "failed"}[r]
}

// Dial calls an endpoint with a caller ID and waits up to timeout for an
// answer. The channel is created in the application first (so every event
// of the attempt is seen), then dialled; the Dial event says how it ended.
// The answered Call is the caller's to hang up and Release.
func (c *Client) Dial(ctx context.Context, endpoint, callerID string, timeout time.Duration) (*Call, DialResult, error) {
	cl, err := c.current()
	if err != nil {
		return nil, Failed, err
	}
	id := rid.New(rid.Channel)
	call := c.newCall(callData{id: id})
	call.outbound = true
	c.mu.Lock()
	c.calls[id] = call
	c.mu.Unlock()
	start := time.Now()
	_, err = cl.Channel().Create(ari.NewKey(ari.ChannelKey, id), ari.ChannelCreateRequest{Endpoint: endpoint, App: c.cfg.Application, ChannelID: id})
	c.observe("create", start)
	if err != nil {
		c.forgetOutbound(call)
		return nil, Failed, translate(err, "creating channel")
	}
	// The channel accepts requests once it is in the application.
	if err := call.awaitStasis(ctx); err != nil {
		call.Hangup(context.Background())
		c.forgetOutbound(call)
		return nil, Failed, err
	}
	if callerID != "" {
		// An outgoing channel presents its connected line: that is what
		// PJSIP puts in From and what a Local channel's far half sees.
		if err := call.SetVar(ctx, "CONNECTEDLINE(num,i)", callerID); err != nil {
			call.Hangup(context.Background())
			c.forgetOutbound(call)
			return nil, Failed, err
		}
	}
	start = time.Now()
	err = cl.Channel().Dial(ari.NewKey(ari.ChannelKey, id), "", timeout)
	c.observe("dial", start)
	if err != nil {
		call.Hangup(context.Background())
		c.forgetOutbound(call)
		return nil, Failed, translate(err, "dialling")
	}
	// Asterisk ends an unanswered dial by hanging the channel up, without
	// a NOANSWER status: a hang-up after ringing is "no answer".
	ringing := false
	fail := func(r DialResult) (*Call, DialResult, error) {
		call.Hangup(context.Background())
		c.forgetOutbound(call)
		return nil, r, nil
	}
	for {
		e, err := call.next(ctx)
		if err != nil {
			if errors.Is(err, ErrChannelGone) {
				return fail(Failed)
			}
			call.Hangup(context.Background())
			c.forgetOutbound(call)
			return nil, Failed, err
		}
		switch ev := e.(type) {
		case *ari.StasisStart:
			call.callData = newCallData(ev.Channel, ev.Args)
		case *ari.Dial:
			if ev.Peer.ID != id {
				continue
			}
			switch ev.Dialstatus {
			case "ANSWER":
				call.outbound = false
				return call, Answered, nil
			case "BUSY":
				return fail(Busy)
			case "NOANSWER", "CANCEL":
				return fail(NoAnswer)
			case "RINGING", "PROGRESS":
				ringing = true
			case "":
			default: // CHANUNAVAIL, CONGESTION, ...
				return fail(Failed)
			}
		case *ari.ChannelStateChange:
			if ev.Channel.State == "Up" {
				call.outbound = false
				return call, Answered, nil
			}
		case *ari.ChannelHangupRequest, *ari.StasisEnd, *ari.ChannelDestroyed:
			if ringing {
				return fail(NoAnswer)
			}
			return fail(Failed)
		}
	}
}

// Ring calls r.Endpoint in one request (ARI originate; Dial needs three):
// the callee is presented r.CallerID for r.Timeout, and the call enters
// the application when answered. The results are Dial's: answered, busy,
// no answer within the timeout, or failed.
func (c *Client) Ring(ctx context.Context, r OriginateRequest) (*Call, DialResult, error) {
	call, err := c.Originate(ctx, r)
	if err != nil {
		return nil, Failed, err
	}
	return c.AwaitAnswer(ctx, call, r.Timeout)
}

// AwaitAnswer follows a call placed with Originate (ringing for timeout)
// to its outcome, as Ring does; a call not answered is hung up and
// released. Originate, then AwaitAnswer on another goroutine, lets the
// caller do more once the call is placed (start what the caller hears
// meanwhile without slowing the ring down).
func (c *Client) AwaitAnswer(ctx context.Context, call *Call, timeout time.Duration) (*Call, DialResult, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout+2*time.Second)
	defer cancel()
	ringing := false
	fail := func(r DialResult) (*Call, DialResult, error) {
		call.Hangup(context.Background())
		c.forgetOutbound(call)
		return nil, r, nil
	}
	// Asterisk subscribes the application to an originated channel (and a
	// Local channel's other half) before dialling it, and the call was
	// registered before the request: every event of the attempt reaches
	// call's mailbox.
	byCause := func(cause int) DialResult {
		switch {
		case cause == 17: // user busy
			return Busy
		case cause == 18 || cause == 19 || cause == 21 || (ringing && (cause == 0 || cause == 16)):
			return NoAnswer // no user responding, no answer, rejected
		}
		return Failed
	}
	for {
		e, err := call.next(ctx)
		if err != nil {
			if ctx.Err() != nil && ringing {
				return fail(NoAnswer)
			}
			return fail(Failed)
		}
		switch ev := e.(type) {
		case *ari.StasisStart:
			call.callData = newCallData(ev.Channel, ev.Args)
			call.outbound = false
			return call, Answered, nil
		case *ari.ChannelStateChange:
			if ev.Channel.State == "Ringing" {
				ringing = true
			}
		case *ari.Dial:
			// The originate's own dial says how it went: a busy or
			// unreachable callee is known at once (its channel may
			// linger a while before it is destroyed).
			if ev.Peer.ID != call.id {
				continue
			}
			switch ev.Dialstatus {
			case "BUSY":
				return fail(Busy)
			case "NOANSWER", "CANCEL":
				return fail(NoAnswer)
			case "CHANUNAVAIL", "CONGESTION":
				return fail(Failed)
			case "RINGING", "PROGRESS":
				ringing = true
			}
		case *ari.ChannelHangupRequest:
			return fail(byCause(ev.Cause))
		case *ari.ChannelDestroyed:
			return fail(byCause(ev.Cause))
		}
	}
}

// awaitStasis reads a created channel's events up to its StasisStart.
func (call *Call) awaitStasis(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for {
		e, err := call.next(ctx)
		if err != nil {
			return fmt.Errorf("waiting for the created channel: %w", err)
		}
		if ev, ok := e.(*ari.StasisStart); ok {
			call.callData = newCallData(ev.Channel, ev.Args)
			return nil
		}
	}
}

// Bridge is a mixing bridge of calls.
type Bridge struct {
	client *Client
	id     string
}

// Bridge connects channels (by id) in a new mixing bridge.
func (c *Client) Bridge(ctx context.Context, channelIDs ...string) (*Bridge, error) {
	cl, err := c.current()
	if err != nil {
		return nil, err
	}
	id := rid.New(rid.Bridge)
	start := time.Now()
	h, err := cl.Bridge().Create(ari.NewKey(ari.BridgeKey, id), "mixing", id)
	c.observe("bridge_create", start)
	if err != nil {
		return nil, translate(err, "creating bridge")
	}
	b := &Bridge{client: c, id: id}
	for _, id := range channelIDs {
		start := time.Now()
		err := h.AddChannel(id)
		c.observe("bridge_add", start)
		if err != nil {
			b.Destroy(ctx)
			return nil, translate(err, "adding to bridge")
		}
	}
	return b, nil
}

// ID is the bridge's id, for whoever takes it over after a restart
// (DestroyBridge).
func (b *Bridge) ID() string { return b.id }

// Destroy tears the bridge down (the calls stay up).
func (b *Bridge) Destroy(ctx context.Context) error { return b.client.DestroyBridge(ctx, b.id) }

// DestroyBridge tears down a bridge by id (the calls stay up); a bridge
// already gone is not an error.
func (c *Client) DestroyBridge(ctx context.Context, id string) error {
	cl, err := c.current()
	if err != nil {
		return err
	}
	start := time.Now()
	err = cl.Bridge().Delete(ari.NewKey(ari.BridgeKey, id))
	c.observe("bridge_destroy", start)
	if errors.Is(translate(err, "x"), ErrChannelGone) {
		return nil
	}
	return translate(err, "destroying bridge")
}

// HangupChannel hangs up a channel by id, one this process holds no Call
// for (the other side of a conversation taken over after a restart); a
// channel already gone is not an error.
func (c *Client) HangupChannel(ctx context.Context, id string) error {
	cl, err := c.current()
	if err != nil {
		return err
	}
	start := time.Now()
	err = cl.Channel().Hangup(ari.NewKey(ari.ChannelKey, id), "normal")
	c.observe("hangup", start)
	if err = translate(err, "hangup"); errors.Is(err, ErrChannelGone) {
		return nil
	}
	return err
}

// Event is what a watcher sees of a channel, without ARI types.
type Event struct {
	Kind EventKind
	// Media is the URI of a playback (PlaybackStarted/Finished).
	Media string
	// Digit is the key of a DTMF event.
	Digit string
	// At is when this process received the event; Stamp is when Asterisk
	// raised it (its clock, millisecond resolution).
	At    time.Time
	Stamp time.Time
}

// EventKind names the events a watcher sees.
type EventKind string

// Watched event kinds.
const (
	EventPlaybackStarted  EventKind = "playback_started"
	EventPlaybackFinished EventKind = "playback_finished"
	EventDTMF             EventKind = "dtmf"
	EventHangup           EventKind = "hangup"
	EventUser             EventKind = "user_event"
)

// Watch receives the events of a channel this application does not own
// (the call simulator watches the IVR's half of a call).
type Watch struct {
	client *Client
	id     string // under client.mu once found
	box    *mailbox
	found  chan struct{} // WatchCaller's: closed once its channel is known
}

// Watch subscribes the application to a channel's events; the channel may
// not exist yet when its id was chosen by OriginateRequest.OtherID, so the
// subscription is retried until it does.
func (c *Client) Watch(ctx context.Context, channelID string) (*Watch, error) {
	w := &Watch{client: c, id: channelID, box: newMailbox()}
	c.mu.Lock()
	c.watches[channelID] = w.box
	c.mu.Unlock()
	return w, nil
}

// Subscribe makes Asterisk send the channel's events to this application
// (not needed with Config.SubscribeAll).
func (w *Watch) Subscribe(ctx context.Context) error {
	if w.client.cfg.SubscribeAll {
		return nil
	}
	cl, err := w.client.current()
	if err != nil {
		return err
	}
	for {
		start := time.Now()
		err := cl.Application().Subscribe(ari.NewKey(ari.ApplicationKey, w.client.cfg.Application), "channel:"+w.id)
		w.client.observe("subscribe", start)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return translate(err, "subscribing to channel")
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Next returns the next watched event of interest.
func (w *Watch) Next(ctx context.Context) (Event, error) {
	for {
		e, err := w.box.get(ctx)
		if err != nil {
			return Event{}, err
		}
		at := time.Now()
		switch ev := e.(type) {
		case *ari.PlaybackStarted:
			return Event{Kind: EventPlaybackStarted, Media: ev.Playback.MediaURI, At: at, Stamp: time.Time(ev.Timestamp)}, nil
		case *ari.PlaybackFinished:
			return Event{Kind: EventPlaybackFinished, Media: ev.Playback.MediaURI, At: at, Stamp: time.Time(ev.Timestamp)}, nil
		case *ari.ChannelDtmfReceived:
			return Event{Kind: EventDTMF, Digit: ev.Digit, At: at, Stamp: time.Time(ev.Timestamp)}, nil
		case *ari.ChannelDestroyed, *ari.ChannelHangupRequest:
			return Event{Kind: EventHangup, At: at}, nil
		case *ari.ChannelUserevent:
			return Event{Kind: EventUser, Media: ev.Eventname, At: at}, nil
		}
	}
}

// Close stops routing the channel's events.
func (w *Watch) Close() {
	w.client.mu.Lock()
	if w.client.watches[w.id] == w.box {
		delete(w.client.watches, w.id)
	}
	for number, cw := range w.client.callers {
		if cw == w {
			delete(w.client.callers, number)
		}
	}
	w.client.mu.Unlock()
	w.box.close()
}

// WaitStasis waits until an originated call enters the application (the
// callee answered), keeping the events that follow.
func (call *Call) WaitStasis(ctx context.Context) error {
	for {
		e, err := call.next(ctx)
		if err != nil {
			return err
		}
		switch ev := e.(type) {
		case *ari.StasisStart:
			call.callData = newCallData(ev.Channel, ev.Args)
			call.outbound = false
			return nil
		case *ari.ChannelDestroyed, *ari.ChannelHangupRequest:
			return ErrChannelGone
		}
	}
}
