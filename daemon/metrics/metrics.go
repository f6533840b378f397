// Package metrics exposes cashlessd's counters in the Prometheus text
// format on a separate listener (off by default): requests by endpoint and
// status, transaction outcomes and durations, time spent per stage, bbolt
// commits, queue depths and device states. It uses VictoriaMetrics/metrics,
// a small dependency-free library, with its own Set (no global state).
package metrics

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	vm "github.com/VictoriaMetrics/metrics"

	"github.com/vinr/cashlessd/daemon"
)

// Metrics is one daemon's metric set.
type Metrics struct {
	set *vm.Set
}

// New makes an empty metric set.
func New() *Metrics { return &Metrics{set: vm.NewSet()} }

// Request counts one HTTP request.
func (m *Metrics) Request(path string, status int, took time.Duration) {
	m.set.GetOrCreateCounter(fmt.Sprintf(`cashless_http_requests_total{path=%q,status="%s"}`, path, strconv.Itoa(status))).Inc()
	m.set.GetOrCreateHistogram(fmt.Sprintf(`cashless_http_request_duration_seconds{path=%q}`, path)).Update(took.Seconds())
}

// TransactionFinished counts a finished transaction and its duration.
func (m *Metrics) TransactionFinished(kind daemon.Kind, status daemon.Status, took time.Duration) {
	m.set.GetOrCreateCounter(fmt.Sprintf(`cashless_transactions_total{kind=%q,status=%q}`, kind, status)).Inc()
	m.set.GetOrCreateHistogram(fmt.Sprintf(`cashless_transaction_duration_seconds{kind=%q}`, kind)).Update(took.Seconds())
}

// StageFinished records the time a transaction spent in a stage.
func (m *Metrics) StageFinished(stage daemon.Stage, took time.Duration) {
	m.set.GetOrCreateHistogram(fmt.Sprintf(`cashless_stage_duration_seconds{stage=%q}`, stage)).Update(took.Seconds())
}

// Gauge registers a value read at every scrape.
func (m *Metrics) Gauge(name string, f func() float64) {
	m.set.GetOrCreateGauge(name, f)
}

// WritePrometheus writes every metric and the process metrics (resident
// memory, CPU, file descriptors).
func (m *Metrics) WritePrometheus(w io.Writer) {
	m.set.WritePrometheus(w)
	vm.WriteProcessMetrics(w)
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		m.WritePrometheus(w)
	})
	return mux
}

// Listen serves /metrics over plain HTTP on addr (bind it to loopback or a
// management network) until the returned stop is called; it returns the
// address it listens on.
func (m *Metrics) Listen(addr string) (net.Addr, func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("metrics listener: %w", err)
	}
	srv := &http.Server{Handler: m.Handler(), ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return ln.Addr(), func() { _ = srv.Close() }, nil
}
