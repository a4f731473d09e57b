package queue

import "errors"

// Errors callers branch on.
var (
	// ErrInvalid wraps every refusal of malformed input.
	ErrInvalid = errors.New("invalid queue request")
	// ErrNotWaiting: the call is not in any queue.
	ErrNotWaiting = errors.New("call not waiting")
	// ErrUnknownAgent: no such agent.
	ErrUnknownAgent = errors.New("unknown agent")
	// ErrTransition: the agent's current state does not allow the change.
	ErrTransition = errors.New("agent state change not allowed")
	// ErrUnregistered: the agent's SIP phone is not registered, so it
	// cannot be offered calls.
	ErrUnregistered = errors.New("the agent's phone is not registered")
)
