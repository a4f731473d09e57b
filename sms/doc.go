// Package sms is centralino's SMS (SPEC §6): Italian texts within one
// segment where possible, quiet hours, and Twilio's webhook signatures.
//
// This milestone has the pure parts the sender and the webhooks are built
// on; the outbox, the sender loop, the reminders and the Twilio stand-in
// come next.
package sms
