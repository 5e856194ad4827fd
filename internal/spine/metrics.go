package spine

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the service's Prometheus instruments, on a registry of its own
// so that several services can live in one process (tests, the demo).
type metrics struct {
	reg        *prometheus.Registry
	messages   *prometheus.CounterVec   // by interaction and outcome
	latency    *prometheus.HistogramVec // handling time by interaction
	replays    prometheus.Counter
	httpReqs   *prometheus.CounterVec // by route and status
	storeErrs  prometheus.Counter
	signatures *prometheus.CounterVec // by result: valid or the first failure's name
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eps_messages_total",
			Help: "HL7 V3 messages handled, by interaction and acknowledgement outcome (AA, AE, AR).",
		}, []string{"interaction", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "eps_message_seconds",
			Help:    "Time to decode, apply and durably store one message.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"interaction"}),
		replays: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eps_replays_total",
			Help: "Messages recognised as replays of one already handled (answered as the first time).",
		}),
		httpReqs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eps_http_requests_total",
			Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		storeErrs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eps_store_errors_total",
			Help: "Store operations that failed (the message was not acknowledged).",
		}),
		signatures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eps_signature_checks_total",
			Help: "Prescription signatures verified on receipt, by result (valid, or the first failure).",
		}, []string{"result"}),
	}
	m.reg.MustRegister(m.messages, m.latency, m.replays, m.httpReqs, m.storeErrs, m.signatures,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
