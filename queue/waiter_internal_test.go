package queue

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A caller's life in the queue moves only as callerMoves says; any other
// move is refused with errMove and leaves the state as it was.
func TestCallerMoves(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		from, to callerState
		ok       bool
	}{
		{callerWaiting, callerRinging, true},  // an agent is assigned and rung
		{callerRinging, callerWaiting, true},  // the agent did not answer
		{callerRinging, callerTalking, true},  // the agent answered
		{callerWaiting, callerLeft, true},     // hung up, or accepted the recall
		{callerRinging, callerLeft, true},     // hung up while the agent's phone rang
		{callerWaiting, callerTalking, false}, // nobody talks without a ring
		{callerWaiting, callerWaiting, false}, // no move to where it is
		{callerTalking, callerWaiting, false}, // the wait is over once bridged
		{callerTalking, callerLeft, false},    // the conversation is no longer the queue's
		{callerLeft, callerWaiting, false},    // a caller who left does not come back
		{callerLeft, callerRinging, false},    // nor is rung
	} {
		w := &waiter{state: tc.from}
		err := w.to(tc.to)
		if tc.ok {
			require.NoError(t, err, "%s → %s", tc.from, tc.to)
			require.Equal(t, tc.to, w.state)
			continue
		}
		require.ErrorIs(t, err, errMove, "%s → %s", tc.from, tc.to)
		require.Equal(t, tc.from, w.state, "a refused move changes nothing")
	}
}
