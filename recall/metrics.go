package recall

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// metrics are the recall's figures (SPEC §8): requested, attempted,
// connected, expired, pending, and the recall service level (asked →
// connected).
type metrics struct {
	requested    *prometheus.CounterVec
	attempts     *prometheus.CounterVec
	connected    prometheus.Counter
	expired      prometheus.Counter
	closed       *prometheus.CounterVec
	prealerts    prometheus.Counter
	pending      *prometheus.GaugeVec
	oldest       prometheus.Gauge
	serviceLevel prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	return &metrics{
		requested: f.NewCounterVec(prometheus.CounterOpts{Name: "centralino_recalls_requested_total",
			Help: "Recall requests stored, by reason (wait, out_of_hours); a request that joins the number's open one is not counted again."},
			[]string{"reason"}),
		attempts: f.NewCounterVec(prometheus.CounterOpts{Name: "centralino_recall_attempts_total",
			Help: "Citizens called back, by outcome (connected, busy, no_answer, unreachable, interrupted)."}, []string{"outcome"}),
		connected: f.NewCounter(prometheus.CounterOpts{Name: "centralino_recalls_connected_total",
			Help: "Recalls whose citizen answered and was bridged to an agent."}),
		expired: f.NewCounter(prometheus.CounterOpts{Name: "centralino_recalls_expired_total",
			Help: "Recalls not served by the end of their validity."}),
		closed: f.NewCounterVec(prometheus.CounterOpts{Name: "centralino_recalls_closed_total",
			Help: "Recalls closed without a connection, by status (failed, cancelled, served_inbound, expired)."}, []string{"status"}),
		prealerts: f.NewCounter(prometheus.CounterOpts{Name: "centralino_recall_prealerts_total",
			Help: "Pre-alert SMS written for recalls about to be dialled."}),
		pending: f.NewGaugeVec(prometheus.GaugeOpts{Name: "centralino_recalls_pending",
			Help: "Open recalls (waiting for their time, in their queue, or being dialled), by reason."}, []string{"reason"}),
		oldest: f.NewGauge(prometheus.GaugeOpts{Name: "centralino_recalls_oldest_pending_seconds",
			Help: "How long ago the oldest open recall was asked (0 with none)."}),
		serviceLevel: f.NewHistogram(prometheus.HistogramOpts{Name: "centralino_recall_service_level_seconds",
			Help:    "Time from a recall's request to its citizen connected to an agent.",
			Buckets: []float64{60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800, 86400, 172800}}),
	}
}

// noMetrics are collectors registered nowhere, until Register.
func noMetrics() *metrics { return newMetrics(prometheus.NewRegistry()) }

// Register exports the recall's metrics on reg (the scheduler and the
// dialler count into the same).
func (s *Service) Register(reg prometheus.Registerer) *Service {
	s.m = newMetrics(reg)
	return s
}
