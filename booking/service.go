package booking

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/centralino-cup/centralino/clock"
)

// Options tune a Service. Zero values take the defaults.
type Options struct {
	// HoldTTL is how long a hold lasts (default 3 minutes).
	HoldTTL time.Duration
	// MinLead is how far ahead of now the first offered slot must start, so
	// nobody is offered a visit that begins before they can get there
	// (default 1 hour).
	MinLead time.Duration
	// Clock gives the current time (required); the database never reads
	// its own clock for a decision.
	Clock clock.Clock
	// Rand draws booking numbers and cancellation codes (default
	// crypto/rand).
	Rand io.Reader
	// Log receives what the service handles itself; personal data is never
	// logged in clear.
	Log *slog.Logger
	// Events, when set, is told of every booking, cancellation and move
	// inside its transaction (the SMS outbox writes its messages there, so
	// a message exists if and only if the change does).
	Events Events
	// MaxHolds is how many slots one API client may hold at a time
	// (default 5): a client cannot empty the region's availability.
	MaxHolds int
	// IdentityTries is how many wrong identities (booking number and birth
	// date that do not match) one booking number, or one client, may give
	// in IdentityWindow before it is refused for a while (defaults 5 in 10
	// minutes).
	IdentityTries  int
	IdentityWindow time.Duration
}

// Events receives booking changes inside their transaction; an error rolls
// the change back.
type Events interface {
	Booked(ctx context.Context, tx pgx.Tx, b Booking, now time.Time) error
	Cancelled(ctx context.Context, tx pgx.Tx, b Booking, now time.Time) error
	Moved(ctx context.Context, tx pgx.Tx, old, moved Booking, now time.Time) error
}

// Service is the booking core's API. It is safe for concurrent use.
type Service struct {
	db      *pgxpool.Pool
	holdTTL time.Duration
	minLead time.Duration
	now     clock.Clock
	rand    io.Reader
	log     *slog.Logger
	events  Events

	maxHolds int
	tries    *triesLimit
}

// NewService builds the booking core on a pool whose schema is migrated.
func NewService(db *pgxpool.Pool, opts Options) *Service {
	s := &Service{db: db, holdTTL: opts.HoldTTL, minLead: opts.MinLead, now: opts.Clock, rand: opts.Rand, log: opts.Log, events: opts.Events}
	if s.holdTTL <= 0 {
		s.holdTTL = 3 * time.Minute
	}
	if s.minLead <= 0 {
		s.minLead = time.Hour
	}
	s.now = clock.Must(s.now, "booking")
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.maxHolds = opts.MaxHolds
	if s.maxHolds <= 0 {
		s.maxHolds = 5
	}
	if opts.IdentityTries <= 0 {
		opts.IdentityTries = 5
	}
	if opts.IdentityWindow <= 0 {
		opts.IdentityWindow = 10 * time.Minute
	}
	s.tries = newTriesLimit(opts.IdentityTries, opts.IdentityWindow)
	s.log = s.log.With("component", "booking")
	return s
}

// maxDraws bounds the retries after a random number clashes with an
// existing one (odds below one in a million per draw at Liguria scale).
const maxDraws = 5

// maxSlots bounds one availability answer.
const maxSlots = 50

// Availability checks that the prescription can be booked on the channel by
// the person born on birthDate, then returns the n earliest free slots for
// its service across every agenda of the region, each flagged against the
// priority deadline. When nothing is free within the deadline the earliest
// slots beyond it are returned, flagged.
func (s *Service) Availability(ctx context.Context, nre string, birthDate time.Time, ch Channel, n int) (Availability, error) {
	if err := ValidateNRE(nre); err != nil {
		return Availability{}, err
	}
	if n < 1 || n > maxSlots {
		return Availability{}, fmt.Errorf("%w: limit %d must be between 1 and %d", ErrInvalidInput, n, maxSlots)
	}
	now := s.now()
	var av Availability
	err := pgx.BeginTxFunc(ctx, s.db, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		p, err := checkPrescription(ctx, tx, nre, birthDate, ch)
		if err != nil {
			return err
		}
		svc, err := getService(ctx, tx, p.ServiceCode)
		if err != nil {
			return err
		}
		slots, err := freeSlots(ctx, tx, svc.Code, now.Add(s.minLead), 0, n, now)
		if err != nil {
			return err
		}
		av = Availability{Prescription: p.Prescription, Service: svc, Deadline: Deadline(p.Priority, svc.Kind, now), Slots: slots}
		flagDeadline(av.Slots, av.Deadline)
		return nil
	})
	if err != nil {
		return Availability{}, fmt.Errorf("availability: %w", err)
	}
	return av, nil
}

