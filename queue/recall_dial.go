package queue

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/centralino-cup/centralino/asterisk"
)

// RecallDialler dials a recall whose turn came, the agent reserved for it
// (recall.Dialler). It owns the assignment from then on: it rings the
// agent (RingAgent), calls the citizen, and bridges them (Converse) or
// frees the agent (FreeAgent, GiveBack). It must not block the caller.
type RecallDialler interface {
	DialRecall(ctx context.Context, queue string, a Assignment)
}

// ServeRecalls makes d dial the recalls this instance pairs. Without it a
// recall paired here goes back to its place (another instance dials it).
func (o *Operator) ServeRecalls(d RecallDialler) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.recallDialler = d
}

// dialRecall hands a recall paired here to the dialler.
func (o *Operator) dialRecall(ctx context.Context, queue string, a Assignment) {
	o.mu.Lock()
	d := o.recallDialler
	o.mu.Unlock()
	if d == nil {
		o.log.Error("a recall was paired on an instance that dials none: it goes back to its place", "recall_id", a.RecallID)
		if err := o.svc.Release(ctx, a); err != nil {
			o.log.Error("releasing agent", "agent_id", a.AgentID, "err", err)
		}
		if err := o.store.Requeue(ctx, a.CallID); err != nil {
			o.log.Error("requeueing recall", "recall_id", a.RecallID, "err", err)
		}
		return
	}
	d.DialRecall(ctx, queue, a)
}

func (o *Operator) recallLog(queue string, a Assignment) *slog.Logger {
	return o.log.With("recall_id", a.RecallID, "agent_id", a.AgentID, "queue", queue)
}

// RingAgent rings the agent reserved for a recall, presenting callerID,
// and returns the agent's leg once answered: the agent is then busy on
// the recall (its screen shows it). Not answered (busy, no answer within
// RingTimeout, unreachable): the agent is paused with that reason, as for
// a caller, the recall keeps its place, and the leg is nil.
func (o *Operator) RingAgent(ctx context.Context, queue string, a Assignment, callerID string) (*asterisk.Call, error) {
	log := o.recallLog(queue, a)
	started := o.now()
	r := asterisk.OriginateRequest{Endpoint: a.Endpoint, CallerID: callerID, Timeout: o.cfg.RingTimeout, Formats: asterisk.TrunkFormats}
	res := asterisk.Failed
	placed, err := o.phones.Originate(ctx, r)
	var leg *asterisk.Call
	if err == nil {
		leg, res, err = o.phones.AwaitAnswer(ctx, placed, r.Timeout)
	}
	if placed != nil && placed.Detached() {
		// This controller is stopping, the agent did nothing wrong: the
		// recall goes back to its place.
		if leg != nil {
			o.phones.Release(leg)
		}
		if rerr := o.svc.Release(context.Background(), a); rerr != nil {
			log.Error("releasing agent", "err", rerr)
		}
		if rerr := o.store.Requeue(context.Background(), a.CallID); rerr != nil {
			log.Error("requeueing recall", "err", rerr)
		}
		return nil, ctx.Err()
	}
	if err != nil || res != asterisk.Answered {
		reason := o.svc.dialReason(context.Background(), a.Endpoint, res, err)
		log.Warn("agent did not answer the recall", "reason", reason, "err", err)
		if nerr := o.svc.NoAnswer(context.Background(), a, reason); nerr != nil {
			log.Error("requeueing recall after no answer", "err", nerr)
		}
		o.Dispatch(context.Background(), queue)
		return nil, nil
	}
	if _, err := o.svc.Connected(context.Background(), a); err != nil {
		leg.Hangup(context.Background())
		o.phones.Release(leg)
		return nil, fmt.Errorf("recording the agent on the recall: %w", err)
	}
	log.Info("agent answered the recall", "rang", o.now().Sub(started).Round(10*time.Millisecond))
	return leg, nil
}

// Converse bridges a recall's citizen, who answered, with its agent on leg
// (rung since rang) until either hangs up; the other is then hung up and
// the agent goes to wrap-up. A controller stopping meanwhile leaves them
// talking for the next one (Resume takes either side).
func (o *Operator) Converse(ctx context.Context, queue string, a Assignment, citizen *asterisk.Call, leg *asterisk.Call, rang time.Time) (Handoff, error) {
	d := dialed{a: a, started: rang, leg: leg, res: asterisk.Answered}
	return o.talk(ctx, o.recallLog(queue, a), queue, a.CallID, citizen, citizen.Context().Done(), d, true)
}

// FreeAgent hangs up the agent's leg of a recall whose citizen did not
// answer, and offers the agent the next call at once (no wrap-up).
func (o *Operator) FreeAgent(ctx context.Context, queue string, a Assignment, leg *asterisk.Call) {
	if leg != nil {
		leg.Hangup(context.Background())
		o.phones.Release(leg)
	}
	o.freeAgent(context.Background(), o.recallLog(queue, a), queue, a)
}

func (o *Operator) freeAgent(ctx context.Context, log *slog.Logger, queue string, a Assignment) {
	if err := o.svc.Freed(ctx, a); err != nil {
		log.Error("freeing agent", "err", err)
	}
	o.Dispatch(ctx, queue)
}

// GiveBack releases the agent reserved for a recall that is not to be
// dialled (cancelled, expired or served meanwhile, or dialled elsewhere)
// and takes the recall out of its queue.
func (o *Operator) GiveBack(ctx context.Context, queue string, a Assignment) {
	log := o.recallLog(queue, a)
	if err := o.svc.Release(context.Background(), a); err != nil {
		log.Error("releasing agent", "err", err)
	}
	if err := o.store.DropRecall(context.Background(), a.RecallID); err != nil {
		log.Error("dropping recall", "err", err)
	}
	o.Dispatch(context.Background(), queue)
}
