package daemon_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/config"
)

func TestBusyTerminalAndCancelBeforeCard(t *testing.T) {
	t.Parallel()
	m := startTerminal(t, "", nil)
	m.card(daemon.SimCard{Present: ptr(false)})
	first := m.saleAsync("BUSY-1", 1000)
	st := m.waitStage(daemon.StageWaitingForCard)
	if st.ActiveReference != "BUSY-1" || st.ActiveKind != "sale" || st.ActiveStartedAt.IsZero() {
		t.Fatalf("active transaction: %+v", st)
	}
	if cfg := m.engine.Config(); cfg.TerminalID == "" || cfg.Model == "" || cfg.SoftwareVersion == "" {
		t.Errorf("a busy terminal should still tell what it is: %+v", cfg)
	}
	_, err := m.sale("BUSY-2", 1000)
	wantCode(t, err, daemon.CodeTerminalBusy)
	_, err = m.engine.Refund(t.Context(), daemon.RefundRequest{OriginalReference: "X", Amount: 1, Currency: "USD", Reference: "R"})
	wantCode(t, err, daemon.CodeTerminalBusy)
	_, err = m.engine.CloseBatch(t.Context(), "EOD")
	wantCode(t, err, daemon.CodeTerminalBusy)
	_, err = m.engine.Cancel("NOT-ACTIVE")
	wantCode(t, err, daemon.CodeTransactionNotFound)

	c, err := m.engine.Cancel("BUSY-1")
	if err != nil || c.Reference != "BUSY-1" || c.CancelledAt.IsZero() {
		t.Fatalf("cancel: %+v %v", c, err)
	}
	r := <-first
	wantFinished(t, r.res, r.err, daemon.StatusCancelled, daemon.CodeTransactionCancelled)
	st = m.waitIdle()
	if lt := st.LastTransaction; lt == nil || lt.Reference != "BUSY-1" || lt.Status != daemon.StatusCancelled {
		t.Fatalf("last transaction: %+v", lt)
	}
	// Nothing active: cancel has nothing to cancel.
	_, err = m.engine.Cancel("")
	wantCode(t, err, daemon.CodeTransactionNotFound)
	// The reference may be used again after a cancel.
	m.card(daemon.SimCard{PAN: ptr("4242424242424242"), PresentAfter: ptr(time.Duration(0))})
	m.approved("BUSY-1", 1000)
}

func TestCancelWithoutReferenceCancelsTheActiveOne(t *testing.T) {
	t.Parallel()
	m := startTerminal(t, "", nil)
	m.card(daemon.SimCard{Present: ptr(false)})
	first := m.saleAsync("ANY-1", 1000)
	m.waitStage(daemon.StageWaitingForCard)
	if _, err := m.engine.Cancel(""); err != nil {
		t.Fatal(err)
	}
	r := <-first
	wantFinished(t, r.res, r.err, daemon.StatusCancelled, daemon.CodeTransactionCancelled)
}

func TestCancelAfterCardIsRefused(t *testing.T) {
	t.Parallel()
	m := startTerminal(t, "", nil)
	m.card(daemon.SimCard{PresentAfter: ptr(time.Duration(0))})
	m.host(daemon.SimHost{Latency: ptr(1500 * time.Millisecond)})
	first := m.saleAsync("INFLIGHT-1", 1000)
	m.waitStage(daemon.StageAuthorising)
	_, err := m.engine.Cancel("INFLIGHT-1")
	wantCode(t, err, daemon.CodeCancelNotAllowed)
	r := <-first
	wantApproved(t, r.res, r.err)
}

func TestNoCardWithinTheTimeout(t *testing.T) {
	t.Parallel()
	m := startTerminal(t, "", func(c *config.Config) { c.CardTimeout.Duration = time.Second })
	m.card(daemon.SimCard{Present: ptr(false)})
	res, err := m.sale("TIMEOUT-1", 1000)
	tx := wantFinished(t, res, err, daemon.StatusCancelled, daemon.CodeTransactionCancelled)
	if !strings.Contains(tx.ErrorMessage, "No card") {
		t.Fatalf("message: %s", tx.ErrorMessage)
	}
}

func TestConcurrentSalesOnlyOneRuns(t *testing.T) {
	t.Parallel()
	m := startTerminal(t, "", nil)
	m.card(daemon.SimCard{PresentAfter: ptr(300 * time.Millisecond)})
	const n = 20
	var wg sync.WaitGroup
	results := make(chan outcome, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			res, err := m.sale("RACE-"+string(rune('A'+i)), 100)
			results <- outcome{res, err}
		}(i)
	}
	wg.Wait()
	close(results)
	approved, busy := 0, 0
	for r := range results {
		switch {
		case r.err == nil:
			wantApproved(t, r.res, r.err)
			approved++
		default:
			wantCode(t, r.err, daemon.CodeTerminalBusy)
			busy++
		}
	}
	if approved != 1 || busy != n-1 {
		t.Fatalf("approved %d busy %d", approved, busy)
	}
}

// The caller going away (the ECR's connection dropped) does not stop the
// sale: it finishes, is the last receipt, and a repeat replays it.
func TestDroppedClientDoesNotStopTheSale(t *testing.T) {
	t.Parallel()
	m := startTerminal(t, "", nil)
	m.card(daemon.SimCard{PresentAfter: ptr(400 * time.Millisecond)})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := m.engine.Sale(ctx, daemon.SaleRequest{Amount: 1234, Currency: "USD", Reference: "GONE-1"})
		done <- err
	}()
	m.waitStage(daemon.StageWaitingForCard)
	cancel()
	if err := <-done; err == nil {
		t.Fatal("the caller should have been let go")
	}
	st := m.waitIdle()
	if lt := st.LastTransaction; lt == nil || lt.Reference != "GONE-1" || lt.Status != daemon.StatusApproved {
		t.Fatalf("the sale should have completed: %+v", lt)
	}
	last, err := m.engine.LastReceipt()
	if err != nil || last.Reference != "GONE-1" || last.Status != daemon.StatusApproved {
		t.Fatalf("last receipt: %+v %v", last, err)
	}
	again, err := m.sale("GONE-1", 1234)
	if err != nil || !again.Replayed || again.Tx.ID != last.ID {
		t.Fatalf("repeat should replay: %+v %v", again, err)
	}
}
