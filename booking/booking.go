package booking

import (
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Priority is a prescription's priority class.
type Priority string

// Priority classes (ricetta: U urgente, B breve, D differibile, P programmata).
const (
	PriorityU Priority = "U"
	PriorityB Priority = "B"
	PriorityD Priority = "D"
	PriorityP Priority = "P"
)

// Kind tells a visit from an exam: class D has a different deadline.
type Kind string

// Service kinds.
const (
	KindVisit Kind = "visit"
	KindExam  Kind = "exam"
)

// Status is a booking's state.
type Status string

// Booking states. Booked, attended and no-show hold the slot and the
// prescription; cancelled and moved free both.
const (
	StatusBooked    Status = "booked"
	StatusCancelled Status = "cancelled"
	StatusMoved     Status = "moved"
	StatusAttended  Status = "attended"
	StatusNoShow    Status = "no_show"
)

// Channel is where a booking was made.
type Channel string

// Channels. IVR and web are self-service: they cannot book priority U.
const (
	ChannelIVR      Channel = "ivr"
	ChannelAgent    Channel = "agent"
	ChannelWeb      Channel = "web"
	ChannelCounter  Channel = "counter"
	ChannelPharmacy Channel = "pharmacy"
)

// ParseChannel validates a channel name from outside.
func ParseChannel(s string) (Channel, error) {
	switch c := Channel(s); c {
	case ChannelIVR, ChannelAgent, ChannelWeb, ChannelCounter, ChannelPharmacy:
		return c, nil
	}
	return "", fmt.Errorf("%w: channel %q is not one of ivr, agent, web, counter, pharmacy", ErrInvalidInput, s)
}

// SelfService reports whether the citizen books alone on this channel.
func (c Channel) SelfService() bool { return c == ChannelIVR || c == ChannelWeb }

// CatalogueItem is a service of the catalogue: a visit or an exam.
type CatalogueItem struct {
	Code      string        `json:"code"`
	Name      string        `json:"name"`
	ShortName string        `json:"short_name"`
	Kind      Kind          `json:"kind"`
	Duration  time.Duration `json:"-"`
}

// Prescription is an electronic prescription.
type Prescription struct {
	NRE          string    `json:"nre"`
	FiscalCode   string    `json:"-"`
	BirthDate    time.Time `json:"-"`
	ServiceCode  string    `json:"service_code"`
	Priority     Priority  `json:"priority"`
	PrescribedOn time.Time `json:"prescribed_on"`
}

// Slot is a bookable time in an agenda, with where it is.
type Slot struct {
	ID          int64     `json:"id"`
	ServiceCode string    `json:"service_code"`
	StartsAt    time.Time `json:"starts_at"`
	EndsAt      time.Time `json:"ends_at"`
	AgendaID    int64     `json:"agenda_id"`
	Site        Site      `json:"site"`
	// WithinDeadline is false for a slot offered beyond the prescription's
	// priority deadline because nothing earlier was free.
	WithinDeadline bool `json:"within_deadline"`
}

// Site is where a slot takes place.
type Site struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	ShortName string `json:"short_name"`
	Address   string `json:"address"`
	City      string `json:"city"`
	OwnerKind string `json:"owner_kind"`
	OwnerName string `json:"owner_name"`
}

// Availability answers "when can this prescription be booked": the service,
// the priority deadline and the earliest free slots in time order.
type Availability struct {
	Prescription Prescription  `json:"prescription"`
	Service      CatalogueItem `json:"service"`
	Deadline     time.Time     `json:"deadline"`
	Slots        []Slot        `json:"slots"`
}

// Prescribed is a prescription as an agent reads it: its service, the
// deadline its priority sets from now, and whether a booking already uses
// it.
type Prescribed struct {
	Prescription Prescription  `json:"prescription"`
	Service      CatalogueItem `json:"service"`
	Deadline     time.Time     `json:"deadline"`
	Used         bool          `json:"used"`
}

// Hold reserves one slot for one caller until ExpiresAt.
type Hold struct {
	Token     uuid.UUID `json:"token"`
	SlotID    int64     `json:"slot_id"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Booking is an appointment.
type Booking struct {
	Number           string        `json:"number"`
	Status           Status        `json:"status"`
	Slot             Slot          `json:"slot"`
	Service          CatalogueItem `json:"service"`
	PrescriptionNRE  string        `json:"prescription_nre"`
	Priority         Priority      `json:"priority"`
	FiscalCode       string        `json:"-"`
	BirthDate        time.Time     `json:"-"`
	Phone            string        `json:"-"`
	Channel          Channel       `json:"channel"`
	CancellationCode string        `json:"cancellation_code,omitempty"`
	// MovedTo is the number of the booking that replaced a moved one.
	MovedTo   string    `json:"moved_to,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Rome is where service days and deadlines are counted.
var Rome = mustLoadLocation("Europe/Rome")

func mustLoadLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(fmt.Sprintf("booking: time zone %s: %v", name, err))
	}
	return loc
}

// Deadline is the latest start a slot may have to meet the priority, for a
// request made at requestedAt (SPEC §7): U within 72 hours; B, D and P by
// the end of the 10th, 30th (visits) or 60th (exams), and 120th calendar day
// after the request, counted in Europe/Rome.
func Deadline(p Priority, k Kind, requestedAt time.Time) time.Time {
	if p == PriorityU {
		return requestedAt.Add(72 * time.Hour)
	}
	days := 120
	switch p {
	case PriorityB:
		days = 10
	case PriorityD:
		days = 30
		if k == KindExam {
			days = 60
		}
	}
	local := requestedAt.In(Rome)
	y, m, d := local.Date()
	// Midnight at the start of day d+days+1, minus a nanosecond: the last
	// instant of the deadline day, right across DST changes.
	return time.Date(y, m, d+days+1, 0, 0, 0, 0, Rome).Add(-time.Nanosecond).UTC()
}
