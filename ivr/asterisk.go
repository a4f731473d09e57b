package ivr

import (
	"context"

	"github.com/centralino-cup/centralino/asterisk"
	"github.com/centralino-cup/centralino/recall"
)

// Stasis runs the flow for every call the asterisk client hands over: the
// numero verde's calls ("inbound"), calls coming back from the dialplan's
// queue ("queue-exit"), and calls found after a controller restart.
type Stasis struct {
	Flow *Flow
}

var _ asterisk.Handler = (*Stasis)(nil)

// Handle is a call entering the application.
func (h *Stasis) Handle(ctx context.Context, c *asterisk.Call) {
	in := Inbound{ChannelID: c.ID(), CallerID: c.Caller(), DID: c.DID()}
	if args := c.Args(); len(args) > 0 && args[0] == ArgQueueExit {
		status := ""
		if len(args) > 1 {
			status = args[1]
		}
		h.Flow.QueueExit(ctx, c, in, status)
		return
	}
	h.Flow.Handle(ctx, c, in)
}

// Recover is a call found in the application after a restart: an agent's
// leg goes back to the operator; a caller talking to an agent goes on
// talking, one waiting for an agent keeps its place (Rejoin); otherwise
// what the call was doing is lost with the old process, so it is greeted
// again.
func (h *Stasis) Recover(ctx context.Context, c *asterisk.Call) {
	if r, ok := h.Flow.Operator.(Resumer); ok && r.Resume(ctx, c) {
		return
	}
	if id, err := c.Var(ctx, recall.VarRecall); err == nil && id != "" {
		// A recall's citizen whose dial died with the last controller: no
		// caller of the numero verde. It is hung up; the recall's lease
		// brings it back, and the try is counted.
		h.Flow.Log.Warn("a recall's citizen found after a restart: hung up", "recall_id", id)
		c.Hangup(ctx)
		return
	}
	h.Flow.Handle(ctx, c, Inbound{ChannelID: c.ID(), CallerID: c.Caller(), DID: c.DID(), Recovered: true})
}
