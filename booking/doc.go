// Package booking is the booking core (SPEC §7): the catalogue, sites and
// agendas, slots, prescriptions and bookings in PostgreSQL. It finds the
// first available slot for a prescription across every agenda of the region
// within the priority deadline, holds a slot while the citizen decides, and
// books, cancels and moves atomically. The IVR calls Service in process;
// agents' desks and other channels call the same operations through the
// HTTP JSON API (http.go, documented in openapi.yaml).
//
// The invariants that must never break live in the schema (see
// postgres/migrations): a slot is never booked twice, a prescription is
// used once, and an expired hold never blocks anyone.
package booking
