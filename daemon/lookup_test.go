package daemon_test

import (
	"context"
	"testing"
	"time"

	"github.com/vinr/cashlessd/daemon"
)

// lookup asks the engine about a reference and fails the test on an error.
func (m *terminal) lookup(ref string) *daemon.LookupResult {
	m.t.Helper()
	res, err := m.engine.Lookup(daemon.LookupRequest{Reference: ref})
	if err != nil {
		m.t.Fatalf("lookup %s: %v", ref, err)
	}
	return res
}

// TestLookupAfterClientTimeoutGivesTheFinalTruth: an earlier attempt under
// the reference was declined; the next one's caller gives up while the
// host is asked. A lookup answers at once, pending with the stage, and,
// once the terminal finishes, approved, with the decline as the earlier
// attempt.
func TestLookupAfterClientTimeoutGivesTheFinalTruth(t *testing.T) {
	t.Parallel()
	m := startTerminal(t, "", nil)
	if _, err := m.engine.Lookup(daemon.LookupRequest{Reference: "LK-1"}); err == nil {
		t.Fatal("a reference never seen was found")
	} else {
		wantCode(t, err, daemon.CodeTransactionNotFound)
	}
	m.card(daemon.SimCard{PAN: ptr("4000000000009995"), Present: ptr(true), PresentAfter: ptr[time.Duration](0)})
	res, err := m.sale("LK-1", 1500)
	declined := wantFinished(t, res, err, daemon.StatusDeclined, daemon.CodeCardDeclined)

	// The host takes 3 s to answer; the caller gives up meanwhile.
	m.card(daemon.SimCard{PAN: ptr("4242424242424242")})
	m.host(daemon.SimHost{Latency: ptr(3 * time.Second)})
	ctx, cancel := context.WithCancel(context.Background())
	gone := make(chan error, 1)
	go func() {
		_, err := m.engine.Sale(ctx, daemon.SaleRequest{Amount: 1500, Currency: "USD", Reference: "LK-1"})
		gone <- err
	}()
	m.waitStage(daemon.StageAuthorising)
	cancel()
	if err := <-gone; err == nil {
		t.Fatal("the caller that gave up got an answer")
	}
	running := m.lookup("LK-1")
	if running.Tx.Status != daemon.StatusPending || running.Tx.Stage != daemon.StageAuthorising || running.Tx.ID == declined.ID ||
		len(running.Attempts) != 1 || running.Attempts[0].ID != declined.ID {
		t.Fatalf("while running: %+v, attempts %d", running.Tx, len(running.Attempts))
	}
	byID, err := m.engine.Lookup(daemon.LookupRequest{TransactionID: running.Tx.ID})
	if err != nil || byID.Tx.Status != daemon.StatusPending {
		t.Fatalf("by ID while running: %v %+v", err, byID)
	}
	// Another kind under the running reference is refused naming it.
	_, err = m.engine.Preauth(m.t.Context(), daemon.PreauthRequest{Amount: 1500, Currency: "USD", Reference: "LK-1"})
	wantCode(t, err, daemon.CodeDuplicateReference)

	m.waitIdle()
	m.host(daemon.SimHost{Latency: ptr[time.Duration](0)})
	final := m.lookup("LK-1")
	if final.Tx.Status != daemon.StatusApproved || final.Tx.ID != running.Tx.ID || final.Tx.Receipts == nil ||
		len(final.Attempts) != 1 || final.Attempts[0].Status != daemon.StatusDeclined {
		t.Fatalf("after: %+v, attempts %+v", final.Tx, final.Attempts)
	}
	receipt, err := m.engine.ReceiptByReference("LK-1")
	if err != nil || receipt.ID != final.Tx.ID {
		t.Fatalf("receipt by reference: %v %+v", err, receipt)
	}
	res, err = m.sale("LK-1", 1500)
	if err != nil || !res.Replayed || res.Tx.ID != final.Tx.ID {
		t.Fatalf("repeat: %v %+v", err, res)
	}
}

// TestReferenceIsOneNamespaceAcrossKinds: an approved reference cannot be
// reused by another kind (sale → pre-auth, refund → sale) or with other
// parameters; a declined one can be retried with the same kind only.
func TestReferenceIsOneNamespaceAcrossKinds(t *testing.T) {
	t.Parallel()
	m := startTerminal(t, "", nil)
	m.card(daemon.SimCard{PAN: ptr("4242424242424242"), Present: ptr(true), PresentAfter: ptr[time.Duration](0)})
	sale := m.approved("NS-1", 2000)
	ctx := m.t.Context()

	_, err := m.engine.Preauth(ctx, daemon.PreauthRequest{Amount: 2000, Currency: "USD", Reference: "NS-1"})
	wantCode(t, err, daemon.CodeDuplicateReference)
	_, err = m.sale("NS-1", 2100)
	wantCode(t, err, daemon.CodeDuplicateReference)

	refund, err := m.engine.Refund(ctx, daemon.RefundRequest{OriginalReference: "NS-1", Amount: 500, Currency: "USD", Reference: "NS-R1"})
	wantApproved(t, refund, err)
	_, err = m.sale("NS-R1", 500)
	wantCode(t, err, daemon.CodeDuplicateReference)
	_, err = m.engine.Refund(ctx, daemon.RefundRequest{OriginalReference: "NS-1", Amount: 500, Currency: "USD", Reference: "NS-1"})
	wantCode(t, err, daemon.CodeDuplicateReference)

	// Declined: the same kind may try again, another kind may not.
	m.card(daemon.SimCard{PAN: ptr("4000000000009995")})
	res, err := m.sale("NS-2", 900)
	first := wantFinished(t, res, err, daemon.StatusDeclined, daemon.CodeCardDeclined)
	_, err = m.engine.Preauth(ctx, daemon.PreauthRequest{Amount: 900, Currency: "USD", Reference: "NS-2"})
	wantCode(t, err, daemon.CodeDuplicateReference)
	m.card(daemon.SimCard{PAN: ptr("4242424242424242")})
	retry := m.approved("NS-2", 900)
	got := m.lookup("NS-2")
	if got.Tx.ID != retry.ID || len(got.Attempts) != 1 || got.Attempts[0].ID != first.ID {
		t.Fatalf("lookup after retry: %+v attempts %+v", got.Tx, got.Attempts)
	}
	if got := m.lookup("NS-1"); got.Tx.ID != sale.ID || len(got.Attempts) != 0 {
		t.Fatalf("lookup of the sale: %+v", got)
	}
	// A receipt for a reference never mixes with another's.
	if _, err := m.engine.ReceiptByReference("NS-NONE"); err == nil {
		t.Fatal("a receipt for an unknown reference")
	}
}
