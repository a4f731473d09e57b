package booking

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/centralino-cup/centralino/postgres"
)

//go:embed queries/*.sql
var queryFiles embed.FS

// queries is the package's SQL, one file per statement.
var queries = postgres.LoadQueries(queryFiles, "booking")

// Constraint names the store translates into domain errors.
const (
	constraintActiveSlot         = "bookings_active_slot"
	constraintActivePrescription = "bookings_active_prescription"
	constraintCancellationCode   = "bookings_cancellation_code"
)

// translate maps a database error to the booking error a caller can branch
// on, keeping the database error wrapped for the log.
func translate(err error, doing string) error {
	switch {
	case err == nil:
		return nil
	case postgres.IsUnique(err, constraintActiveSlot):
		return fmt.Errorf("%s: %w", doing, ErrSlotTaken)
	case postgres.IsUnique(err, constraintActivePrescription):
		return fmt.Errorf("%s: %w", doing, ErrPrescriptionUsed)
	}
	return fmt.Errorf("%s: %w", doing, err)
}

type prescriptionRow struct {
	Prescription
	Used bool
}

func getPrescription(ctx context.Context, db pgx.Tx, nre string) (prescriptionRow, error) {
	var p prescriptionRow
	var prio string
	err := db.QueryRow(ctx, queries.Get("prescription"), pgx.NamedArgs{"nre": nre}).Scan(
		&p.NRE, &p.FiscalCode, &p.BirthDate, &p.ServiceCode, &prio, &p.PrescribedOn, &p.Used)
	if postgres.IsNotFound(err) {
		return p, ErrPrescriptionNotFound
	}
	if err != nil {
		return p, fmt.Errorf("loading prescription: %w", err)
	}
	p.Priority = Priority(prio)
	return p, nil
}

func getService(ctx context.Context, db rowQuerier, code string) (CatalogueItem, error) {
	var s CatalogueItem
	var kind string
	var minutes int
	err := db.QueryRow(ctx, queries.Get("service"), pgx.NamedArgs{"code": code}).Scan(&s.Code, &s.Name, &s.ShortName, &kind, &minutes)
	if postgres.IsNotFound(err) {
		return s, ErrServiceNotFound
	}
	if err != nil {
		return s, fmt.Errorf("loading service: %w", err)
	}
	s.Kind, s.Duration = Kind(kind), time.Duration(minutes)*time.Minute
	return s, nil
}

// rowQuerier is the read side shared by pools and transactions.
type rowQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func freeSlots(ctx context.Context, db rowQuerier, service string, afterStart time.Time, afterID int64, limit int, now time.Time) ([]Slot, error) {
	rows, err := db.Query(ctx, queries.Get("free_slots"), pgx.NamedArgs{
		"service_code": service, "after_starts_at": afterStart, "after_id": afterID,
		"limit": limit, "now": now,
	})
	if err != nil {
		return nil, fmt.Errorf("searching free slots: %w", err)
	}
	slots, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Slot, error) {
		var s Slot
		err := r.Scan(&s.ID, &s.ServiceCode, &s.StartsAt, &s.EndsAt, &s.AgendaID,
			&s.Site.ID, &s.Site.Name, &s.Site.ShortName, &s.Site.Address, &s.Site.City, &s.Site.OwnerKind, &s.Site.OwnerName)
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("searching free slots: %w", err)
	}
	return slots, nil
}

func getSlot(ctx context.Context, db rowQuerier, id int64, now time.Time) (Slot, bool, error) {
	var s Slot
	var free bool
	err := db.QueryRow(ctx, queries.Get("slot_by_id"), pgx.NamedArgs{"slot_id": id, "now": now}).Scan(
		&s.ID, &s.ServiceCode, &s.StartsAt, &s.EndsAt, &s.AgendaID,
		&s.Site.ID, &s.Site.Name, &s.Site.ShortName, &s.Site.Address, &s.Site.City, &s.Site.OwnerKind, &s.Site.OwnerName, &free)
	if postgres.IsNotFound(err) {
		return s, false, ErrSlotNotFound
	}
	if err != nil {
		return s, false, fmt.Errorf("loading slot: %w", err)
	}
	return s, free, nil
}

type heldSlot struct {
	ID          int64
	ServiceCode string
	StartsAt    time.Time
}

