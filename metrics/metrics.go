// Package metrics is what the service tells Prometheus: requests by route
// pattern, top-ups and notifications by outcome, reconciler passes, the
// database pool and the Go runtime. Every method is safe on a nil
// *Metrics, which records nothing, so tests and tools need not build one.
package metrics

import (
	"database/sql"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the service's collectors in a registry of its own (not the
// global one, so two servers in one test process do not collide).
type Metrics struct {
	reg           *prometheus.Registry
	requests      *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	topUps        *prometheus.CounterVec
	notifications *prometheus.CounterVec
	postings      *prometheus.CounterVec
	postingTime   *prometheus.HistogramVec
	passes        *prometheus.CounterVec
	changed       prometheus.Counter
	lag           prometheus.Gauge
}

// New registers every collector; conn, when not nil, is the database pool
// whose connections in use and waits are exported.
func New(conn *sql.DB) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "im2pay_http_requests_total", Help: "HTTP requests answered, by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "im2pay_http_request_duration_seconds", Help: "Time to answer an HTTP request, by route pattern and method.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"route", "method"}),
		topUps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "im2pay_topups_total", Help: "Top-up orders by payment method and what happened to them (created, paid, failed, cancelled, closed).",
		}, []string{"method", "outcome"}),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "im2pay_notifications_total", Help: "Provider notifications received, by provider and outcome (verified, refused, duplicate, unknown_order).",
		}, []string{"provider", "outcome"}),
		postings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "im2pay_ledger_postings_total", Help: "Ledger transactions posted (money moved), by kind.",
		}, []string{"kind"}),
		postingTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "im2pay_ledger_posting_duration_seconds", Help: "Time of a posting's query, by kind.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"kind"}),
		passes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "im2pay_reconciler_passes_total", Help: "Reconciler passes, by result (ok, error).",
		}, []string{"result"}),
		changed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "im2pay_reconciler_orders_changed_total", Help: "Orders whose state the reconciler changed.",
		}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "im2pay_reconciler_lag_seconds", Help: "How late the oldest due order check was when the last pass began.",
		}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.topUps, m.notifications, m.postings, m.postingTime, m.passes, m.changed, m.lag,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if conn != nil {
		m.reg.MustRegister(collectors.NewDBStatsCollector(conn, "im2pay"))
	}
	return m
}

// AddReplicaPool exports the replica's pool (DATABASE_REPLICA_URL) beside
// the primary's: the go_sql_* series with db_name="im2pay_replica".
func (m *Metrics) AddReplicaPool(conn *sql.DB) {
	if m != nil && conn != nil {
		m.reg.MustRegister(collectors.NewDBStatsCollector(conn, "im2pay_replica"))
	}
}

// Handler serves the registry in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Request records one answered request. route must be the router's
// pattern ("/recharge/orders/:no"), never the raw path: one series per
// order number would grow without bound.
func (m *Metrics) Request(route, method string, status int, took time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route, method).Observe(took.Seconds())
}

// TopUp records that an order of method reached outcome.
func (m *Metrics) TopUp(method, outcome string) {
	if m == nil {
		return
	}
	m.topUps.WithLabelValues(method, outcome).Inc()
}

// Notification records a provider notification and how it was taken.
func (m *Metrics) Notification(provider, outcome string) {
	if m == nil {
		return
	}
	m.notifications.WithLabelValues(provider, outcome).Inc()
}

// Posting records a ledger posting of kind that took took.
func (m *Metrics) Posting(kind string, took time.Duration) {
	if m == nil {
		return
	}
	m.postings.WithLabelValues(kind).Inc()
	m.postingTime.WithLabelValues(kind).Observe(took.Seconds())
}

// ReconcilePass records one reconciler pass.
func (m *Metrics) ReconcilePass(changed int, lag time.Duration, err error) {
	if m == nil {
		return
	}
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.passes.WithLabelValues(result).Inc()
	m.changed.Add(float64(changed))
	m.lag.Set(lag.Seconds())
}