// NextSlots returns up to n free slots for the same service after the
// given slot, flagged against deadline (zero deadline: no flagging).
func (s *Service) NextSlots(ctx context.Context, after int64, deadline time.Time, n int) ([]Slot, error) {
	if n < 1 || n > maxSlots {
		return nil, fmt.Errorf("%w: limit %d must be between 1 and %d", ErrInvalidInput, n, maxSlots)
	}
	now := s.now()
	ref, _, err := getSlot(ctx, s.db, after, now)
	if err != nil {
		return nil, fmt.Errorf("next slots: %w", err)
	}
	slots, err := freeSlots(ctx, s.db, ref.ServiceCode, ref.StartsAt, ref.ID, n, now)
	if err != nil {
		return nil, fmt.Errorf("next slots: %w", err)
	}
	if !deadline.IsZero() {
		flagDeadline(slots, deadline)
	}
	return slots, nil
}

// FreeSlots returns the n earliest free slots of a service from now (plus
// the minimum lead), flagged against deadline: what a move offers, since
// the booking being moved already uses its prescription.
func (s *Service) FreeSlots(ctx context.Context, serviceCode string, deadline time.Time, n int) ([]Slot, error) {
	if n < 1 || n > maxSlots {
		return nil, fmt.Errorf("%w: limit %d must be between 1 and %d", ErrInvalidInput, n, maxSlots)
	}
	now := s.now()
	slots, err := freeSlots(ctx, s.db, serviceCode, now.Add(s.minLead), 0, n, now)
	if err != nil {
		return nil, fmt.Errorf("free slots: %w", err)
	}
	flagDeadline(slots, deadline)
	return slots, nil
}

func flagDeadline(slots []Slot, deadline time.Time) {
	for i := range slots {
		slots[i].WithinDeadline = !slots[i].StartsAt.After(deadline)
	}
}

// checkPrescription applies every rule that makes a prescription bookable
// by this person on this channel.
func checkPrescription(ctx context.Context, tx pgx.Tx, nre string, birthDate time.Time, ch Channel) (prescriptionRow, error) {
	p, err := getPrescription(ctx, tx, nre)
	if err != nil {
		return p, err
	}
	if !sameDay(p.BirthDate, birthDate) {
		return p, ErrIdentityMismatch
	}
	if p.Used {
		return p, ErrPrescriptionUsed
	}
	if p.Priority == PriorityU && ch.SelfService() {
		return p, ErrUrgentNotSelfBookable
	}
	return p, nil
}

func sameDay(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}

// Hold reserves a free slot for the caller until the returned ExpiresAt.
func (s *Service) Hold(ctx context.Context, slotID int64) (Hold, error) {
	return s.HoldFor(ctx, slotID, "")
}

// HoldFor holds a slot as Hold does, for owner (a credential of the API),
// who may hold at most MaxHolds slots at a time: ErrTooManyHolds beyond.
// An owner's holds are counted under a lock of its own, so two requests
// at once cannot pass the cap together.
func (s *Service) HoldFor(ctx context.Context, slotID int64, owner string) (Hold, error) {
	now := s.now()
	h := Hold{Token: uuid.New(), SlotID: slotID, ExpiresAt: now.Add(s.holdTTL)}
	var id int64
	err := pgx.BeginTxFunc(ctx, s.db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if owner != "" {
			if _, err := tx.Exec(ctx, "select pg_advisory_xact_lock(hashtext('hold:' || $1))", owner); err != nil {
				return err
			}
			var live int
			if err := tx.QueryRow(ctx, queries.Get("live_holds"), pgx.NamedArgs{"owner": owner, "now": now}).Scan(&live); err != nil {
				return err
			}
			if live >= s.maxHolds {
				return fmt.Errorf("%w: %d slots held already, the most a client may", ErrTooManyHolds, live)
			}
		}
		return tx.QueryRow(ctx, queries.Get("hold_slot"), pgx.NamedArgs{"token": h.Token, "until": h.ExpiresAt, "slot_id": slotID,
			"now": now, "owner": owner}).Scan(&id)
	})
	if err == nil {
		return h, nil
	}
	if errors.Is(err, ErrTooManyHolds) {
		return Hold{}, fmt.Errorf("holding slot: %w", err)
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return Hold{}, fmt.Errorf("holding slot: %w", err)
	}
	// Nothing updated: say why.
	slot, free, err := getSlot(ctx, s.db, slotID, now)
	switch {
	case err != nil:
		return Hold{}, fmt.Errorf("holding slot: %w", err)
	case !slot.StartsAt.After(now):
		return Hold{}, fmt.Errorf("holding slot: %w", ErrSlotInPast)
	case !free:
		return Hold{}, fmt.Errorf("holding slot: %w", ErrSlotTaken)
	}
	return Hold{}, fmt.Errorf("holding slot: %w", ErrSlotTaken)
}