// lockHold locks the slot behind a live hold; an unknown, expired or
// already used token is ErrHoldExpired.
func lockHold(ctx context.Context, tx pgx.Tx, token uuid.UUID, now time.Time) (heldSlot, error) {
	var h heldSlot
	err := tx.QueryRow(ctx, queries.Get("lock_hold"), pgx.NamedArgs{"token": token, "now": now}).Scan(&h.ID, &h.ServiceCode, &h.StartsAt)
	if postgres.IsNotFound(err) {
		return h, ErrHoldExpired
	}
	if err != nil {
		return h, fmt.Errorf("locking held slot: %w", err)
	}
	return h, nil
}

type bookingRow struct {
	Booking
	ID int64
}

func getBooking(ctx context.Context, db rowQuerier, number string) (bookingRow, error) {
	var b bookingRow
	var status, prio, channel, kind string
	var minutes int
	err := db.QueryRow(ctx, queries.Get("booking_by_number"), pgx.NamedArgs{"number": number}).Scan(
		&b.ID, &b.Number, &status, &b.PrescriptionNRE, &prio,
		&b.FiscalCode, &b.BirthDate, &b.Phone, &channel,
		&b.CancellationCode, &b.MovedTo, &b.CreatedAt,
		&b.Slot.ID, &b.Slot.ServiceCode, &b.Slot.StartsAt, &b.Slot.EndsAt, &b.Slot.AgendaID,
		&b.Slot.Site.ID, &b.Slot.Site.Name, &b.Slot.Site.ShortName, &b.Slot.Site.Address, &b.Slot.Site.City, &b.Slot.Site.OwnerKind, &b.Slot.Site.OwnerName,
		&b.Service.Code, &b.Service.Name, &b.Service.ShortName, &kind, &minutes)
	if postgres.IsNotFound(err) {
		return b, ErrBookingNotFound
	}
	if err != nil {
		return b, fmt.Errorf("loading booking: %w", err)
	}
	b.Status, b.Priority, b.Channel = Status(status), Priority(prio), Channel(channel)
	b.Service.Kind, b.Service.Duration = Kind(kind), time.Duration(minutes)*time.Minute
	b.Slot.WithinDeadline = true
	return b, nil
}

// lockBooking takes the row lock that serialises changes to one booking.
func lockBooking(ctx context.Context, tx pgx.Tx, number string) error {
	var id int64
	err := tx.QueryRow(ctx, queries.Get("lock_booking"), pgx.NamedArgs{"number": number}).Scan(&id)
	if postgres.IsNotFound(err) {
		return ErrBookingNotFound
	}
	if err != nil {
		return fmt.Errorf("locking booking: %w", err)
	}
	return nil
}

type newBooking struct {
	ID        int64
	Number    string
	SlotID    int64
	NRE       string
	Fiscal    string
	BirthDate time.Time
	Phone     string
	Channel   Channel
}

// insertBooking returns false when the random number clashed with an
// existing one, so the caller draws another.
func insertBooking(ctx context.Context, tx pgx.Tx, b newBooking, now time.Time) (bool, error) {
	var phone *string
	if b.Phone != "" {
		phone = &b.Phone
	}
	var id int64
	err := tx.QueryRow(ctx, queries.Get("insert_booking"), pgx.NamedArgs{
		"id": b.ID, "number": b.Number, "slot_id": b.SlotID, "nre": b.NRE,
		"fiscal_code": b.Fiscal, "birth_date": b.BirthDate, "phone": phone,
		"channel": string(b.Channel), "now": now,
	}).Scan(&id)
	if postgres.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, translate(err, "inserting booking")
	}
	return true, nil
}

func nextBookingID(ctx context.Context, tx pgx.Tx) (int64, error) {
	var id int64
	if err := tx.QueryRow(ctx, queries.Get("next_booking_id")).Scan(&id); err != nil {
		return 0, fmt.Errorf("allocating booking id: %w", err)
	}
	return id, nil
}

func setStatus(ctx context.Context, tx pgx.Tx, id int64, status Status, cancellationCode string, movedTo int64, now time.Time) error {
	args := pgx.NamedArgs{"id": id, "status": string(status), "now": now, "cancellation_code": nil, "moved_to": nil}
	if cancellationCode != "" {
		args["cancellation_code"] = cancellationCode
	}
	if movedTo != 0 {
		args["moved_to"] = movedTo
	}
	if _, err := tx.Exec(ctx, queries.Get("set_status"), args); err != nil {
		return translate(err, "changing booking status")
	}
	return nil
}

// isCancellationCodeClash tells a collision of random cancellation codes,
// which is retried with a new draw.
func isCancellationCodeClash(err error) bool {
	return postgres.IsUnique(err, constraintCancellationCode)
}

var errRetry = errors.New("retry with a new random draw")
