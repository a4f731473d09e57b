// Package config holds centralino's one configuration struct: defaults that
// need no editing on a development machine, a YAML file that overrides them,
// environment variables that override URLs and secrets, and Validate, which
// the binaries call once at start.
package config
