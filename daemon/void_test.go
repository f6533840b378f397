package daemon_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/config"
	"github.com/vinr/cashlessd/emv/card"
)

// void runs a void.
func (m *terminal) void(orig, ref string) (*daemon.Result, error) {
	return m.engine.Void(m.t.Context(), daemon.VoidRequest{OriginalReference: orig, Reference: ref})
}

// xreport reads the open batch's totals.
func (m *terminal) xreport() *daemon.Batch {
	m.t.Helper()
	r, err := m.engine.BatchTotals(m.t.Context(), false)
	if err != nil {
		m.t.Fatal(err)
	}
	if !strings.Contains(r.Document.Text(), "X-REPORT") {
		m.t.Fatalf("X-report document:\n%s", r.Document.Text())
	}
	return r.Batch
}

// waitNoReversals waits until the reversal queue is empty.
func (m *terminal) waitNoReversals() {
	m.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m.status().PendingReversals == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	m.t.Fatal("reversals stayed queued")
}

func TestVoidTakesASaleOutOfTheOpenBatch(t *testing.T) {
	t.Parallel()
	m := startTerminal(t, "", nil)
	m.card(daemon.SimCard{PAN: ptr("4242424242424242"), PresentAfter: ptr(time.Duration(0))})
	s1 := m.approved("V-SALE-1", 1500)
	m.card(daemon.SimCard{PAN: ptr("5555555555554444")})
	s2 := m.approved("V-SALE-2", 700)
	before := m.xreport()
	if before.SaleCount != 2 || before.SaleAmount != 2200 || before.Schemes["visa"].Gross != 1500 {
		t.Fatalf("before the void: %+v", before)
	}

	res, err := m.void("V-SALE-1", "V-VOID-1")
	v := wantApproved(t, res, err)
	if v.Kind != daemon.KindVoid || v.OriginalID != s1.ID || v.Amount != 1500 || v.OriginalKind != daemon.KindSale {
		t.Fatalf("void: %+v", v)
	}
	if v.Receipts == nil || !strings.Contains(v.Receipts.Customer, "VOID") || !strings.Contains(v.Receipts.Customer, "-15.00") {
		t.Fatalf("void receipt:\n%+v", v.Receipts)
	}
	orig, err := m.db.Transaction(s1.ID)
	if err != nil || orig.Status != daemon.StatusVoided || orig.ReversalPending {
		t.Fatalf("original after the void: %+v %v", orig, err)
	}
	if a := hostApproval(t, m.ledger(), s1.ID); !a.Reversed {
		t.Fatalf("the host did not reverse the voided sale: %+v", a)
	}
	after := m.xreport()
	if after.SaleCount != 1 || after.SaleAmount != 700 || after.Schemes["visa"] != nil || after.Schemes["mastercard"].Count != 1 {
		t.Fatalf("after the void: %+v %+v", after, after.Schemes)
	}
	if st := m.status(); st.OpenBatchCount != 1 || st.OpenBatchAmount != 700 || st.PendingReversals != 0 {
		t.Fatalf("status after the void: %+v", st)
	}
	if last, err := m.engine.LastReceipt(); err != nil || last.ID != v.ID {
		t.Fatalf("last receipt %v %v, want the void", last, err)
	}

	// Idempotent by reference: a repeat replays, other parameters are a
	// duplicate reference, a second void of the same sale is refused.
	res, err = m.void("V-SALE-1", "V-VOID-1")
	if err != nil || !res.Replayed || res.Tx.ID != v.ID {
		t.Fatalf("repeat: %+v %v", res, err)
	}
	_, err = m.void("V-SALE-2", "V-VOID-1")
	wantCode(t, err, daemon.CodeDuplicateReference)
	_, err = m.void("V-SALE-1", "V-VOID-2")
	wantCode(t, err, daemon.CodeVoidNotAllowed)
	_, err = m.void("V-NONE", "V-VOID-3")
	wantCode(t, err, daemon.CodeTransactionNotFound)
	// The voided sale is neither replayed as a payment nor refundable.
	_, err = m.sale("V-SALE-1", 1500)
	wantCode(t, err, daemon.CodeDuplicateReference)
	_, err = m.engine.Refund(t.Context(), daemon.RefundRequest{OriginalReference: "V-SALE-1", Amount: 100, Currency: "USD", Reference: "V-REF-1"})
	wantCode(t, err, daemon.CodeVoidNotAllowed)

	// The X-report equals the close; the host agrees with the totals.
	x := m.xreport()
	closed := m.closeBatch("V-EOD-1").Batch
	if x.ID != closed.ID || x.TransactionCount() != closed.TransactionCount() || x.TotalAmount() != closed.TotalAmount() ||
		x.GrossAmount() != closed.GrossAmount() || len(x.Schemes) != len(closed.Schemes) {
		t.Fatalf("X-report %+v, close %+v", x, closed)
	}
	for name, s := range x.Schemes {
		if *closed.Schemes[name] != *s {
			t.Fatalf("scheme %s: X-report %+v, close %+v", name, s, closed.Schemes[name])
		}
	}
	if a := hostApproval(t, m.ledger(), s2.ID); !a.Settled {
		t.Fatalf("the second sale was not settled: %+v", a)
	}
	// After the close the batch cannot be voided into.
	_, err = m.void("V-SALE-2", "V-VOID-4")
	wantCode(t, err, daemon.CodeVoidNotAllowed)
	if x := m.xreport(); x.TransactionCount() != 0 || x.ID != "" {
		t.Fatalf("X-report after the close: %+v", x)
	}
}

