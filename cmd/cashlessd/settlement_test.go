package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vinr/cashlessd/daemon/host"
	"github.com/vinr/cashlessd/daemon/host/hostsim"
)

// The host settles a batch but its answer is lost. The batch must not take
// the sales that follow, and the retried close must send the very same
// totals under the same batch number: the host settles every sale once.
func TestLostSettlementAnswerSettlesEverySaleOnce(t *testing.T) {
	t.Parallel()
	cfg := writeConfig(t, "[host]\ntimeout = \"1s\"\n")
	d := startDaemon(t, t.TempDir(), "--config", cfg)
	d.card(map[string]any{"presentAfterMs": 0})
	d.sale("SETTLE-1", 500).expect(t, 200, "")

	d.host(map[string]any{"dropResponse": true})
	d.post("/cashless/v1/batch/close", map[string]any{"reference": "EOD-1"}).expect(t, 503, "communication_error")
	d.host(map[string]any{"dropResponse": false})

	st := d.post("/cashless/v1/status", map[string]any{})
	pending := st.obj("pendingSettlement")
	if pending == nil || pending["reference"] != "EOD-1" || pending["transactionCount"] != float64(1) ||
		pending["totalAmount"] != float64(500) || st.obj("openBatch")["transactionCount"] != float64(0) {
		t.Fatalf("status after the lost answer: %s", st.raw)
	}

	// The ECR sells on before it retries the close.
	d.sale("SETTLE-2", 700).expect(t, 200, "")
	first := d.post("/cashless/v1/batch/close", map[string]any{"reference": "EOD-1"}).expect(t, 200, "")
	if first.num("transactionCount") != 1 || first.num("totalAmount") != 500 {
		t.Fatalf("retried close: %s", first.raw)
	}
	st = d.post("/cashless/v1/status", map[string]any{})
	if _, ok := st.body["pendingSettlement"]; ok || st.obj("openBatch")["transactionCount"] != float64(1) {
		t.Fatalf("status after the retried close: %s", st.raw)
	}
	second := d.post("/cashless/v1/batch/close", map[string]any{"reference": "EOD-2"}).expect(t, 200, "")
	if second.num("transactionCount") != 1 || second.num("totalAmount") != 700 {
		t.Fatalf("next close: %s", second.raw)
	}

	ledger, err := hostsim.ReadLedger(filepath.Join(d.dataDir, "hostsim", "ledger.json"))
	if err != nil {
		t.Fatal(err)
	}
	settledIn := map[string]host.BatchTotals{}
	for _, s := range ledger.Settlements {
		if s.ResponseCode == host.RCApproved {
			settledIn[s.Batch] = s.Host
		}
	}
	if len(settledIn) != 2 {
		t.Fatalf("want two settled batch numbers: %+v", ledger.Settlements)
	}
	// Each batch holds one sale: its settled total is that sale's amount.
	for _, a := range ledger.Approvals {
		if got := settledIn[a.Batch].CaptureAmount; !a.Settled || got != a.Amount {
			t.Errorf("approval of %d (batch %s, settled %v) settled in a total of %d", a.Amount, a.Batch, a.Settled, got)
		}
	}
}

// A close the host never confirmed, and an ECR that never retries it: the
// daily settlement finishes it under its own reference, and adds no empty
// batch when nothing else was sold.
func TestDailySettlementFinishesAPendingSettlement(t *testing.T) {
	t.Parallel()
	cfg := writeConfig(t, "[host]\ntimeout = \"1s\"\n[settlement]\nauto = true\ntime = \"23:00\"\n")
	d := startDaemon(t, t.TempDir(), "--config", cfg)
	d.card(map[string]any{"presentAfterMs": 0})
	d.sale("DAILY-1", 800).expect(t, 200, "")
	d.host(map[string]any{"dropResponse": true})
	d.post("/cashless/v1/batch/close", map[string]any{"reference": "EOD-LOST"}).expect(t, 503, "communication_error")
	d.host(map[string]any{"dropResponse": false})

	d.post("/simulator/v1/clock", map[string]any{"advanceSeconds": 24 * 3600}).expect(t, 200, "")
	st := d.post("/cashless/v1/status", map[string]any{})
	if _, ok := st.body["pendingSettlement"]; ok {
		t.Fatalf("the daily settlement left the pending one: %s", st.raw)
	}
	b := d.post("/cashless/v1/batch/close", map[string]any{"reference": "EOD-LOST"}).expect(t, 200, "")
	if b.header.Get("Idempotent-Replayed") != "true" || b.num("transactionCount") != 1 || b.num("totalAmount") != 800 {
		t.Fatalf("the pending batch under its own reference: %s", b.raw)
	}
	ledger, err := hostsim.ReadLedger(filepath.Join(d.dataDir, "hostsim", "ledger.json"))
	if err != nil {
		t.Fatal(err)
	}
	accepted := 0
	for _, s := range ledger.Settlements {
		if s.ResponseCode == host.RCApproved {
			accepted++
		}
	}
	if accepted != 1 || len(ledger.Approvals) != 1 || !ledger.Approvals[0].Settled {
		t.Fatalf("host settlements %+v, approvals %+v", ledger.Settlements, ledger.Approvals)
	}
}

