// Package recall owns recall requests (SPEC §5): a request is a durable
// PostgreSQL row from the moment the caller accepts it, one open request
// per number. The dialler that serves them (agent-first, retries in service
// hours, exactly once across instances) builds on this store.
package recall
