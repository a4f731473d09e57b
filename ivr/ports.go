package ivr

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/centralino-cup/centralino/booking"
	"github.com/centralino-cup/centralino/recall"
)

// Call is the live call the flow drives. The asterisk package's Call
// implements it; tests may use a scripted one.
type Call interface {
	// Answer answers the call.
	Answer(ctx context.Context) error
	// Gather plays media in order with barge-in, then collects digits as
	// spec says. It returns the keys pressed (without the terminator); ""
	// when nothing was pressed before the timeout. An error means the call
	// is gone or Asterisk failed.
	Gather(ctx context.Context, media []string, spec GatherSpec) (string, error)
	// Hangup ends the call.
	Hangup(ctx context.Context) error
}

// GatherSpec bounds a digit collection.
type GatherSpec struct {
	// Max digits; collection ends when reached. Zero plays the media only:
	// a key pressed meanwhile cuts it short and is returned.
	Max int
	// FirstDigit is how long to wait for the first key after the prompts.
	FirstDigit time.Duration
	// InterDigit is how long to wait between keys.
	InterDigit time.Duration
	// Terminator ends the collection early ("#"), or "" for none.
	Terminator string
}

// Speaker turns values into Italian media from Asterisk's core sounds.
type Speaker interface {
	// Digits reads a string of digits one by one.
	Digits(s string) []string
	// DateTime reads weekday, day, month, hour and minutes ("lunedì 3
	// marzo alle ore 9 e 30") in the service's time zone.
	DateTime(t time.Time) []string
}

// Slots finds appointments.
type Slots interface {
	Availability(ctx context.Context, nre string, birth time.Time, ch booking.Channel, n int) (booking.Availability, error)
	NextSlots(ctx context.Context, after int64, deadline time.Time, n int) ([]booking.Slot, error)
	FreeSlots(ctx context.Context, service string, deadline time.Time, n int) ([]booking.Slot, error)
}

// Holds keeps an offered slot while the caller decides.
type Holds interface {
	Hold(ctx context.Context, slotID int64) (booking.Hold, error)
	ReleaseHold(ctx context.Context, token uuid.UUID) error
}

// Bookings changes bookings.
type Bookings interface {
	Book(ctx context.Context, r booking.BookRequest) (booking.Booking, error)
	Identify(ctx context.Context, number string, birth time.Time) (booking.Booking, error)
	Cancel(ctx context.Context, number string, birth time.Time) (booking.Booking, error)
	Move(ctx context.Context, number string, birth time.Time, hold uuid.UUID, ch booking.Channel) (booking.Booking, error)
}

// Recalls stores recall requests durably.
type Recalls interface {
	Request(ctx context.Context, r recall.Request) (recall.Accepted, error)
}

// Operator takes a caller who asked for (or needs) an agent: the queue
// owns the call from here and reports how it ended.
type Operator interface {
	Serve(ctx context.Context, call Call, t Ticket) (Handoff, error)
}

// Rejoiner is an Operator that can take back, after a controller restart,
// a caller who was talking to an agent, or waiting for one when queue is
// true (ok=false: the call was neither).
type Rejoiner interface {
	Rejoin(ctx context.Context, call Call, callID uuid.UUID, queue bool) (h Handoff, ok bool, err error)
}

// Ticket is what the agent's screen shows about the caller.
type Ticket struct {
	CallID uuid.UUID
	// Caller is E.164, or empty when withheld.
	Caller string
	// Queue is the skill the IVR path asks for ("booking", "cancellation").
	Queue string
	// Keyed is what the caller keyed in the IVR (NRE, booking number).
	Keyed map[string]string
	// Reason says why the IVR handed over ("asked", "urgent", "tries").
	Reason     string
	EnteredIVR time.Time
}

// Handoff is how the queue's part of the call ended.
type Handoff struct {
	Outcome  Outcome
	RecallID int64
	// Agent answered (AgentAnswered) after Waited in the queue.
	Agent  string
	Waited time.Duration
}

var (
	_ Slots    = (*booking.Service)(nil)
	_ Holds    = (*booking.Service)(nil)
	_ Bookings = (*booking.Service)(nil)
	_ Recalls  = (*recall.Service)(nil)
)
