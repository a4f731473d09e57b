package ivr

import (
	"context"
	"errors"
	"time"

	"github.com/centralino-cup/centralino/asterisk"
	"github.com/centralino-cup/centralino/booking"
	"github.com/centralino-cup/centralino/calls"
	"github.com/centralino-cup/centralino/phone"
	"github.com/centralino-cup/centralino/prompts"
	"github.com/centralino-cup/centralino/queue"
)

// Self-service branches return done=true when the call is over (booked,
// cancelled, handed to an operator) and false to go back to the main menu.

// serviceName and siteName are the prompts generated from the catalogue and
// the sites (centralinoctl prompts).
func serviceName(code string) string { return prompts.Sound(prompts.ServiceID(code)) }
func siteName(id int64) string       { return prompts.Sound(prompts.SiteID(id)) }

// keyDigits collects exactly n digits (ending early with # is allowed).
func (f *Flow) keyDigits(ctx context.Context, s *session, question string, n int, check func(string) bool) (string, error) {
	return s.ask(ctx, prompts.Sounds(question), asterisk.GatherSpec{Max: n, FirstDigit: f.cfg.MenuTimeout, InterDigit: f.cfg.InterDigit, Terminator: "#"},
		func(k string) bool { return len(k) == n && check(k) })
}

// keyBirthDate collects DDMMYYYY and checks it is a real past date.
func (f *Flow) keyBirthDate(ctx context.Context, s *session) (time.Time, error) {
	var birth time.Time
	_, err := f.keyDigits(ctx, s, "digita_data_nascita", 8, func(k string) bool {
		d, err := booking.ValidateBirthDate(k, f.Clock())
		if err != nil {
			return false
		}
		birth = d
		return true
	})
	return birth, err
}

// book: NRE, birth date, the service, slots one by one with a hold, confirm
// (SPEC §3.4).
func (f *Flow) book(ctx context.Context, s *session, st *callState) (bool, error) {
	var av booking.Availability
	for tries := 0; ; tries++ {
		if tries >= f.cfg.MaxTries {
			return true, f.operator(ctx, s, st, queue.ReasonTries, "booking")
		}
		digits, err := f.keyDigits(ctx, s, "digita_nre", 10, func(k string) bool { return booking.ValidateNREDigits(k) == nil })
		if errors.Is(err, errTooManyTries) {
			return true, f.operator(ctx, s, st, queue.ReasonTries, "booking")
		}
		if err != nil {
			return false, err
		}
		nre := f.cfg.NREPrefix + digits
		f.step(ctx, st, "nre", map[string]string{"nre": nre})
		birth, err := f.keyBirthDate(ctx, s)
		if errors.Is(err, errTooManyTries) {
			return true, f.operator(ctx, s, st, queue.ReasonTries, "booking")
		}
		if err != nil {
			return false, err
		}
		f.step(ctx, st, "birth_date", nil)
		av, err = f.Slots.Availability(ctx, nre, birth, booking.ChannelIVR, 1)
		switch {
		case err == nil:
			return f.offer(ctx, s, st, av.Service, av.Deadline, av.Slots, booked, func(h booking.Hold) (booking.Booking, error) {
				return f.Bookings.Book(ctx, booking.BookRequest{HoldToken: h.Token, NRE: nre, BirthDate: birth,
					Phone: smsNumber(st.caller, st.valid), Channel: booking.ChannelIVR})
			})
		case errors.Is(err, booking.ErrPrescriptionNotFound):
			s.lead = prompts.Sounds("ricetta_non_trovata")
		case errors.Is(err, booking.ErrIdentityMismatch):
			s.lead = prompts.Sounds("data_non_corrisponde")
		case errors.Is(err, booking.ErrPrescriptionUsed):
			s.lead = prompts.Sounds("ricetta_gia_usata")
			return false, nil
		case errors.Is(err, booking.ErrUrgentNotSelfBookable):
			f.step(ctx, st, "urgent", nil)
			s.lead = prompts.Sounds("ricetta_urgente")
			return true, f.operator(ctx, s, st, queue.ReasonUrgent, "booking")
		default:
			return false, err
		}
	}
}

// smsNumber is where a confirmation SMS goes: a mobile caller ID only.
func smsNumber(n phone.Number, valid bool) string {
	if valid && n.Kind == phone.Mobile {
		return n.E164
	}
	return ""
}

