package ivr

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/centralino-cup/centralino/asterisk"
	"github.com/centralino-cup/centralino/booking"
	"github.com/centralino-cup/centralino/queue"
	"github.com/centralino-cup/centralino/recall"
)

// Call is the live call the flow drives (*asterisk.Call): what the queue
// needs of a caller's channel, and the answer.
type Call interface {
	queue.Call
	Answer(ctx context.Context) error
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

// Recalls stores recall requests durably, and closes those of a citizen
// served meanwhile (recall.Service).
type Recalls interface {
	Request(ctx context.Context, r recall.Request) (recall.Accepted, error)
	ServedInbound(ctx context.Context, phone string) ([]int64, error)
}

// Operator takes a caller who asked for (or needs) an agent: the queue
// owns the call from here and reports how it ended (queue.Operator,
// AppQueue).
type Operator interface {
	Serve(ctx context.Context, call queue.Call, t queue.Ticket) (queue.Handoff, error)
}

// Rejoiner is an Operator that can take back, after a controller restart,
// a caller who was talking to an agent, or waiting for one when inQueue
// is true (ok=false: the call was neither).
type Rejoiner interface {
	Rejoin(ctx context.Context, call queue.Call, callID uuid.UUID, inQueue bool) (h queue.Handoff, ok bool, err error)
}

// Resumer is an Operator that can take back, after a controller restart,
// a channel of its own that is no citizen's: an agent's leg in a
// conversation the last controller left bridged (ok=false: the channel is
// not one). It returns when the channel is done with.
type Resumer interface {
	Resume(ctx context.Context, leg queue.Channel) (ok bool)
}

var (
	_ Call     = (*asterisk.Call)(nil)
	_ Speaker  = asterisk.Italian{}
	_ Slots    = (*booking.Service)(nil)
	_ Holds    = (*booking.Service)(nil)
	_ Bookings = (*booking.Service)(nil)
	_ Recalls  = (*recall.Service)(nil)
	_ Rejoiner = (*queue.Operator)(nil)
	_ Resumer  = (*queue.Operator)(nil)
	_ Operator = (*queue.Operator)(nil)
)
