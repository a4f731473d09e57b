package booking

import "errors"

// Errors the IVR, the HTTP API and other callers branch on with errors.Is.
// Every one leaves the stores unchanged.
var (
	ErrPrescriptionNotFound  = errors.New("prescription not found")
	ErrIdentityMismatch      = errors.New("birth date does not match")
	ErrPrescriptionUsed      = errors.New("prescription already used")
	ErrUrgentNotSelfBookable = errors.New("urgent (U) prescriptions are booked by an operator")
	ErrSlotNotFound          = errors.New("slot not found")
	ErrSlotTaken             = errors.New("slot taken")
	ErrSlotInPast            = errors.New("slot already started")
	ErrServiceMismatch       = errors.New("slot is for another service")
	ErrHoldExpired           = errors.New("hold expired")
	ErrBookingNotFound       = errors.New("booking not found")
	ErrAlreadyCancelled      = errors.New("booking already cancelled")
	ErrAlreadyMoved          = errors.New("booking already moved")
	ErrNotModifiable         = errors.New("booking can no longer be changed")
	ErrServiceNotFound       = errors.New("service not found")
	// ErrTooManyHolds: the client holds as many slots as it may.
	ErrTooManyHolds = errors.New("too many slots held")
	// ErrTooManyTries: too many wrong identities for a booking number, or
	// from a client, lately: refused for a while.
	ErrTooManyTries = errors.New("too many wrong identities")
)
