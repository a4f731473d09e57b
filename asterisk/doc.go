// Package asterisk is centralino's ARI adapter, the only package that
// imports github.com/CyCoreSystems/ari/v5. It keeps a connection to
// Asterisk alive (reconnecting with backoff), hands every channel that
// enters the Stasis application to a Handler in its own goroutine, hands
// channels found after a (re)connect to Recover (Asterisk does not replay
// missed events), and routes events to per-call ordered mailboxes that
// never block the reader: the library's bus drops events when a
// subscriber's 100-event buffer is full, so the one subscriber here only
// appends to unbounded queues.
//
// A Call offers what the IVR and the queue need (answer, play with
// barge-in, gather digits, music on hold, bridge, dial, hang up) without
// ARI types. Say builds Italian media for numbers, digits, dates and times
// from Asterisk's Italian core sounds.
package asterisk