func TestVoidOfARefundAndOfACompletion(t *testing.T) {
	t.Parallel()
	m := startTerminal(t, "", nil)
	m.card(daemon.SimCard{PAN: ptr("4242424242424242"), PresentAfter: ptr(time.Duration(0))})
	sale := m.approved("VR-SALE-1", 2000)
	res, err := m.engine.Refund(t.Context(), daemon.RefundRequest{OriginalReference: "VR-SALE-1", Amount: 500, Currency: "USD", Reference: "VR-REF-1"})
	refund := wantApproved(t, res, err)
	// A sale with refunds is not voided: its refunds are voided first.
	_, err = m.void("VR-SALE-1", "VR-VOID-0")
	wantCode(t, err, daemon.CodeVoidNotAllowed)
	res, err = m.void("VR-REF-1", "VR-VOID-1")
	v := wantApproved(t, res, err)
	if !strings.Contains(v.Receipts.Customer, "VOID REFUND") || strings.Contains(v.Receipts.Customer, "-5.00") {
		t.Fatalf("void of a refund:\n%s", v.Receipts.Customer)
	}
	if s, _ := m.db.Transaction(sale.ID); s.RefundedAmount != 0 {
		t.Fatalf("refunded amount after voiding the refund: %d", s.RefundedAmount)
	}
	l := m.ledger()
	if a := hostApproval(t, l, refund.ID); !a.Reversed {
		t.Fatalf("refund not reversed at the host: %+v", a)
	}
	if a := hostApproval(t, l, sale.ID); a.Refunded != 0 || a.Reversed {
		t.Fatalf("sale at the host: %+v", a)
	}
	if x := m.xreport(); x.RefundCount != 0 || x.SaleCount != 1 || x.TotalAmount() != 2000 {
		t.Fatalf("after voiding the refund: %+v", x)
	}

	res, err = m.engine.Preauth(t.Context(), daemon.PreauthRequest{Amount: 3000, Currency: "USD", Reference: "VR-PRE-1"})
	pre := wantApproved(t, res, err)
	res, err = m.engine.Complete(t.Context(), daemon.CompletionRequest{OriginalReference: "VR-PRE-1", CaptureAmount: 2500, Currency: "USD", Reference: "VR-CAP-1"})
	wantApproved(t, res, err)
	_, err = m.void("VR-PRE-1", "VR-VOID-2")
	wantCode(t, err, daemon.CodeTransactionNotFound)
	res, err = m.void("VR-CAP-1", "VR-VOID-3")
	wantApproved(t, res, err)
	if p, _ := m.db.Transaction(pre.ID); p.CompletionID != "" || p.CapturedAmount != 0 {
		t.Fatalf("pre-auth after voiding its completion: %+v", p)
	}
	if holds, err := m.db.OpenHolds(); err != nil || len(holds) != 1 || holds[0].ID != pre.ID {
		t.Fatalf("open holds after voiding the completion: %v %v", holds, err)
	}
	// The hold can be captured again, as the host allows.
	res, err = m.engine.Complete(t.Context(), daemon.CompletionRequest{OriginalReference: "VR-PRE-1", CaptureAmount: 2400, Currency: "USD", Reference: "VR-CAP-2"})
	wantApproved(t, res, err)
	x := m.xreport()
	if x.CompletionCount != 1 || x.CompletionAmount != 2400 || x.TotalAmount() != 4400 {
		t.Fatalf("after the second completion: %+v", x)
	}
	if b := m.closeBatch("VR-EOD").Batch; b.TotalAmount() != 4400 || b.TransactionCount() != 2 {
		t.Fatalf("close: %+v", b)
	}
}