// A close that never reached the host leaves the batch open, as if it had
// not been tried: the ECR may retry under another reference and gets the
// batch, not an empty one.
func TestUnreachableHostLeavesTheBatchOpen(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	d.card(map[string]any{"presentAfterMs": 0})
	d.sale("OPEN-1", 900).expect(t, 200, "")
	d.host(map[string]any{"offline": true})
	r := d.post("/cashless/v1/batch/close", map[string]any{"reference": "EOD-A"}).expect(t, 503, "communication_error")
	if !strings.Contains(string(r.raw), "stays open") {
		t.Errorf("message: %s", r.raw)
	}
	st := d.post("/cashless/v1/status", map[string]any{})
	if _, ok := st.body["pendingSettlement"]; ok || st.obj("openBatch")["transactionCount"] != float64(1) {
		t.Fatalf("status: %s", st.raw)
	}
	d.host(map[string]any{"offline": false})
	d.sale("OPEN-2", 100).expect(t, 200, "")
	b := d.post("/cashless/v1/batch/close", map[string]any{"reference": "EOD-B"}).expect(t, 200, "")
	if b.num("transactionCount") != 2 || b.num("totalAmount") != 1000 {
		t.Fatalf("close under the new reference: %s", b.raw)
	}
	d.post("/cashless/v1/batch/close", map[string]any{"reference": "EOD-A"}).expect(t, 200, "")
	ledger, err := hostsim.ReadLedger(filepath.Join(d.dataDir, "hostsim", "ledger.json"))
	if err != nil {
		t.Fatal(err)
	}
	batches := map[string]bool{}
	for _, a := range ledger.Approvals {
		batches[a.Batch] = true
		if !a.Settled {
			t.Errorf("approval of %d not settled", a.Amount)
		}
	}
	if len(batches) != 1 {
		t.Errorf("both sales belong to one host batch: %v", batches)
	}
}

// A daily settlement that fails (host down) is retried a minute later,
// not on every tick of the scheduler.
func TestFailedDailySettlementWaitsBeforeItRetries(t *testing.T) {
	t.Parallel()
	cfg := writeConfig(t, "[settlement]\nauto = true\ntime = \"23:00\"\n")
	d := startDaemon(t, t.TempDir(), "--config", cfg)
	d.card(map[string]any{"presentAfterMs": 0})
	d.sale("RETRY-1", 400).expect(t, 200, "")
	d.host(map[string]any{"offline": true})
	d.post("/simulator/v1/clock", map[string]any{"advanceSeconds": 24 * 3600}).expect(t, 200, "")
	time.Sleep(2500 * time.Millisecond) // the scheduler ticks every second
	if n := strings.Count(d.logs.String(), "automatic settlement will be retried"); n != 1 {
		t.Fatalf("%d failed tries, want 1", n)
	}
	d.host(map[string]any{"offline": false})
	d.post("/simulator/v1/clock", map[string]any{"advanceSeconds": 30}).expect(t, 200, "")
	if st := d.post("/cashless/v1/status", map[string]any{}); st.obj("openBatch")["transactionCount"] != float64(1) {
		t.Fatalf("retried before the minute was up: %s", st.raw)
	}
	d.post("/simulator/v1/clock", map[string]any{"advanceSeconds": 31}).expect(t, 200, "")
	if st := d.post("/cashless/v1/status", map[string]any{}); st.obj("openBatch")["transactionCount"] != float64(0) {
		t.Fatalf("not retried after the minute: %s", st.raw)
	}
}
