package asterisk

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/CyCoreSystems/ari/v5/client/native"
)

// Errors callers branch on.
var (
	// ErrChannelGone: the channel hung up or no longer exists (ARI 404).
	ErrChannelGone = errors.New("channel gone")
	// ErrNotConnected: Asterisk is not reachable right now.
	ErrNotConnected = errors.New("not connected to asterisk")
	// ErrConflict: the channel is not in a state for that (ARI 409/412).
	ErrConflict = errors.New("channel state conflict")
)

// translate maps an ARI client error to the package's errors, reading the
// HTTP status before wrapping (the library's CodeFromError only sees an
// unwrapped error).
func translate(err error, doing string) error {
	if err == nil {
		return nil
	}
	var re native.RequestError
	if errors.As(err, &re) {
		switch re.Code() {
		case http.StatusNotFound:
			return fmt.Errorf("%s: %w", doing, ErrChannelGone)
		case http.StatusConflict, http.StatusPreconditionFailed:
			return fmt.Errorf("%s: %w: %v", doing, ErrConflict, err)
		}
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// ErrStopped is the cause of a call's context ending because the client
// stopped while the channel stays in Asterisk.
var ErrStopped = errors.New("asterisk client stopped")
