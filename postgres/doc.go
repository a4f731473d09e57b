// Package postgres opens centralino's PostgreSQL pool, applies the embedded
// schema migrations under an advisory lock (so two instances starting
// together never race), and classifies pgx errors: it is the one place that
// knows PostgreSQL error codes. Domain stores translate its classification
// into their own errors.
package postgres
