package sms

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/centralino-cup/centralino/booking"
	"github.com/centralino-cup/centralino/phone"
)

// Notifier writes a booking's messages into the outbox inside the
// booking's own transaction (booking.Events): the confirmation at once
// (the citizen has just asked for it), the reminder days before the
// appointment at an allowed hour;
// a cancellation withdraws what is pending and confirms with the code; a
// move withdraws the old booking's reminder and times the new one's.
type Notifier struct {
	Outbox *Outbox
	Quiet  Quiet
	// ReminderDays before the appointment (SPEC §6: 5).
	ReminderDays int
	// NumeroVerde is the number citizens call.
	NumeroVerde string
}

var _ booking.Events = Notifier{}

func (n Notifier) appointment(b booking.Booking, number string) Appointment {
	return Appointment{Service: b.Service.ShortName, At: b.Slot.StartsAt, Place: b.Slot.Site.ShortName, Number: number}
}

func (n Notifier) enqueue(ctx context.Context, tx pgx.Tx, k Kind, b booking.Booking, number string, due, now time.Time) error {
	body, err := Text(k, n.appointment(b, number), n.Quiet.Loc, n.NumeroVerde)
	if err != nil {
		return err
	}
	_, err = n.Outbox.Enqueue(ctx, tx, Message{Kind: k, BookingNumber: b.Number, Phone: b.Phone, Body: body, Due: due}, now)
	return err
}

// mobile: only an Italian mobile number gets SMS.
func mobile(p string) bool {
	num, ok := phone.ParseItalian(p)
	return ok && num.Kind == phone.Mobile
}

// Booked enqueues the confirmation and the reminder.
func (n Notifier) Booked(ctx context.Context, tx pgx.Tx, b booking.Booking, now time.Time) error {
	if !mobile(b.Phone) {
		return nil
	}
	if err := n.enqueue(ctx, tx, Confirmation, b, b.Number, now, now); err != nil {
		return fmt.Errorf("confirmation sms: %w", err)
	}
	return n.Remind(ctx, tx, b, now)
}

// Remind enqueues a booking's reminder alone, for its time: a booking made
// before the outbox knew it (imported from another system) gets the
// reminder a booking made here would have. Booked closer than the
// reminder's lead, or from a landline, none.
func (n Notifier) Remind(ctx context.Context, tx pgx.Tx, b booking.Booking, now time.Time) error {
	if !mobile(b.Phone) {
		return nil
	}
	at := n.Quiet.ReminderAt(b.Slot.StartsAt, n.ReminderDays)
	if !at.After(now) || !at.Before(b.Slot.StartsAt) {
		return nil
	}
	if err := n.enqueue(ctx, tx, Reminder, b, b.Number, at, now); err != nil {
		return fmt.Errorf("reminder sms: %w", err)
	}
	return nil
}

// Cancelled withdraws pending messages and confirms with the code.
func (n Notifier) Cancelled(ctx context.Context, tx pgx.Tx, b booking.Booking, now time.Time) error {
	for _, k := range []Kind{Reminder, Confirmation} {
		if _, err := n.Outbox.Withdraw(ctx, tx, b.Number, k, now); err != nil {
			return err
		}
	}
	if !mobile(b.Phone) {
		return nil
	}
	if err := n.enqueue(ctx, tx, Cancellation, b, b.CancellationCode, now, now); err != nil {
		return fmt.Errorf("cancellation sms: %w", err)
	}
	return nil
}

// Moved withdraws the old booking's pending messages; the new booking gets
// its own confirmation and reminder.
func (n Notifier) Moved(ctx context.Context, tx pgx.Tx, old, moved booking.Booking, now time.Time) error {
	for _, k := range []Kind{Reminder, Confirmation} {
		if _, err := n.Outbox.Withdraw(ctx, tx, old.Number, k, now); err != nil {
			return err
		}
	}
	return n.Booked(ctx, tx, moved, now)
}
