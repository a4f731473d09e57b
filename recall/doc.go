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
// bridge, so it is never dialled twice at the same time. A recall paired
// out of hours (a wait recall still in its queue at the closing) is not
// dialled: it waits for the opening, in its place. A dial whose instance
// died is taken back after its lease; if it had called the citizen, the
// try counts, the citizen's leg is hung up and the try's call record is
// ended (as failed: the records have no outcome for an interrupted try).
// A recall an instance paired with an agent and died before claiming
// enters its queue again once the agent is freed (reconcile).
//
// The benchmark (recall/bench) runs the production scheduler, queue
// pairing and dialler up to the claim, and replaces the dial step after
// it (the agent rung, the citizen called, the bridge) by a counting sink
// (Dialler.WithDialSink). The dial cannot be cut from the pairing: a
// recall is dialled only when the queue pairs it with a free agent, so
// the pairing is measured with it.
package recall
