// Package pii keeps personal data out of logs in clear: phone numbers and
// codici fiscali are logged masked, through value types that mask
// themselves (Phone, FiscalCode) and a slog ReplaceAttr that masks the
// attributes known to carry them even when a caller forgot the type.
package pii