// offer reads slots one by one, each held while the caller decides:
// 1 confirm, 2 next, 0 operator. confirm turns the hold into a booking.
func (f *Flow) offer(ctx context.Context, s *session, st *callState, svc booking.CatalogueItem, deadline time.Time,
	first []booking.Slot, done completion, confirm func(booking.Hold) (booking.Booking, error)) (bool, error) {
	s.lead = append(s.lead, prompts.Sound("prestazione_richiesta"), serviceName(svc.Code))
	slots := first
	intro := "primo_disponibile"
	var last int64
	for offered := 0; ; {
		if len(slots) == 0 {
			var err error
			if last != 0 {
				slots, err = f.Slots.NextSlots(ctx, last, deadline, 3)
				if err != nil {
					return false, err
				}
			}
			if len(slots) == 0 {
				s.lead = append(s.lead, prompts.Sound("nessun_appuntamento"))
				return true, f.operator(ctx, s, st, queue.ReasonNoSlots, "booking")
			}
		}
		slot := slots[0]
		slots, last = slots[1:], slot.ID
		h, err := f.Holds.Hold(ctx, slot.ID)
		if errors.Is(err, booking.ErrSlotTaken) || errors.Is(err, booking.ErrSlotInPast) {
			continue // taken between search and hold: the next one
		}
		if err != nil {
			return false, err
		}
		st.hold = &h.Token
		offered++
		// The slot is said in full before a key is taken: a 1 pressed
		// early books nothing the caller has not heard.
		said := []string{}
		if !slot.WithinDeadline && offered == 1 {
			said = append(said, prompts.Sound("oltre_i_tempi"))
		}
		said = append(said, prompts.Sound(intro))
		said = append(said, f.dayHourPlace(slot)...)
		key, err := s.confirm(ctx, said, prompts.Sounds("scelta_appuntamento"), "120")
		if errors.Is(err, errTooManyTries) {
			key = "0"
		} else if err != nil {
			return false, err
		}
		f.step(ctx, st, "slot:"+key, nil)
		switch key {
		case "1":
			b, err := confirm(h)
			if errors.Is(err, booking.ErrHoldExpired) || errors.Is(err, booking.ErrSlotTaken) {
				st.hold = nil
				s.lead = prompts.Sounds("appuntamento_non_disponibile")
				intro = "appuntamento_successivo"
				continue
			}
			if err != nil {
				return false, err
			}
			st.hold = nil
			return true, f.confirmed(ctx, s, st, b, done)
		case "2":
			if err := f.release(ctx, st); err != nil {
				return false, err
			}
			intro = "appuntamento_successivo"
		case "0":
			if err := f.release(ctx, st); err != nil {
				return false, err
			}
			return true, f.operator(ctx, s, st, queue.ReasonAsked, "booking")
		}
	}
}

func (f *Flow) release(ctx context.Context, st *callState) error {
	if st.hold == nil {
		return nil
	}
	token := *st.hold
	st.hold = nil
	return f.Holds.ReleaseHold(ctx, token)
}

// completion is what a confirmed offer means: a new booking or a move.
type completion struct {
	// intro says what was done, before the appointment; number introduces
	// the booking number.
	intro, number string
	outcome       calls.Outcome
}

var (
	booked = completion{"prenotazione_confermata", "numero_prenotazione", calls.OutcomeSelfBooked}
	moved  = completion{"spostamento_confermato", "nuovo_numero_prenotazione", calls.OutcomeSelfMoved}
)

// confirmed says back the appointment booked and its number, says an SMS
// follows when the caller is on a mobile, and says goodbye.
func (f *Flow) confirmed(ctx context.Context, s *session, st *callState, b booking.Booking, done completion) error {
	st.number, st.outcome = b.Number, done.outcome
	media := f.receipt(done.intro, b, done.number, b.Number)
	if b.Phone != "" {
		media = append(media, prompts.Sound("sms_conferma"))
	}
	return s.say(ctx, append(media, prompts.Sound("arrivederci"))...)
}

// receipt is what the caller hears once something is done: what (intro),
// the appointment it concerns, and its code (booking number, cancellation
// code) read twice, digit by digit.
func (f *Flow) receipt(intro string, b booking.Booking, codeIntro, code string) []string {
	media := append(prompts.Sounds(intro), f.appointment(b)...)
	media = append(media, prompts.Sound(codeIntro))
	media = append(media, f.Speaker.Digits(code)...)
	media = append(media, prompts.Sound("ripeto"))
	return append(media, f.Speaker.Digits(code)...)
}

