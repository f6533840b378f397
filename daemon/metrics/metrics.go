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
	"sync"
	"time"

	vm "github.com/VictoriaMetrics/metrics"

	"github.com/vinr/cashlessd/daemon"
)

// Metrics is one daemon's metric set.
type Metrics struct {
	set *vm.Set

	// The handles of labelled metrics, so that counting a request or a
	// transaction formats no metric name once it has been seen.
	requests     handles[requestLabels, requestHandles]
	transactions handles[transactionLabels, transactionHandles]
	stages       handles[daemon.Stage, *vm.Histogram]
}

// handles caches metric handles by their labels.
type handles[K comparable, V any] struct {
	mu sync.RWMutex
	m  map[K]V
}

// get returns the handles of labels k, made by newHandles the first time.
func (h *handles[K, V]) get(k K, newHandles func(K) V) V {
	h.mu.RLock()
	v, ok := h.m[k]
	h.mu.RUnlock()
	if ok {
		return v
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if v, ok := h.m[k]; ok {
		return v
	}
	if h.m == nil {
		h.m = map[K]V{}
	}
	v = newHandles(k)
	h.m[k] = v
	return v
}

// requestLabels label an HTTP request's metrics.
type requestLabels struct {
	path   string
	status int
}

// requestHandles are an HTTP request's metrics.
type requestHandles struct {
	total    *vm.Counter
	duration *vm.Histogram
}

// transactionLabels label a finished transaction's metrics.
type transactionLabels struct {
	kind   daemon.Kind
	status daemon.Status
}

// transactionHandles are a finished transaction's metrics.
type transactionHandles struct {
	total    *vm.Counter
	duration *vm.Histogram
}

// New makes an empty metric set.
func New() *Metrics { return &Metrics{set: vm.NewSet()} }

// Request counts one HTTP request.
func (m *Metrics) Request(path string, status int, took time.Duration) {
	h := m.requests.get(requestLabels{path, status}, func(l requestLabels) requestHandles {
		return requestHandles{
			total:    m.set.GetOrCreateCounter(fmt.Sprintf(`cashless_http_requests_total{path=%q,status="%s"}`, l.path, strconv.Itoa(l.status))),
			duration: m.set.GetOrCreateHistogram(fmt.Sprintf(`cashless_http_request_duration_seconds{path=%q}`, l.path)),
		}
	})
	h.total.Inc()
	h.duration.Update(took.Seconds())
}

// TransactionFinished counts a finished transaction and its duration.
func (m *Metrics) TransactionFinished(kind daemon.Kind, status daemon.Status, took time.Duration) {
	h := m.transactions.get(transactionLabels{kind, status}, func(l transactionLabels) transactionHandles {
		return transactionHandles{
			total:    m.set.GetOrCreateCounter(fmt.Sprintf(`cashless_transactions_total{kind=%q,status=%q}`, l.kind, l.status)),
			duration: m.set.GetOrCreateHistogram(fmt.Sprintf(`cashless_transaction_duration_seconds{kind=%q}`, l.kind)),
		}
	})
	h.total.Inc()
	h.duration.Update(took.Seconds())
}

// StageFinished records the time a transaction spent in a stage.
func (m *Metrics) StageFinished(stage daemon.Stage, took time.Duration) {
	m.stages.get(stage, func(s daemon.Stage) *vm.Histogram {
		return m.set.GetOrCreateHistogram(fmt.Sprintf(`cashless_stage_duration_seconds{stage=%q}`, s))
	}).Update(took.Seconds())
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