// ReleaseHold gives a held slot back at once. Releasing an expired or
// unknown hold is not an error: the slot is free either way.
func (s *Service) ReleaseHold(ctx context.Context, token uuid.UUID) error {
	if _, err := s.db.Exec(ctx, queries.Get("release_hold"), pgx.NamedArgs{"token": token}); err != nil {
		return fmt.Errorf("releasing hold: %w", err)
	}
	return nil
}

// BookRequest turns a hold into a booking.
type BookRequest struct {
	HoldToken uuid.UUID
	NRE       string
	BirthDate time.Time
	// Phone is the E.164 contact number for SMS; empty when unknown.
	Phone   string
	Channel Channel
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

func validatePhone(p string) error {
	if p != "" && !e164.MatchString(p) {
		return fmt.Errorf("%w: phone must be in E.164 form (+39...)", ErrInvalidInput)
	}
	return nil
}

// Book confirms a live hold into a booking for the prescription: the slot
// must be of the prescription's service, the prescription unused and the
// birth date right. It returns the booking with its 12-digit number.
func (s *Service) Book(ctx context.Context, r BookRequest) (Booking, error) {
	if err := ValidateNRE(r.NRE); err != nil {
		return Booking{}, err
	}
	if err := validatePhone(r.Phone); err != nil {
		return Booking{}, err
	}
	if _, err := ParseChannel(string(r.Channel)); err != nil {
		return Booking{}, err
	}
	now := s.now()
	var out Booking
	err := s.withDraws(ctx, func(tx pgx.Tx) error {
		p, err := checkPrescription(ctx, tx, r.NRE, r.BirthDate, r.Channel)
		if err != nil {
			return err
		}
		h, err := lockHold(ctx, tx, r.HoldToken, now)
		if err != nil {
			return err
		}
		if h.ServiceCode != p.ServiceCode {
			return ErrServiceMismatch
		}
		id, err := nextBookingID(ctx, tx)
		if err != nil {
			return err
		}
		number, err := s.insert(ctx, tx, newBooking{ID: id, SlotID: h.ID, NRE: p.NRE, Fiscal: p.FiscalCode,
			BirthDate: p.BirthDate, Phone: r.Phone, Channel: r.Channel}, now)
		if err != nil {
			return err
		}
		b, err := getBooking(ctx, tx, number)
		if err != nil {
			return err
		}
		out = b.Booking
		if s.events != nil {
			return s.events.Booked(ctx, tx, out, now)
		}
		return nil
	})
	if err != nil {
		return Booking{}, fmt.Errorf("booking: %w", err)
	}
	s.log.Info("booked", "booking", out.Number, "service", out.Service.Code, "slot", out.Slot.ID, "channel", out.Channel)
	return out, nil
}

// insert draws booking numbers until one is new.
func (s *Service) insert(ctx context.Context, tx pgx.Tx, nb newBooking, now time.Time) (string, error) {
	for range maxDraws {
		number, err := NewBookingNumber(s.rand)
		if err != nil {
			return "", fmt.Errorf("drawing booking number: %w", err)
		}
		nb.Number = number
		ok, err := insertBooking(ctx, tx, nb, now)
		if err != nil {
			return "", err
		}
		if ok {
			return number, nil
		}
	}
	return "", errors.New("no free booking number after several draws")
}

// withDraws runs fn in a transaction, again when a random code clashed.
func (s *Service) withDraws(ctx context.Context, fn func(pgx.Tx) error) error {
	var err error
	for range maxDraws {
		err = pgx.BeginFunc(ctx, s.db, fn)
		if !isCancellationCodeClash(err) {
			return err
		}
	}
	return err
}

// identify loads a booking by number for a change and checks the birth
// date, under the booking's row lock.
func identify(ctx context.Context, tx pgx.Tx, number string, birthDate time.Time) (bookingRow, error) {
	if err := lockBooking(ctx, tx, number); err != nil {
		return bookingRow{}, err
	}
	b, err := getBooking(ctx, tx, number)
	if err != nil {
		return b, err
	}
	if !sameDay(b.BirthDate, birthDate) {
		return b, ErrIdentityMismatch
	}
	return b, nil
}

// modifiable says why a booking cannot be cancelled or moved now.
func modifiable(b bookingRow, now time.Time) error {
	switch b.Status {
	case StatusCancelled:
		return ErrAlreadyCancelled
	case StatusMoved:
		return ErrAlreadyMoved
	case StatusAttended, StatusNoShow:
		return ErrNotModifiable
	}
	if !b.Slot.StartsAt.After(now) {
		return ErrNotModifiable
	}
	return nil
}

// Lookup returns a booking by number, for agents and other trusted
// channels.
func (s *Service) Lookup(ctx context.Context, number string) (Booking, error) {
	if err := ValidateBookingNumber(number); err != nil {
		return Booking{}, err
	}
	b, err := getBooking(ctx, s.db, number)
	if err != nil {
		return Booking{}, fmt.Errorf("looking up booking: %w", err)
	}
	return b.Booking, nil
}

// LookupPrescription returns a prescription by NRE with its service, its
// priority deadline counted from now and whether it is already used, for
// agents (the screen-pop of a caller who keyed it): no birth date is
// asked, as Lookup asks none for a booking.
func (s *Service) LookupPrescription(ctx context.Context, nre string) (Prescribed, error) {
	if err := ValidateNRE(nre); err != nil {
		return Prescribed{}, err
	}
	now := s.now()
	var out Prescribed
	err := pgx.BeginTxFunc(ctx, s.db, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		p, err := getPrescription(ctx, tx, nre)
		if err != nil {
			return err
		}
		svc, err := getService(ctx, tx, p.ServiceCode)
		if err != nil {
			return err
		}
		out = Prescribed{Prescription: p.Prescription, Service: svc, Deadline: Deadline(p.Priority, svc.Kind, now), Used: p.Used}
		return nil
	})
	if err != nil {
		return Prescribed{}, fmt.Errorf("looking up prescription: %w", err)
	}
	return out, nil
}

