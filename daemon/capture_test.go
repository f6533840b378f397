package daemon_test

import (
	"testing"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/config"
)

func TestRefundsAddUpToTheCapturedTotal(t *testing.T) {
	t.Parallel()
	m := startTerminal(t, "", nil)
	m.card(daemon.SimCard{PresentAfter: ptr(time.Duration(0))})
	res, err := m.engine.Sale(t.Context(), daemon.SaleRequest{Amount: 2500, TipAmount: 300, Currency: "USD", Reference: "ORDER-1"})
	sale := wantApproved(t, res, err)

	refund := func(ref string, amount int64) (*daemon.Result, error) {
		return m.engine.Refund(t.Context(), daemon.RefundRequest{OriginalReference: "ORDER-1", Amount: amount, Currency: "USD", Reference: ref})
	}
	res, err = refund("REFUND-1", 2000)
	r := wantApproved(t, res, err)
	if r.Kind != daemon.KindRefund || r.Reference != "REFUND-1" || r.ID == "" || r.Currency != "USD" || r.CompletedAt.IsZero() {
		t.Errorf("refund: %+v", r)
	}
	if r.OriginalID != sale.ID || r.Amount != 2000 {
		t.Fatalf("refund of %s for %d, want of %s for 2000", r.OriginalID, r.Amount, sale.ID)
	}
	_, err = refund("REFUND-2", 801)
	wantCode(t, err, daemon.CodeAmountExceedsOriginal)
	res, err = refund("REFUND-2", 800) // tip included: 2800 in all
	wantApproved(t, res, err)
	_, err = refund("REFUND-3", 1)
	wantCode(t, err, daemon.CodeAmountExceedsOriginal)
	// A repeated refund replays and refunds nothing more.
	again, err := refund("REFUND-2", 800)
	if err != nil || !again.Replayed || again.Tx.Status != daemon.StatusApproved {
		t.Fatalf("refund repeat should replay: %+v %v", again, err)
	}
	_, err = refund("REFUND-2", 700)
	wantCode(t, err, daemon.CodeDuplicateReference)
	_, err = m.engine.Refund(t.Context(), daemon.RefundRequest{OriginalReference: "NO-SUCH", Amount: 1, Currency: "USD", Reference: "R-X"})
	wantCode(t, err, daemon.CodeTransactionNotFound)
	_, err = m.engine.Refund(t.Context(), daemon.RefundRequest{OriginalReference: "ORDER-1", Amount: 1, Currency: "EUR", Reference: "R-Y"})
	wantCode(t, err, daemon.CodeInvalidRequest)

	b, err := m.engine.CloseBatch(t.Context(), "EOD-1")
	if err != nil || b.Batch.TransactionCount() != 3 || b.Batch.TotalAmount() != 0 {
		t.Fatalf("batch: %+v %v", b, err)
	}
}

