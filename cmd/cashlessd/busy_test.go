package main

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// saleAsync runs a sale in the background and delivers its answer.
func (d *daemonUnderTest) saleAsync(ref string, amount int64) <-chan response {
	ch := make(chan response, 1)
	go func() { ch <- d.sale(ref, amount) }()
	return ch
}

func TestBusyTerminalAndCancelBeforeCard(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	d.card(map[string]any{"present": false})
	first := d.saleAsync("BUSY-1", 1000)
	st := d.waitBusy("waiting_for_card")
	if st.str("status") != "busy" {
		t.Fatalf("%s", st.raw)
	}
	a := st.obj("activeTransaction")
	if a["reference"] != "BUSY-1" || a["type"] != "sale" || a["startedAt"] == "" {
		t.Fatalf("activeTransaction: %s", st.raw)
	}
	for _, f := range []string{"terminalId", "model", "softwareVersion"} {
		if st.str(f) == "" {
			t.Errorf("busy status lacks %s", f)
		}
	}
	d.sale("BUSY-2", 1000).expect(t, 409, "terminal_busy")
	d.post("/cashless/v1/refund", map[string]any{"originalReference": "X", "amount": 1, "currency": "USD", "reference": "R"}).
		expect(t, 409, "terminal_busy")
	d.post("/cashless/v1/batch/close", map[string]any{"reference": "EOD"}).expect(t, 409, "terminal_busy")
	d.post("/cashless/v1/cancel", map[string]any{"reference": "NOT-ACTIVE"}).expect(t, 404, "transaction_not_found")

	c := d.post("/cashless/v1/cancel", map[string]any{"reference": "BUSY-1"}).expect(t, 200, "")
	if c.str("status") != "cancelled" || c.str("reference") != "BUSY-1" || c.str("cancelledAt") == "" {
		t.Fatalf("%s", c.raw)
	}
	r := <-first
	r.expect(t, 409, "transaction_cancelled")
	if r.str("status") != "cancelled" {
		t.Fatalf("%s", r.raw)
	}
	st = d.waitIdle()
	if lt := st.obj("lastTransaction"); lt["reference"] != "BUSY-1" || lt["status"] != "cancelled" {
		t.Fatalf("lastTransaction: %s", st.raw)
	}
	// Nothing active: cancel has nothing to cancel.
	d.post("/cashless/v1/cancel", map[string]any{}).expect(t, 404, "transaction_not_found")
	// The reference may be used again after a cancel.
	d.card(map[string]any{"pan": "4242424242424242", "presentAfterMs": 0})
	d.sale("BUSY-1", 1000).expect(t, 200, "")
}

func TestCancelWithoutReferenceCancelsTheActiveOne(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	d.card(map[string]any{"present": false})
	first := d.saleAsync("ANY-1", 1000)
	d.waitBusy("waiting_for_card")
	d.post("/cashless/v1/cancel", "").expect(t, 200, "")
	(<-first).expect(t, 409, "transaction_cancelled")
}

func TestCancelAfterCardIsRefused(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	d.card(map[string]any{"presentAfterMs": 0})
	d.host(map[string]any{"latencyMs": 1500})
	first := d.saleAsync("INFLIGHT-1", 1000)
	d.waitBusy("authorising")
	d.post("/cashless/v1/cancel", map[string]any{"reference": "INFLIGHT-1"}).expect(t, 422, "cancel_not_allowed")
	(<-first).expect(t, 200, "")
}

func TestNoCardWithinTheTimeout(t *testing.T) {
	t.Parallel()
	cfg := writeConfig(t, "card_timeout = \"1s\"\n")
	d := startDaemon(t, t.TempDir(), "--config", cfg)
	d.card(map[string]any{"present": false})
	r := d.sale("TIMEOUT-1", 1000).expect(t, 409, "transaction_cancelled")
	if r.str("status") != "cancelled" || !strings.Contains(r.obj("error")["message"].(string), "No card") {
		t.Fatalf("%s", r.raw)
	}
}

func TestConcurrentSalesOnlyOneRuns(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	d.card(map[string]any{"presentAfterMs": 300})
	const n = 20
	var wg sync.WaitGroup
	results := make(chan response, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results <- d.sale("RACE-"+string(rune('A'+i)), 100)
		}(i)
	}
	wg.Wait()
	close(results)
	approved, busy := 0, 0
	for r := range results {
		switch r.status {
		case 200:
			approved++
		case 409:
			r.expect(t, 409, "terminal_busy")
			busy++
		default:
			t.Fatalf("unexpected %d %s", r.status, r.raw)
		}
	}
	if approved != 1 || busy != n-1 {
		t.Fatalf("approved %d busy %d", approved, busy)
	}
}

func TestDroppedClientDoesNotStopTheSale(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	d.card(map[string]any{"presentAfterMs": 400})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, d.base+"/cashless/v1/sale",
		strings.NewReader(`{"amount":1234,"currency":"USD","reference":"GONE-1"}`))
	req.Header.Set("X-VINR-Cashless-Key", simKey)
	if _, err := d.client.Do(req); err == nil {
		t.Fatal("the client should have given up")
	}
	st := d.waitIdle()
	lt := st.obj("lastTransaction")
	if lt["reference"] != "GONE-1" || lt["status"] != "approved" {
		t.Fatalf("the sale should have completed: %s", st.raw)
	}
	last := d.post("/cashless/v1/receipt/last", map[string]any{}).expect(t, 200, "")
	if last.str("reference") != "GONE-1" || last.str("status") != "approved" {
		t.Fatalf("%s", last.raw)
	}
	again := d.sale("GONE-1", 1234).expect(t, 200, "")
	if again.header.Get("Idempotent-Replayed") != "true" || again.str("transactionId") != last.str("transactionId") {
		t.Fatalf("repeat should replay: %s", again.raw)
	}
}

func TestShutdownLetsTheRunningSaleFinish(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	d.card(map[string]any{"presentAfterMs": 300})
	first := d.saleAsync("SIGTERM-1", 1000)
	d.waitBusy("waiting_for_card")
	d.stop()
	r := <-first
	r.expect(t, 200, "")
	if !strings.Contains(d.logs.String(), "shutting down") {
		t.Error("shutdown not logged")
	}
}

// A sale whose card never comes outlives the shutdown grace: the daemon
// cancels it, still answers the ECR (transaction_cancelled, nothing
// charged) and exits; the reference stays usable.
func TestShutdownGraceCancelsAWaitingSaleAndAnswersIt(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := startDaemonWith(t, func(m *Main) { m.ShutdownGrace = 300 * time.Millisecond }, dir)
	d.card(map[string]any{"present": false})
	first := d.saleAsync("GRACE-1", 1000)
	d.waitBusy("waiting_for_card")
	d.stop()
	r := <-first
	r.expect(t, 409, "transaction_cancelled")
	if r.str("status") != "cancelled" || !strings.Contains(r.obj("error")["message"].(string), "shut down") {
		t.Fatalf("%s", r.raw)
	}

	d = startDaemon(t, dir)
	if st := d.post("/cashless/v1/status", map[string]any{}); st.obj("openBatch")["transactionCount"] != float64(0) {
		t.Fatalf("the cancelled sale joined the batch: %s", st.raw)
	}
	d.card(map[string]any{"presentAfterMs": 0})
	d.sale("GRACE-1", 1000).expect(t, 200, "")
}