// A void whose reversal answer is lost stands: it is booked before the
// host is asked, and the reversal is repeated (also across a restart)
// until the host acknowledges it, which books it once.
func TestVoidWithALostReversalAnswerSurvivesARestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	m := startTerminal(t, dir, hostTimeout)
	m.card(daemon.SimCard{PAN: ptr("4242424242424242"), PresentAfter: ptr(time.Duration(0))})
	s1 := m.approved("VL-SALE-1", 1200)
	m.approved("VL-SALE-2", 300)
	m.host(daemon.SimHost{DropResponse: ptr(true)})
	res, err := m.void("VL-SALE-1", "VL-VOID-1")
	v := wantApproved(t, res, err)
	if st := m.status(); st.PendingReversals != 1 || st.OpenBatchCount != 1 || st.OpenBatchAmount != 300 {
		t.Fatalf("status after a void without the host's answer: %+v", st)
	}
	if a := hostApproval(t, m.ledger(), s1.ID); !a.Reversed {
		t.Fatalf("the host never got the reversal: %+v", a)
	}
	if err := m.stop(context.Background()); err != nil {
		t.Fatal(err)
	}

	// The restart sends the queued reversal at once; the host, which
	// booked it already, acknowledges without booking it again.
	m = startTerminal(t, dir, hostTimeout)
	if st := m.status(); st.OpenBatchAmount != 300 || st.OpenBatchCount != 1 {
		t.Fatalf("after the restart: %+v", st)
	}
	m.waitNoReversals()
	res, err = m.void("VL-SALE-1", "VL-VOID-1")
	if err != nil || !res.Replayed || res.Tx.ID != v.ID {
		t.Fatalf("repeat after the restart: %+v %v", res, err)
	}
	// The host booked the reversal once and settles the rest.
	closed := m.closeBatch("VL-EOD").Batch
	if closed.TotalAmount() != 300 || closed.SaleCount != 1 {
		t.Fatalf("close: %+v", closed)
	}
	l := m.ledger()
	reversals := 0
	for _, r := range l.Reversals {
		if r.TransactionID == s1.ID {
			reversals++
		}
	}
	if reversals != 1 || m.status().PendingReversals != 0 {
		t.Fatalf("%d reversals of the voided sale, %d pending: %+v", reversals, m.status().PendingReversals, l.Reversals)
	}
}

// A sale the card approved offline whose advice never reached the host is
// voided without the host ever booking it: the advice is dropped with the
// void and the reversal finds nothing to cancel.
func TestVoidOfAnOfflineSaleDropsItsAdvice(t *testing.T) {
	t.Parallel()
	m := startTerminal(t, "", func(c *config.Config) {
		c.Offline.Approvals, c.Offline.FloorLimit, c.Offline.TACDefault = true, 5000, "5C4000A800"
	})
	img, err := card.Generate(card.Spec{File: "offline", Name: "offline-capable Visa", PAN: "4111111111111111",
		Holder: "OFFLINE/VISA", Scheme: "visa", Expiry: "311231", Contact: true, PSE: true,
		CVM: "00000000 00000000 1F03", IACDefault: "5C4000A800"})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(img)
	m.card(daemon.SimCard{Image: raw, EntryMethod: ptr(daemon.EntryChip), PresentAfter: ptr(time.Duration(0))})
	m.hostOffline()
	sale := m.approved("VO-1", 1200)
	if !sale.Offline {
		t.Fatalf("not approved offline: %+v", sale)
	}
	res, err := m.void("VO-1", "VO-VOID-1")
	wantApproved(t, res, err)
	if st := m.status(); st.PendingAdvices != 0 || st.PendingReversals != 1 || st.OpenBatchCount != 0 {
		t.Fatalf("after voiding offline: %+v", st)
	}
	m.host(daemon.SimHost{Offline: ptr(false)})
	m.approved("VO-2", 700)
	if st := m.status(); st.PendingReversals != 0 || st.PendingAdvices != 0 {
		t.Fatalf("queues after the host came back: %+v", st)
	}
	for _, a := range m.ledger().Approvals {
		if a.TransactionID == sale.ID && !a.Reversed {
			t.Fatalf("the host booked the voided offline sale: %+v", a)
		}
	}
	if b := m.closeBatch("VO-EOD").Batch; b.TotalAmount() != 700 || b.TransactionCount() != 1 {
		t.Fatalf("batch: %+v", b)
	}
}