// identify collects a booking number and birth date and loads the booking,
// for cancel and move. ok=false goes back to the main menu.
func (f *Flow) identify(ctx context.Context, s *session, st *callState) (booking.Booking, time.Time, bool, error) {
	for range f.cfg.MaxTries {
		number, err := f.keyDigits(ctx, s, "digita_numero_prenotazione", 12, func(k string) bool {
			if booking.ValidateBookingNumber(k) != nil {
				s.lead = prompts.Sounds("numero_prenotazione_errato")
				return false
			}
			return true
		})
		if err != nil {
			return booking.Booking{}, time.Time{}, false, err
		}
		f.step(ctx, st, "booking_number", map[string]string{"booking_number": number})
		birth, err := f.keyBirthDate(ctx, s)
		if err != nil {
			return booking.Booking{}, time.Time{}, false, err
		}
		b, err := f.Bookings.Identify(ctx, number, birth)
		switch {
		case err == nil:
			switch b.Status {
			case booking.StatusBooked:
				if b.Slot.StartsAt.After(f.Clock()) {
					return b, birth, true, nil
				}
				s.lead = prompts.Sounds("prenotazione_non_modificabile")
			case booking.StatusCancelled:
				s.lead = prompts.Sounds("prenotazione_gia_disdetta")
			default:
				s.lead = prompts.Sounds("prenotazione_non_modificabile")
			}
			return booking.Booking{}, time.Time{}, false, nil
		case errors.Is(err, booking.ErrBookingNotFound):
			s.lead = prompts.Sounds("prenotazione_non_trovata")
		case errors.Is(err, booking.ErrIdentityMismatch):
			s.lead = prompts.Sounds("data_non_corrisponde_prenotazione")
		default:
			return booking.Booking{}, time.Time{}, false, err
		}
	}
	return booking.Booking{}, time.Time{}, false, errTooManyTries
}

// readBooking is "la prenotazione riguarda <service>, <date> presso <site>".
func (f *Flow) readBooking(b booking.Booking) []string {
	return append(prompts.Sounds("la_prenotazione_riguarda"), f.appointment(b)...)
}

// appointment is "<service>, <date> presso <site>".
func (f *Flow) appointment(b booking.Booking) []string {
	return append([]string{serviceName(b.Service.Code)}, f.dayHourPlace(b.Slot)...)
}

// dayHourPlace is a slot's weekday, day, month, hour and place.
func (f *Flow) dayHourPlace(slot booking.Slot) []string {
	m := f.Speaker.DateTime(slot.StartsAt)
	return append(m, prompts.Sound("presso"), siteName(slot.Site.ID))
}

// cancel: identify, read back, 1 confirm (SPEC §3.5).
func (f *Flow) cancel(ctx context.Context, s *session, st *callState) (bool, error) {
	b, birth, ok, err := f.identify(ctx, s, st)
	if errors.Is(err, errTooManyTries) {
		return true, f.operator(ctx, s, st, queue.ReasonTries, queueCancel)
	}
	if err != nil || !ok {
		return false, err
	}
	key, err := s.confirm(ctx, f.readBooking(b), prompts.Sounds("conferma_disdetta"), "12")
	if errors.Is(err, errTooManyTries) {
		return true, f.operator(ctx, s, st, queue.ReasonTries, queueCancel)
	}
	if err != nil {
		return false, err
	}
	f.step(ctx, st, "cancel:"+key, nil)
	if key == "2" {
		return false, nil
	}
	c, err := f.Bookings.Cancel(ctx, b.Number, birth)
	if err != nil {
		return false, err
	}
	st.number, st.outcome = c.Number, calls.OutcomeSelfCancelled
	media := f.receipt("disdetta_confermata", c, "codice_disdetta", c.CancellationCode)
	return true, s.say(ctx, append(media, prompts.Sound("arrivederci"))...)
}

// move: identify, read back, then offer slots as in book; the move is
// atomic in the booking core (SPEC §3.6).
func (f *Flow) move(ctx context.Context, s *session, st *callState) (bool, error) {
	b, birth, ok, err := f.identify(ctx, s, st)
	if errors.Is(err, errTooManyTries) {
		return true, f.operator(ctx, s, st, queue.ReasonTries, queueMove)
	}
	if err != nil || !ok {
		return false, err
	}
	key, err := s.confirm(ctx, f.readBooking(b), prompts.Sounds("conferma_spostamento"), "12")
	if errors.Is(err, errTooManyTries) {
		return true, f.operator(ctx, s, st, queue.ReasonTries, queueMove)
	}
	if err != nil {
		return false, err
	}
	f.step(ctx, st, "move:"+key, nil)
	if key == "2" {
		return false, nil
	}
	deadline := booking.Deadline(b.Priority, b.Service.Kind, f.Clock())
	slots, err := f.Slots.FreeSlots(ctx, b.Service.Code, deadline, 3)
	if err != nil {
		return false, err
	}
	return f.offer(ctx, s, st, b.Service, deadline, slots, moved, func(h booking.Hold) (booking.Booking, error) {
		return f.Bookings.Move(ctx, b.Number, birth, h.Token, booking.ChannelIVR)
	})
}