func TestPreauthCompletionRules(t *testing.T) {
	t.Parallel()
	m := startTerminal(t, "", nil)
	m.card(daemon.SimCard{PAN: ptr("5555555555554444"), EntryMethod: ptr(daemon.EntryChip), PresentAfter: ptr(time.Duration(0))})
	res, err := m.engine.Preauth(t.Context(), daemon.PreauthRequest{Amount: 10000, Currency: "USD", Reference: "HOTEL-1"})
	pa := wantApproved(t, res, err)
	if pa.Kind != daemon.KindPreauth || pa.Reference != "HOTEL-1" || pa.ID == "" || pa.Amount != 10000 || pa.Currency != "USD" ||
		pa.AuthCode == "" || pa.Card == nil || pa.Card.EntryMethod != daemon.EntryChip || pa.Card.MaskedPAN == "" {
		t.Errorf("preauth: %+v", pa)
	}
	if pa.ExpiresAt.Sub(pa.CompletedAt) != 7*24*time.Hour || pa.Card.Scheme != "mastercard" {
		t.Fatalf("expiresAt %s completedAt %s scheme %s", pa.ExpiresAt, pa.CompletedAt, pa.Card.Scheme)
	}
	if st := m.status(); st.OpenBatchCount != 0 {
		t.Fatal("a pre-auth must not join the batch")
	}
	complete := func(orig, ref string, amount int64) (*daemon.Result, error) {
		return m.engine.Complete(t.Context(), daemon.CompletionRequest{OriginalReference: orig, CaptureAmount: amount, Currency: "USD", Reference: ref})
	}
	_, err = complete("HOTEL-1", "HOTEL-1-FINAL", 10001)
	wantCode(t, err, daemon.CodeAmountExceedsOriginal)
	_, err = complete("NOPE", "HOTEL-1-FINAL", 100)
	wantCode(t, err, daemon.CodeTransactionNotFound)
	res, err = complete("HOTEL-1", "HOTEL-1-FINAL", 8750)
	c := wantApproved(t, res, err)
	if c.Kind != daemon.KindCompletion || c.Reference != "HOTEL-1-FINAL" || c.ID == "" || c.Currency != "USD" ||
		c.AuthCode == "" || c.CompletedAt.IsZero() {
		t.Errorf("completion: %+v", c)
	}
	if c.Amount != 8750 {
		t.Fatalf("captured %d, want 8750", c.Amount)
	}
	if res, err := complete("HOTEL-1", "HOTEL-1-FINAL", 8750); err != nil || res.Tx.Status != daemon.StatusApproved {
		t.Fatalf("repeated completion: %+v %v", res, err)
	}
	_, err = complete("HOTEL-1", "HOTEL-1-AGAIN", 100)
	wantCode(t, err, daemon.CodePreauthCompleted)
	// A completion can be refunded.
	res, err = m.engine.Refund(t.Context(), daemon.RefundRequest{OriginalReference: "HOTEL-1-FINAL", Amount: 750, Currency: "USD", Reference: "HOTEL-1-REFUND"})
	wantApproved(t, res, err)

	res, err = m.engine.Preauth(t.Context(), daemon.PreauthRequest{Amount: 5000, Currency: "USD", Reference: "CAR-1"})
	wantApproved(t, res, err)
	if err := m.sim.AdvanceClock(8 * 24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	_, err = complete("CAR-1", "CAR-1-FINAL", 100)
	wantCode(t, err, daemon.CodePreauthExpired)
}

func TestBatchCloseIsIdempotentAndStartsANewBatch(t *testing.T) {
	t.Parallel()
	m := startTerminal(t, "", nil)
	m.card(daemon.SimCard{PresentAfter: ptr(time.Duration(0))})
	m.approved("B-1", 1000)
	m.approved("B-2", 2000)
	res, err := m.engine.Refund(t.Context(), daemon.RefundRequest{OriginalReference: "B-1", Amount: 400, Currency: "USD", Reference: "B-R1"})
	wantApproved(t, res, err)
	res, err = m.engine.Preauth(t.Context(), daemon.PreauthRequest{Amount: 9000, Currency: "USD", Reference: "B-P1"})
	wantApproved(t, res, err)

	first, err := m.engine.CloseBatch(t.Context(), "EOD-20260611")
	if err != nil {
		t.Fatal(err)
	}
	b := first.Batch
	if b.ID == "" || b.Reference != "EOD-20260611" || b.ClosedAt.IsZero() || first.Replayed {
		t.Errorf("batch: %+v", first)
	}
	if b.Status != daemon.BatchClosed || b.TransactionCount() != 3 || b.TotalAmount() != 2600 || b.Currency != "USD" {
		t.Fatalf("batch: %+v", b)
	}
	if b.SaleCount != 2 || b.RefundAmount != 400 {
		t.Fatalf("totals: %+v", b)
	}
	again, err := m.engine.CloseBatch(t.Context(), "EOD-20260611")
	if err != nil || again.Batch.ID != b.ID || again.Batch.TotalAmount() != 2600 || !again.Replayed {
		t.Fatalf("repeat close: %+v %v", again, err)
	}
	m.approved("B-3", 500)
	next, err := m.engine.CloseBatch(t.Context(), "EOD-20260612")
	if err != nil || next.Batch.ID == b.ID || next.Batch.TransactionCount() != 1 || next.Batch.TotalAmount() != 500 {
		t.Fatalf("second batch: %+v %v", next, err)
	}
	empty, err := m.engine.CloseBatch(t.Context(), "EOD-20260613")
	if err != nil || empty.Batch.TransactionCount() != 0 {
		t.Fatalf("empty batch: %+v %v", empty, err)
	}
}

func TestDailySettlementClosesTheBatch(t *testing.T) {
	t.Parallel()
	m := startTerminal(t, "", func(c *config.Config) { settleFarFromNow(c) })
	m.card(daemon.SimCard{PresentAfter: ptr(time.Duration(0))})
	m.approved("AUTO-1", 1500)
	if err := m.sim.AdvanceClock(24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	if st := m.status(); st.OpenBatchCount != 0 {
		t.Fatalf("the daily settlement did not close the batch: %+v", st)
	}
	// A manual close now settles nothing twice.
	b, err := m.engine.CloseBatch(t.Context(), "EOD-MANUAL")
	if err != nil || b.Batch.TransactionCount() != 0 {
		t.Fatalf("%+v %v", b, err)
	}
}

func TestDailySettlementCanBeSwitchedOff(t *testing.T) {
	t.Parallel()
	m := startTerminal(t, "", func(c *config.Config) { c.Settlement.Auto = false })
	m.card(daemon.SimCard{PresentAfter: ptr(time.Duration(0))})
	m.approved("MANUAL-1", 1500)
	if err := m.sim.AdvanceClock(3 * 24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	if st := m.status(); st.OpenBatchCount != 1 {
		t.Fatalf("%+v", st)
	}
}
