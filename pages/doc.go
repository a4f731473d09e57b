// Package pages is what agents and managers see in a browser (SPEC §8):
// the agent desktop at /desk and the wallboard at /wallboard, in Italian,
// with every asset embedded in the binary (no CDN, no external font, no
// network at run time).
//
// Live state reaches a page through server-sent events: a hub per
// instance reads the shared state (the queue's agents and callers in
// Redis) four times a second while a page is open, and the slower figures
// (the day's report, the open recalls) every few seconds from PostgreSQL,
// and sends each open page its view whenever that view changed. Every
// instance reads the same Redis, so a change made through instance A
// shows on a page served by instance B as quickly as on A's own. A page
// whose stream drops, or whose instance stops reading, says so ("dati non
// aggiornati") and reconnects by itself.
//
// The booking operations of the desk call the booking core's JSON API
// (/api/v1/...) with the agent's own session, as any other client does;
// the desk adds only the screen-pop (the caller's prescription or
// booking, read for the agent) and the number's reveal, which is logged
// (who, which call; never the number).
package pages