// Identify returns a booking by number after checking the birth date, for
// a citizen on a self-service channel (the IVR reads it back before a
// cancellation or a move).
func (s *Service) Identify(ctx context.Context, number string, birthDate time.Time) (Booking, error) {
	if err := ValidateBookingNumber(number); err != nil {
		return Booking{}, err
	}
	b, err := getBooking(ctx, s.db, number)
	if err != nil {
		return Booking{}, fmt.Errorf("identifying booking: %w", err)
	}
	if !sameDay(b.BirthDate, birthDate) {
		return Booking{}, fmt.Errorf("identifying booking: %w", ErrIdentityMismatch)
	}
	return b.Booking, nil
}

// Cancel cancels a booking identified by number and birth date: the slot is
// free at once and the booking gets its cancellation code.
func (s *Service) Cancel(ctx context.Context, number string, birthDate time.Time) (Booking, error) {
	if err := ValidateBookingNumber(number); err != nil {
		return Booking{}, err
	}
	now := s.now()
	var out Booking
	err := s.withDraws(ctx, func(tx pgx.Tx) error {
		b, err := identify(ctx, tx, number, birthDate)
		if err != nil {
			return err
		}
		if err := modifiable(b, now); err != nil {
			return err
		}
		code, err := NewCancellationCode(s.rand)
		if err != nil {
			return fmt.Errorf("drawing cancellation code: %w", err)
		}
		if err := setStatus(ctx, tx, b.ID, StatusCancelled, code, 0, now); err != nil {
			return err
		}
		b.Status, b.CancellationCode = StatusCancelled, code
		out = b.Booking
		if s.events != nil {
			return s.events.Cancelled(ctx, tx, out, now)
		}
		return nil
	})
	if err != nil {
		return Booking{}, fmt.Errorf("cancelling booking: %w", err)
	}
	s.log.Info("cancelled", "booking", out.Number, "slot", out.Slot.ID)
	return out, nil
}

