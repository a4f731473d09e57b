package ivr

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// ArgQueueExit is the Stasis argument of a call the dialplan's queue gave
// back (extensions.conf, context cup-operator), followed by QUEUESTATUS.
const ArgQueueExit = "queue-exit"

// AppQueue is the operator hand-off through Asterisk's own app_queue
// (queue.backend: app_queue; the default is queue.Operator): the call is
// continued into the dialplan context (one extension per skill, queue
// cup-<skill>), and when app_queue gives up (no agent within Timeout) the
// dialplan sends it back to the application, where QueueExit offers a
// recall.
type AppQueue struct {
	// Context is the dialplan context ("cup-operator").
	Context string
	// Application is the Stasis application the call comes back to.
	Application string
	// Timeout is the longest wait in app_queue.
	Timeout time.Duration
}

// transferable is a call that can leave the application for the dialplan.
type transferable interface {
	SetVar(ctx context.Context, name, value string) error
	Continue(ctx context.Context, dialContext, exten string, priority int) error
}

var _ Operator = AppQueue{}

// Serve hands the call to app_queue; the call leaves the flow.
func (q AppQueue) Serve(ctx context.Context, call Call, t Ticket) (Handoff, error) {
	tc, ok := call.(transferable)
	if !ok {
		return Handoff{}, errors.New("this call cannot be continued in the dialplan")
	}
	vars := [][2]string{
		{"CENTRALINO_CALL_ID", t.CallID.String()},
		{"CENTRALINO_APP", q.Application},
		{"CENTRALINO_QUEUE_TIMEOUT", strconv.Itoa(int(q.Timeout.Seconds()))},
		{"CENTRALINO_QUEUE_REASON", t.Reason},
	}
	for _, v := range vars {
		if err := tc.SetVar(ctx, v[0], v[1]); err != nil {
			return Handoff{}, fmt.Errorf("setting %s: %w", v[0], err)
		}
	}
	if err := tc.Continue(ctx, q.Context, t.Queue, 1); err != nil {
		return Handoff{}, fmt.Errorf("continuing into %s: %w", q.Context, err)
	}
	return Handoff{Outcome: OutcomeTransferred}, nil
}
