package queue

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/centralino-cup/centralino/calls"
)

// The queue's counters are docs/metrics.md's terms: a caller leaves
// answered, abandoned (a short abandon counted apart as well), recall or
// failed, its wait observed in the histogram; every configured queue has
// its series from the start, so the ratios never miss a term.
func TestLeftCountsDefinitions(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m := newMetrics(reg, []string{"booking", "cancellation"}, ShortAbandon)
	cases := []struct {
		outcome calls.Outcome
		waited  time.Duration
	}{
		// Answered within 20 s.
		{calls.OutcomeAgentAnswered, 12 * time.Second},
		// Answered at exactly 30 s: within 30 s (a bucket's bound is
		// inclusive, as the report's comparison).
		{calls.OutcomeAgentAnswered, 30 * time.Second},
		// Answered after a minute.
		{calls.OutcomeAgentAnswered, 75 * time.Second},
		// Hung up after 3 s: a short abandon.
		{calls.OutcomeAbandoned, 3 * time.Second},
		// Hung up at exactly the threshold: still short.
		{calls.OutcomeAbandoned, ShortAbandon},
		// Hung up after 40 s: abandoned, not short.
		{calls.OutcomeAbandoned, 40 * time.Second},
		// Accepted the recall at two minutes.
		{calls.OutcomeRecallRequested, 2 * time.Minute},
		// Failed while queued.
		{calls.OutcomeFailed, 0},
	}
	for _, c := range cases {
		m.left("booking", c.outcome, c.waited)
	}
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP centralino_queue_calls_short_abandoned_total Abandoned callers who hung up within the short-abandon threshold (also in centralino_queue_calls_total), by queue.
# TYPE centralino_queue_calls_short_abandoned_total counter
centralino_queue_calls_short_abandoned_total{queue="booking"} 2
centralino_queue_calls_short_abandoned_total{queue="cancellation"} 0
# HELP centralino_queue_calls_total Callers that left the queue, by queue and outcome (agent_answered, abandoned, recall_requested, failed).
# TYPE centralino_queue_calls_total counter
centralino_queue_calls_total{outcome="abandoned",queue="booking"} 3
centralino_queue_calls_total{outcome="abandoned",queue="cancellation"} 0
centralino_queue_calls_total{outcome="agent_answered",queue="booking"} 3
centralino_queue_calls_total{outcome="agent_answered",queue="cancellation"} 0
centralino_queue_calls_total{outcome="failed",queue="booking"} 1
centralino_queue_calls_total{outcome="failed",queue="cancellation"} 0
centralino_queue_calls_total{outcome="recall_requested",queue="booking"} 1
centralino_queue_calls_total{outcome="recall_requested",queue="cancellation"} 0
`), "centralino_queue_calls_total", "centralino_queue_calls_short_abandoned_total"))
	// The answered waits by bucket: within 20 s 1, within 30 s 2, within
	// 60 s 2, all 3; their sum is the ASA's numerator.
	h := gatherHistogram(t, reg, "centralino_queue_wait_seconds", map[string]string{"queue": "booking", "outcome": "agent_answered"})
	within := map[float64]uint64{}
	for _, b := range h.GetBucket() {
		within[b.GetUpperBound()] = b.GetCumulativeCount()
	}
	require.Equal(t, uint64(1), within[20])
	require.Equal(t, uint64(2), within[30])
	require.Equal(t, uint64(2), within[60])
	require.Equal(t, uint64(3), h.GetSampleCount())
	require.InDelta(t, 117, h.GetSampleSum(), 1e-9)
	for _, bound := range []float64{5, 10, 20, 30, 60, 120} {
		require.Contains(t, within, bound, "the issue's buckets")
	}
}

// gatherHistogram is the histogram of the family name whose labels are
// labels.
func gatherHistogram(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) *dto.Histogram {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue metric
				}
			}
			return m.GetHistogram()
		}
	}
	t.Fatalf("no %s%v", name, labels)
	return nil
}