// Move replaces a booking, identified by number and birth date, with a new
// one on a held slot of the same service, atomically: the old slot is
// freed only if the new one is taken. The new booking has its own number;
// the old one is marked moved and points at it.
func (s *Service) Move(ctx context.Context, number string, birthDate time.Time, holdToken uuid.UUID, ch Channel) (Booking, error) {
	if err := ValidateBookingNumber(number); err != nil {
		return Booking{}, err
	}
	if _, err := ParseChannel(string(ch)); err != nil {
		return Booking{}, err
	}
	now := s.now()
	var out Booking
	err := s.withDraws(ctx, func(tx pgx.Tx) error {
		old, err := identify(ctx, tx, number, birthDate)
		if err != nil {
			return err
		}
		if err := modifiable(old, now); err != nil {
			return err
		}
		h, err := lockHold(ctx, tx, holdToken, now)
		if err != nil {
			return err
		}
		if h.ServiceCode != old.Service.Code {
			return ErrServiceMismatch
		}
		id, err := nextBookingID(ctx, tx)
		if err != nil {
			return err
		}
		// The old booking lets go of its slot and prescription first (the
		// unique indexes are immediate); if the insert below fails, the
		// transaction rolls this back.
		if err := setStatus(ctx, tx, old.ID, StatusMoved, "", id, now); err != nil {
			return err
		}
		newNumber, err := s.insert(ctx, tx, newBooking{ID: id, SlotID: h.ID, NRE: old.PrescriptionNRE,
			Fiscal: old.FiscalCode, BirthDate: old.BirthDate, Phone: old.Phone, Channel: ch}, now)
		if err != nil {
			return err
		}
		b, err := getBooking(ctx, tx, newNumber)
		if err != nil {
			return err
		}
		out = b.Booking
		if s.events != nil {
			return s.events.Moved(ctx, tx, old.Booking, out, now)
		}
		return nil
	})
	if err != nil {
		return Booking{}, fmt.Errorf("moving booking: %w", err)
	}
	s.log.Info("moved", "booking", number, "new_booking", out.Number, "slot", out.Slot.ID)
	return out, nil
}

// MarkAttendance records whether the citizen came (attended) or not
// (no_show), once the appointment has started. Either can correct the
// other.
func (s *Service) MarkAttendance(ctx context.Context, number string, status Status) (Booking, error) {
	if err := ValidateBookingNumber(number); err != nil {
		return Booking{}, err
	}
	if status != StatusAttended && status != StatusNoShow {
		return Booking{}, fmt.Errorf("%w: attendance must be attended or no_show", ErrInvalidInput)
	}
	now := s.now()
	var out Booking
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if err := lockBooking(ctx, tx, number); err != nil {
			return err
		}
		b, err := getBooking(ctx, tx, number)
		if err != nil {
			return err
		}
		switch b.Status {
		case StatusBooked, StatusAttended, StatusNoShow:
		case StatusCancelled:
			return ErrAlreadyCancelled
		default:
			return ErrAlreadyMoved
		}
		if now.Before(b.Slot.StartsAt) {
			return ErrNotModifiable
		}
		if err := setStatus(ctx, tx, b.ID, status, "", 0, now); err != nil {
			return err
		}
		b.Status = status
		out = b.Booking
		return nil
	})
	if err != nil {
		return Booking{}, fmt.Errorf("marking attendance: %w", err)
	}
	return out, nil
}

// Catalogue lists every service, for prompts and desks.
func (s *Service) Catalogue(ctx context.Context) ([]CatalogueItem, error) {
	rows, err := s.db.Query(ctx, queries.Get("catalogue"))
	if err != nil {
		return nil, fmt.Errorf("listing catalogue: %w", err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (CatalogueItem, error) {
		var c CatalogueItem
		var kind string
		var minutes int
		err := r.Scan(&c.Code, &c.Name, &c.ShortName, &kind, &minutes)
		c.Kind, c.Duration = Kind(kind), time.Duration(minutes)*time.Minute
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("listing catalogue: %w", err)
	}
	return items, nil
}

// Sites lists every site, for prompts and desks.
func (s *Service) Sites(ctx context.Context) ([]Site, error) {
	rows, err := s.db.Query(ctx, queries.Get("sites"))
	if err != nil {
		return nil, fmt.Errorf("listing sites: %w", err)
	}
	sites, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Site, error) {
		var x Site
		err := r.Scan(&x.ID, &x.Name, &x.ShortName, &x.Address, &x.City, &x.OwnerKind, &x.OwnerName)
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("listing sites: %w", err)
	}
	return sites, nil
}
