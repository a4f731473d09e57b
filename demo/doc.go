// Package demo is a morning at the CUP through the real stack: the daemon
// (app) on PostgreSQL, Redis and the Asterisk sandbox, the Twilio
// stand-in, simulated agents logged in through the agent API, and a few
// hundred simulated citizens (callsim) calling the numero verde at a
// realistic rate: out of hours before the opening (their recalls dialled
// at 08:00), then booking, cancelling and moving by themselves, asking
// for an operator, waiting past the (scaled) two-minute rule and taking
// the recall, hanging up; bookings made before the morning get their
// reminders, and one citizen replies ANNULLA to its confirmation. At the
// end the manager's report of the morning, set against what the
// simulator did.
package demo
