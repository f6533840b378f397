package api_test

import (
	"context"
	"crypto/subtle"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/api"
	"github.com/vinr/cashlessd/daemon/api/wire"
	"github.com/vinr/cashlessd/daemon/metrics"
	"github.com/vinr/cashlessd/daemon/store"
)

const benchKey = "ck_bench_status"

// benchKeys takes the one benchmark key.
type benchKeys struct{}

func (benchKeys) Verify(key string) bool {
	return subtle.ConstantTimeCompare([]byte(benchKey), []byte(key)) == 1
}

// idleDevices are a reader, host and printer that are never used: a
// status poll asks nothing of them.
type idleDevices struct{}

var errIdle = errors.New("not used by the benchmark")

func (idleDevices) Detect(context.Context, daemon.CardRequest) (daemon.CardSession, error) {
	return nil, errIdle
}
func (idleDevices) Authorise(context.Context, daemon.AuthRequest) (daemon.AuthResponse, error) {
	return daemon.AuthResponse{}, errIdle
}
func (idleDevices) Reverse(context.Context, daemon.ReversalRequest) error  { return errIdle }
func (idleDevices) Settle(context.Context, daemon.SettlementRequest) error { return errIdle }
func (idleDevices) Advise(context.Context, daemon.AdviceRequest) error     { return errIdle }
func (idleDevices) Print(context.Context, daemon.Document) error           { return nil }
func (idleDevices) Status(context.Context) daemon.PrinterStatus {
	return daemon.PrinterStatus{State: daemon.PrinterReady}
}

// statusHandler is the real API handler over a real engine and a real
// bbolt store, with sales sales already booked, metrics on and logs at
// info (so status polls are not logged).
func statusHandler(b *testing.B, sales int) http.Handler {
	b.Helper()
	db, err := store.Open(b.TempDir(), time.Second)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	cfg := daemon.Config{TerminalID: "term_BENCH_01", Model: "nexgo_ct20", SoftwareVersion: "1.0.0", Currency: "USD",
		HasPrinter: true, Receipt: daemon.ReceiptLayout{Merchant: daemon.Merchant{Name: "BENCH SHOP"}, Width: 32}}
	ids := daemon.NewIDs()
	var txs []*daemon.Transaction
	for i := range sales {
		at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(i) * time.Second)
		t := &daemon.Transaction{ID: ids.New("tx"), Kind: daemon.KindSale, Reference: "BENCH-" + strings.Repeat("0", 3) + time.Duration(i).String(),
			Status: daemon.StatusApproved, Stage: daemon.StageDone, Amount: 2500, Currency: "USD",
			Card: &daemon.CardInfo{MaskedPAN: "424242******4242", Scheme: "visa", EntryMethod: daemon.EntryChip, AID: "A0000000031010",
				ApplicationLabel: "VISA CREDIT", TVR: "0000000000", TSI: "E800", Cryptogram: "0123456789ABCDEF", ATC: "0001"},
			AuthCode: "123456", HostReference: "000000000001", ResponseCode: "00", StartedAt: at, CompletedAt: at.Add(time.Second)}
		t.Receipts = daemon.BuildReceipts(cfg.Receipt, t)
		txs = append(txs, t)
	}
	if len(txs) > 0 {
		if err := db.Import(txs, func() string { return ids.New("batch") }); err != nil {
			b.Fatal(err)
		}
	}
	engine := daemon.New(cfg, daemon.Deps{Store: db, Reader: idleDevices{}, Printer: idleDevices{}, Host: idleDevices{},
		Log: zerolog.New(io.Discard).Level(zerolog.InfoLevel)})
	if err := engine.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = engine.Stop(context.Background()) })
	srv := api.New(api.Options{Engine: engine, Keys: benchKeys{}, Log: zerolog.New(io.Discard).Level(zerolog.InfoLevel),
		Metrics: metrics.New()})
	return srv.Handler()
}

// BenchmarkStatusPoll is one ECR status poll through the real handler
// (routing, request ID, key check, request log, metrics, strict decoding,
// engine, store, rendering), without TLS: what the daemon itself spends.
func BenchmarkStatusPoll(b *testing.B) {
	for _, c := range []struct {
		name  string
		sales int
	}{{"empty", 0}, {"after_sales", 3}} {
		b.Run(c.name, func(b *testing.B) {
			h := statusHandler(b, c.sales)
			body := strings.NewReader("{}")
			req := httptest.NewRequest(http.MethodPost, wire.PathStatus, body)
			req.Header.Set(api.KeyHeader, benchKey)
			req.Header.Set("Content-Type", "application/json")
			b.ReportAllocs()
			for b.Loop() {
				body.Reset("{}")
				req.Body = io.NopCloser(body) // the body limit wraps it per request
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
}
