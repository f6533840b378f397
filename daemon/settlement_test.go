package daemon_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/config"
	"github.com/vinr/cashlessd/daemon/host"
	"github.com/vinr/cashlessd/daemon/host/hostsim"
)

// hostTimeout makes the host link give up after a second, so a lost
// answer is met quickly.
func hostTimeout(c *config.Config) { c.Host.Timeout.Duration = time.Second }

// ledger reads the host simulator's ledger.
func (m *terminal) ledger() hostsim.Ledger {
	m.t.Helper()
	l, err := hostsim.ReadLedger(filepath.Join(m.dir, "hostsim", "ledger.json"))
	if err != nil {
		m.t.Fatal(err)
	}
	return l
}

// closeBatch closes the batch and fails the test on an error.
func (m *terminal) closeBatch(ref string) *daemon.BatchResult {
	m.t.Helper()
	b, err := m.engine.CloseBatch(m.t.Context(), ref)
	if err != nil {
		m.t.Fatalf("closing %s: %v", ref, err)
	}
	return b
}

// The host settles a batch but its answer is lost. The batch must not take
// the sales that follow, and the retried close must send the very same
// totals under the same batch number: the host settles every sale once.
func TestLostSettlementAnswerSettlesEverySaleOnce(t *testing.T) {
	t.Parallel()
	m := startTerminal(t, "", hostTimeout)
	m.card(daemon.SimCard{PresentAfter: ptr(time.Duration(0))})
	m.approved("SETTLE-1", 500)

	m.host(daemon.SimHost{DropResponse: ptr(true)})
	_, err := m.engine.CloseBatch(t.Context(), "EOD-1")
	wantCode(t, err, daemon.CodeCommunicationError)
	m.host(daemon.SimHost{DropResponse: ptr(false)})

	st := m.status()
	if p := st.Settling; p == nil || p.Reference != "EOD-1" || p.TransactionCount() != 1 || p.TotalAmount() != 500 || st.OpenBatchCount != 0 {
		t.Fatalf("status after the lost answer: settling %+v, open batch %d", st.Settling, st.OpenBatchCount)
	}

	// The ECR sells on before it retries the close.
	m.approved("SETTLE-2", 700)
	first := m.closeBatch("EOD-1")
	if first.Batch.TransactionCount() != 1 || first.Batch.TotalAmount() != 500 {
		t.Fatalf("retried close: %+v", first.Batch)
	}
	if st = m.status(); st.Settling != nil || st.OpenBatchCount != 1 {
		t.Fatalf("status after the retried close: settling %+v, open batch %d", st.Settling, st.OpenBatchCount)
	}
	second := m.closeBatch("EOD-2")
	if second.Batch.TransactionCount() != 1 || second.Batch.TotalAmount() != 700 {
		t.Fatalf("next close: %+v", second.Batch)
	}

	ledger := m.ledger()
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
	m := startTerminal(t, "", func(c *config.Config) {
		hostTimeout(c)
		settleFarFromNow(c)
	})
	m.card(daemon.SimCard{PresentAfter: ptr(time.Duration(0))})
	m.approved("DAILY-1", 800)
	m.host(daemon.SimHost{DropResponse: ptr(true)})
	_, err := m.engine.CloseBatch(t.Context(), "EOD-LOST")
	wantCode(t, err, daemon.CodeCommunicationError)
	m.host(daemon.SimHost{DropResponse: ptr(false)})

	if err := m.sim.AdvanceClock(24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	if st := m.status(); st.Settling != nil {
		t.Fatalf("the daily settlement left the pending one: %+v", st.Settling)
	}
	b := m.closeBatch("EOD-LOST")
	if !b.Replayed || b.Batch.TransactionCount() != 1 || b.Batch.TotalAmount() != 800 {
		t.Fatalf("the pending batch under its own reference: %+v", b)
	}
	ledger := m.ledger()
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
	m := startTerminal(t, "", nil)
	m.card(daemon.SimCard{PresentAfter: ptr(time.Duration(0))})
	m.approved("OPEN-1", 900)
	m.hostOffline()
	_, err := m.engine.CloseBatch(t.Context(), "EOD-A")
	wantCode(t, err, daemon.CodeCommunicationError)
	if !strings.Contains(err.Error(), "stays open") {
		t.Errorf("message: %v", err)
	}
	if st := m.status(); st.Settling != nil || st.OpenBatchCount != 1 {
		t.Fatalf("status: settling %+v, open batch %d", st.Settling, st.OpenBatchCount)
	}
	m.host(daemon.SimHost{Offline: ptr(false)})
	m.approved("OPEN-2", 100)
	b := m.closeBatch("EOD-B")
	if b.Batch.TransactionCount() != 2 || b.Batch.TotalAmount() != 1000 {
		t.Fatalf("close under the new reference: %+v", b.Batch)
	}
	m.closeBatch("EOD-A")
	batches := map[string]bool{}
	for _, a := range m.ledger().Approvals {
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
	m := startTerminal(t, "", func(c *config.Config) { settleFarFromNow(c) })
	m.card(daemon.SimCard{PresentAfter: ptr(time.Duration(0))})
	m.approved("RETRY-1", 400)
	m.hostOffline()
	if err := m.sim.AdvanceClock(24 * time.Hour); err != nil { // the first try, which fails
		t.Fatal(err)
	}
	for range 3 { // ticks of the scheduler within the minute
		m.engine.CheckSchedule()
	}
	if n := strings.Count(m.logs.String(), "automatic settlement will be retried"); n != 1 {
		t.Fatalf("%d failed tries, want 1", n)
	}
	m.host(daemon.SimHost{Offline: ptr(false)})
	if err := m.sim.AdvanceClock(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	if st := m.status(); st.OpenBatchCount != 1 {
		t.Fatalf("retried before the minute was up: open batch %d", st.OpenBatchCount)
	}
	if err := m.sim.AdvanceClock(31 * time.Second); err != nil {
		t.Fatal(err)
	}
	if st := m.status(); st.OpenBatchCount != 0 {
		t.Fatalf("not retried after the minute: open batch %d", st.OpenBatchCount)
	}
}

func TestSettlementTotalsMatchTheHostLedger(t *testing.T) {
	t.Parallel()
	m := startTerminal(t, "", nil)
	m.card(daemon.SimCard{PresentAfter: ptr(time.Duration(0))})
	m.approved("L-1", 1000)
	m.approved("L-2", 2500)
	res, err := m.engine.Refund(t.Context(), daemon.RefundRequest{OriginalReference: "L-2", Amount: 500, Currency: "USD", Reference: "L-R"})
	wantApproved(t, res, err)
	res, err = m.engine.Preauth(t.Context(), daemon.PreauthRequest{Amount: 7000, Currency: "USD", Reference: "L-P"})
	wantApproved(t, res, err)
	res, err = m.engine.Complete(t.Context(), daemon.CompletionRequest{OriginalReference: "L-P", CaptureAmount: 6000, Currency: "USD", Reference: "L-C"})
	wantApproved(t, res, err)
	b := m.closeBatch("EOD-L").Batch
	if again := m.closeBatch("EOD-L"); again.Batch.ID != b.ID {
		t.Fatal("repeat close returned another batch")
	}
	l := m.ledger()
	if len(l.Settlements) != 1 {
		t.Fatalf("settled %d times: %+v", len(l.Settlements), l.Settlements)
	}
	s := l.Settlements[0]
	if s.ResponseCode != "00" || s.Host != s.Terminal {
		t.Fatalf("%+v", s)
	}
	if s.Host.CaptureCount != 3 || s.Host.CaptureAmount != 9500 || s.Host.RefundCount != 1 || s.Host.RefundAmount != 500 {
		t.Fatalf("host totals %+v", s.Host)
	}
	if b.TotalAmount() != s.Host.CaptureAmount-s.Host.RefundAmount || b.TransactionCount() != s.Host.CaptureCount+s.Host.RefundCount {
		t.Fatalf("terminal %+v vs host %+v", b, s.Host)
	}
}

func TestMismatchedBatchIsUploadedAndSettledOnce(t *testing.T) {
	t.Parallel()
	m := startTerminal(t, "", nil)
	m.card(daemon.SimCard{PresentAfter: ptr(time.Duration(0))})
	lost := m.approved("M-1", 1000)
	m.approved("M-2", 2000)
	// The host "loses" the first approval: its totals now differ.
	m.host(daemon.SimHost{ForgetTransaction: lost.ID})
	if b := m.closeBatch("EOD-M"); b.Batch.TotalAmount() != 3000 || b.Batch.TransactionCount() != 2 {
		t.Fatalf("batch: %+v", b.Batch)
	}
	var ok []hostsim.Settlement
	for _, s := range m.ledger().Settlements {
		if s.ResponseCode == "00" {
			ok = append(ok, s)
		}
	}
	if len(ok) != 1 || ok[0].Host.CaptureAmount != 3000 || !ok[0].AfterUpload {
		t.Fatalf("settlements: %+v", ok)
	}
	m.closeBatch("EOD-M")
}
