// Package sms is centralino's SMS (SPEC §6). Every message is a row of the
// outbox in PostgreSQL, written in the transaction of the booking change
// that causes it (Notifier implements booking.Events) with an idempotency
// key (kind + booking number); sender loops on several instances claim due
// rows with a lease (skip locked) and send them through Twilio's Messages
// API with twilio-go (twilio.go, the one file that imports it; the base URL
// is configurable for the stand-in in twiliostandin). A later attempt asks
// Twilio first whether an earlier one got through, so a 500 after
// acceptance, or a sender dying before recording, never sends twice.
// Texts are Italian and fit one GSM-7 segment; quiet hours hold messages
// to the next allowed minute. Webhooks (status, replies) check
// X-Twilio-Signature: ANNULLA cancels the reminded booking, STOP/START opt
// the number out and in.
package sms
