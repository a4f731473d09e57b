package ivr

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/centralino-cup/centralino/asterisk"
	"github.com/centralino-cup/centralino/calls"
	"github.com/centralino-cup/centralino/queue"
)

// ArgQueueExit is the Stasis argument of a call the dialplan's queue gave
// back (extensions.conf, context cup-operator), followed by QUEUESTATUS.
const ArgQueueExit = "queue-exit"

// Dialplan continues a channel in Asterisk's dialplan with variables set
// (*asterisk.Client).
type Dialplan interface {
	ContinueIn(ctx context.Context, channelID, dialContext, exten string, vars map[string]string) error
}

var _ Dialplan = (*asterisk.Client)(nil)

// AppQueue is the operator hand-off through Asterisk's own app_queue
// (queue.backend: app_queue; the default is queue.Operator): the call is
// continued into the dialplan context (one extension per skill, queue
// cup-<skill>), and when app_queue gives up (no agent within Timeout) the
// dialplan sends it back to the application, where QueueExit offers a
// recall.
type AppQueue struct {
	Dialplan Dialplan
	// Context is the dialplan context ("cup-operator").
	Context string
	// Application is the Stasis application the call comes back to.
	Application string
	// Timeout is the longest wait in app_queue.
	Timeout time.Duration
}

var _ Operator = AppQueue{}

// Serve hands the call to app_queue; the call leaves the flow.
func (q AppQueue) Serve(ctx context.Context, call queue.Call, t queue.Ticket) (queue.Handoff, error) {
	vars := map[string]string{
		"CENTRALINO_CALL_ID":       t.CallID.String(),
		"CENTRALINO_APP":           q.Application,
		"CENTRALINO_QUEUE_TIMEOUT": strconv.Itoa(int(q.Timeout.Seconds())),
		"CENTRALINO_QUEUE_REASON":  string(t.Reason),
	}
	if err := q.Dialplan.ContinueIn(ctx, call.ID(), q.Context, t.Queue, vars); err != nil {
		return queue.Handoff{}, fmt.Errorf("continuing into %s: %w", q.Context, err)
	}
	return queue.Handoff{Outcome: calls.OutcomeTransferred}, nil
}
