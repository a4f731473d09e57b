// Package recall keeps the promise "la richiameremo" (SPEC §5). A recall
// request is a durable PostgreSQL row from the moment the caller accepts
// it, one open request per number; it waits in its queue (Redis) in the
// caller's place (a wait recall) or, from the opening, among the recalls
// by when they were asked (out of hours). The Scheduler, on every
// instance, moves recalls through time: due ones enter their queue in
// service hours, those past their validity expire, dials whose instance
// died come back after their lease, recalls Redis lost enter again, and
// pre-alerts go when a recall's turn is near. The Dialler dials a recall
// the moment the queue pairs it with an agent: agent first, then the
// citizen from the numero verde, bridged; a recall is claimed by one
// instance before its agent rings, and recorded connected before the
// bridge, so it is never dialled twice at the same time.
package recall
