package sms

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// gsm7 is the GSM 03.38 default alphabet; gsm7ext the characters that take
// two septets (escape + char).
const (
	gsm7 = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsm7ext = "^{}\\[~]|€\f"
)

// Encoding tells how a text travels: GSM-7 (160 septets per segment, 153
// when split) or UCS-2 (70 characters, 67 when split).
type Encoding string

// Encodings.
const (
	GSM7 Encoding = "GSM-7"
	UCS2 Encoding = "UCS-2"
)

// Segments returns the encoding and the number of SMS segments of text.
func Segments(text string) (Encoding, int) {
	septets, gsm := 0, true
	for _, r := range text {
		switch {
		case strings.ContainsRune(gsm7, r):
			septets++
		case strings.ContainsRune(gsm7ext, r):
			septets += 2
		default:
			gsm = false
		}
	}
	if gsm {
		if septets <= 160 {
			return GSM7, 1
		}
		return GSM7, (septets + 152) / 153
	}
	n := utf8.RuneCountInString(text)
	if n <= 70 {
		return UCS2, 1
	}
	return UCS2, (n + 66) / 67
}

// Appointment is what a booking SMS says: no diagnosis, no codice fiscale.
type Appointment struct {
	// Service is the short service name ("Visita cardiologica").
	Service string
	At      time.Time
	// Place is the site's short name.
	Place string
	// Number is the booking number.
	Number string
}

var (
	weekdays = [...]string{"dom", "lun", "mar", "mer", "gio", "ven", "sab"}
	// ErrTooLong: the text would not fit one segment even shortened.
	ErrTooLong = errors.New("sms text longer than one segment")
)

// Kind is why a message is sent.
type Kind string

// Kinds (SPEC §6).
const (
	Confirmation Kind = "confirmation"
	Reminder     Kind = "reminder"
	Cancellation Kind = "cancellation"
	RecallFailed Kind = "recall_failed"
	// RecallPrealert: the recall is about to be dialled, from the numero
	// verde (citizens do not answer unknown numbers).
	RecallPrealert Kind = "recall_prealert"
	// NothingToCancel answers an ANNULLA that found no booking to cancel.
	NothingToCancel Kind = "nothing_to_cancel"
)

// kinds are every Kind, for the metrics' series.
var kinds = []Kind{Confirmation, Reminder, Cancellation, RecallFailed, RecallPrealert}

// Immediate reports whether a kind goes at once, whatever the hour: what
// the citizen has just asked for (a booking's confirmation, a
// cancellation's code, the recall about to come). Reminders and notices
// wait for the allowed hours, checked when they are sent.
func (k Kind) Immediate() bool {
	return k == Confirmation || k == Cancellation || k == RecallPrealert || k == NothingToCancel
}

// RecallText is the text of a recall's message: k is RecallPrealert or
// RecallFailed, numeroVerde the number the CUP calls from and is called on.
func RecallText(k Kind, numeroVerde string) (string, error) {
	switch k {
	case RecallPrealert:
		return fmt.Sprintf("Il CUP la richiamerà a breve dal numero %s", spaced(numeroVerde)), nil
	case RecallFailed:
		return fmt.Sprintf("CUP: abbiamo provato a richiamarla senza risposta. Ci chiami al %s", numeroVerde), nil
	}
	return "", fmt.Errorf("%q is not a recall message", k)
}

// spaced writes a toll-free number in groups of three ("800 466 222"), as
// it is read and dialled.
func spaced(n string) string {
	if len(n) != 9 || strings.Trim(n, "0123456789") != "" {
		return n
	}
	return n[:3] + " " + n[3:6] + " " + n[6:]
}

// Text writes a booking message in Italian, in loc's time, within one
// GSM-7 segment: the service and the place are shortened when the whole
// does not fit. numeroVerde is the toll-free number to call.
func Text(k Kind, a Appointment, loc *time.Location, numeroVerde string) (string, error) {
	t := a.At.In(loc)
	when := fmt.Sprintf("%s %02d/%02d ore %02d:%02d", weekdays[t.Weekday()], t.Day(), int(t.Month()), t.Hour(), t.Minute())
	service, place := a.Service, a.Place
	for {
		var s string
		switch k {
		case Confirmation:
			s = fmt.Sprintf("CUP: prenotato %s %s, %s. N. %s. Per disdire rispondi ANNULLA o chiama %s", service, when, place, a.Number, numeroVerde)
		case Reminder:
			s = fmt.Sprintf("CUP: promemoria %s %s, %s. Per disdire rispondi ANNULLA o chiama %s", service, when, place, numeroVerde)
		case Cancellation:
			s = fmt.Sprintf("CUP: disdetta la prenotazione %s del %s. Codice disdetta %s. Info %s", service, when, a.Number, numeroVerde)
		case RecallFailed, RecallPrealert:
			return RecallText(k, numeroVerde)
		default:
			return "", fmt.Errorf("unknown sms kind %q", k)
		}
		if _, n := Segments(s); n == 1 {
			return s, nil
		}
		// Shorten the longest free-text part by a word and try again.
		switch {
		case len(place) >= len(service) && shorten(&place):
		case shorten(&service):
		case shorten(&place):
		default:
			return s, ErrTooLong
		}
	}
}

// shorten drops the last word of s (keeping at least one); false when
// nothing more can go.
func shorten(s *string) bool {
	i := strings.LastIndexByte(*s, ' ')
	if i <= 0 {
		return false
	}
	*s = (*s)[:i]
	return true
}
