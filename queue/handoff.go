package queue

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/centralino-cup/centralino/asterisk"
	"github.com/centralino-cup/centralino/calls"
)

// Ticket is what comes with a caller handed to the queue (by the IVR, or
// by a restart that re-adopts it), and what the agent's screen shows.
type Ticket struct {
	// CallID is the call's record (calls).
	CallID uuid.UUID
	// Caller is E.164, or empty when withheld.
	Caller string
	// Queue is the skill asked for ("booking", "cancellation").
	Queue string
	// Keyed is what the caller keyed in the IVR (NRE, booking number).
	Keyed map[string]string
	// Reason says why the caller was handed over.
	Reason     Reason
	EnteredIVR time.Time
}

// Reason is why a caller was handed to the queue.
type Reason string

// Reasons.
const (
	// ReasonAsked: the caller keyed 0.
	ReasonAsked Reason = "asked"
	// ReasonUrgent: a priority-U prescription, which self-service cannot
	// book; it goes ahead of the queue.
	ReasonUrgent Reason = "urgent"
	// ReasonTries: three failed tries in a menu.
	ReasonTries Reason = "tries"
	// ReasonNoSlots: nothing to offer within reach.
	ReasonNoSlots Reason = "no_slots"
	// reasonRecovered marks a caller re-adopted after a restart (Rejoin):
	// it keeps its old place in the queue.
	reasonRecovered Reason = "recovered"
)

// priority is the caller's rank in its queue (0..9, higher first).
func (t Ticket) priority() int {
	if t.Reason == ReasonUrgent {
		return 5
	}
	return 0
}

// Handoff is how the queue's part of a call ended.
type Handoff struct {
	Outcome calls.Outcome
	// RecallID is the recall the caller accepted (OutcomeRecallRequested).
	RecallID int64
	// Agent answered (OutcomeAgentAnswered) after Waited in the queue.
	Agent  string
	Waited time.Duration
}

// Channel is a channel the queue holds: a caller's, or an agent's leg
// (*asterisk.Call).
type Channel interface {
	ID() string
	Hangup(ctx context.Context) error
	// Detached reports that the channel outlives this controller (it is
	// stopping): its owner must neither hang it up nor record its end.
	Detached() bool
}

// Call is the caller's channel while it waits (*asterisk.Call).
type Call interface {
	Channel
	// Gather plays media with barge-in and collects keys as spec says.
	Gather(ctx context.Context, media []string, spec asterisk.GatherSpec) (string, error)
	StartMOH(ctx context.Context, class string) error
	StopMOH(ctx context.Context) error
}

// Dialler rings agents' phones and bridges them with callers
// (*asterisk.Client).
type Dialler interface {
	// Originate places a call; AwaitAnswer follows it to its outcome.
	Originate(ctx context.Context, r asterisk.OriginateRequest) (*asterisk.Call, error)
	AwaitAnswer(ctx context.Context, leg *asterisk.Call, timeout time.Duration) (*asterisk.Call, asterisk.DialResult, error)
	// Release forgets a leg this process is done with.
	Release(leg *asterisk.Call)
	Bridge(ctx context.Context, channelIDs ...string) (*asterisk.Bridge, error)
}

// Channels reaches channels and bridges by id, those a controller taking
// over after a restart holds no Call for (*asterisk.Client).
type Channels interface {
	ChannelUp(ctx context.Context, id string) (bool, error)
	HangupChannel(ctx context.Context, id string) error
	DestroyBridge(ctx context.Context, id string) error
}

// Desks tells which agents' phones can be rung (*asterisk.Client): a SIP
// desk only while it is registered.
type Desks interface {
	Registered(ctx context.Context, endpoints []string) (map[string]bool, error)
}

// Phones is what the operator needs of Asterisk.
type Phones interface {
	Dialler
	Channels
}

// Recalls keeps the place of a caller who accepts the recall offer
// (recall.Service): the recall is durable once this returns.
type Recalls interface {
	KeepPlace(ctx context.Context, t Ticket, entered time.Time) (recallID int64, err error)
}

var (
	_ Desks  = (*asterisk.Client)(nil)
	_ Call   = (*asterisk.Call)(nil)
	_ Phones = (*asterisk.Client)(nil)
)
