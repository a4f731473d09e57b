// Package ivr is the numero verde's call flow (SPEC §3): service hours,
// the Italian menus, self-service booking, cancellation and moves through
// the booking core, and the hand-off to the agent queue or to a recall.
package ivr
