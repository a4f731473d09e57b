package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/centralino-cup/centralino/calls"
)

// connect bridges caller and agent until either hangs up, then releases
// the other and puts the agent in wrap-up.
func (w *waiter) connect(ctx context.Context, d dialed) (Handoff, error) {
	return w.o.talk(ctx, w.log, w.t.Queue, w.id, w.c, ctx.Done(), d, false)
}

// talk bridges a caller (or a recall's citizen) with the agent who
// answered on d.leg until either hangs up (callerGone, or the leg's end),
// then hangs up the other and puts the agent in wrap-up. busy: the agent
// is already on the call (a recall's agent answers before the citizen is
// called); otherwise answering makes it so.
func (o *Operator) talk(ctx context.Context, log *slog.Logger, queue, callID string, caller Channel, callerGone <-chan struct{},
	d dialed, busy bool) (Handoff, error) {
	bctx := context.Background()
	defer o.phones.Release(d.leg)
	b, err := o.phones.Bridge(ctx, caller.ID(), d.leg.ID())
	if err != nil {
		d.leg.Hangup(bctx)
		if busy {
			o.freeAgent(bctx, log, queue, d.a)
		} else {
			_ = o.svc.NoAnswer(bctx, d.a, "bridge_failed")
		}
		return Handoff{}, fmt.Errorf("bridging caller and agent: %w", err)
	}
	connected := o.now()
	// What the next controller needs should this one stop mid-conversation,
	// recorded before the agent is busy: a busy agent's leg is always on
	// record, for whoever asks whether it is still up (ReleaseOrphans).
	if err := o.store.Talking(bctx, callID, Conversation{CallerChannel: caller.ID(), AgentChannel: d.leg.ID(), Bridge: b.ID(),
		Connected: connected, Recall: busy}); err != nil {
		log.Error("recording conversation", "err", err)
	}
	waited := time.Duration(0)
	if !busy {
		if waited, err = o.svc.Connected(bctx, d.a); err != nil {
			log.Error("recording connection", "err", err)
		}
		// Counted as the caller leaves the queue, so the live service
		// level does not wait for the conversation's end; a recall's
		// citizen (busy) was never queued.
		o.m.left(queue, calls.OutcomeAgentAnswered, waited)
	}
	log.Info("connected to agent", "agent_id", d.a.AgentID, "waited", waited.Round(time.Second))
	select {
	case <-callerGone:
	case <-d.leg.Context().Done():
	}
	if caller.Detached() || d.leg.Detached() {
		// This controller is stopping, the conversation is not: it stays
		// bridged for the next controller to take over (resume, Resume).
		<-ctx.Done()
		return Handoff{}, ctx.Err()
	}
	select {
	case <-callerGone:
		d.leg.Hangup(bctx)
	default:
		// The agent hung up: the caller's side is hung up by its owner
		// (the flow's finish), or here for a recall's citizen.
		if busy {
			caller.Hangup(bctx)
		}
	}
	b.Destroy(bctx)
	o.talkEnded(log, callID, d.a.AgentID, d.leg.ID())
	// Handle time is how long the agent was taken: ringing and talking.
	_ = o.store.ObserveHandleTime(bctx, queue, o.now().Sub(d.started), o.cfg.DefaultHandleTime)
	return Handoff{Outcome: calls.OutcomeAgentAnswered, Agent: d.a.AgentID, Waited: waited}, nil
}

// talking reports whether a conversation's agent leg is still up in
// Asterisk; when Asterisk cannot tell, it is taken as up (an agent is not
// freed for another call on a guess).
func (o *Operator) talking(ctx context.Context) func(leg string) bool {
	return func(leg string) bool {
		up, err := o.phones.ChannelUp(ctx, leg)
		return up || err != nil
	}
}

// talkEnded puts the agent of a conversation that ended in wrap-up (once:
// after a restart both sides report the end). A Redis failure does not
// skip the step, which would leave the agent busy for ever: it is retried
// until Redis answers (or the agent is past that call).
func (o *Operator) talkEnded(log *slog.Logger, callID, agentID, leg string) {
	bctx := context.Background()
	o.untilDone(log, "agent wrap-up", func() error {
		if err := o.svc.CallEnded(bctx, agentID, callID); err != nil && !errors.Is(err, ErrTransition) {
			return err
		}
		return nil
	})
	o.untilDone(log, "forgetting the agent's leg", func() error { return o.store.TalkEnded(bctx, callID, leg) })
}

// retries bounds how often a step that must happen is tried in the call's
// goroutine before it is given up, loudly: about two minutes of backoff.
const retries = 30

// untilDone runs step until it succeeds, backing off from 100 ms to 5 s,
// at most retries times; every failure is logged.
func (o *Operator) untilDone(log *slog.Logger, what string, step func() error) {
	wait := 100 * time.Millisecond
	for try := 1; ; try++ {
		err := step()
		if err == nil {
			return
		}
		if try == retries {
			log.Error(what+": given up", "err", err)
			return
		}
		log.Error(what+": retrying", "err", err, "in", wait)
		time.Sleep(wait)
		wait = min(2*wait, 5*time.Second)
	}
}

// resume takes over, after a controller restart, a caller the last
// controller left talking to an agent: the conversation goes on in its
// bridge (Resume takes the agent's leg).
func (o *Operator) resume(ctx context.Context, c Channel, info CallInfo) (Handoff, error) {
	if err := o.store.Own(ctx, info.CallID, o.cfg.Instance); err != nil {
		o.log.Error("owning the conversation", "call_id", info.CallID, "err", err)
	}
	if !o.talkOn(ctx, c, info, info.Talk.AgentChannel) {
		return Handoff{}, ctx.Err()
	}
	if err := o.phones.DestroyBridge(context.Background(), info.Talk.Bridge); err != nil {
		o.log.Error("destroying the conversation's bridge", "call_id", info.CallID, "err", err)
	}
	return Handoff{Outcome: calls.OutcomeAgentAnswered, Agent: info.Agent, Waited: info.Talk.Connected.Sub(info.Entered)}, nil
}

// Resume takes over, after a controller restart, an agent's leg the last
// controller left in a conversation (resume takes the caller), or either
// side of a recall's conversation, until it ends. ok=false when the
// channel is no such leg.
func (o *Operator) Resume(ctx context.Context, leg Channel) bool {
	info, err := o.store.Leg(ctx, leg.ID())
	if err != nil || info.State != StateConnected {
		return false
	}
	other := info.Talk.CallerChannel
	if leg.ID() == other {
		other = info.Talk.AgentChannel
	}
	o.talkOn(ctx, leg, info, other)
	return true
}

// talkOn holds one side of a conversation taken over after a restart
// until it ends: when this side hangs up, or the other side is found
// gone, the other side is hung up and the agent goes to wrap-up. It
// reports false when this controller stopped meanwhile (the conversation
// goes on for the next one).
func (o *Operator) talkOn(ctx context.Context, side Channel, info CallInfo, other string) bool {
	log := o.log.With("call_id", info.CallID, "agent_id", info.Agent)
	log.Info("conversation taken over after a restart", "channel_id", side.ID())
	if up, err := o.phones.ChannelUp(ctx, other); err == nil && !up {
		// The other side hung up while no controller was there.
		side.Hangup(context.Background())
	}
	<-ctx.Done()
	if side.Detached() {
		return false
	}
	if err := o.phones.HangupChannel(context.Background(), other); err != nil {
		log.Error("hanging up the other side", "err", err)
	}
	o.talkEnded(log, info.CallID, info.Agent, info.Talk.AgentChannel)
	return true
}
