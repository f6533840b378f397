package daemon

import (
	"strings"
	"testing"
	"time"
)

func TestRemoveUndoesAdd(t *testing.T) {
	t.Parallel()
	var b Batch
	sale := &Transaction{Kind: KindSale, Amount: 1000, TipAmount: 100, Card: &CardInfo{Scheme: "visa"}}
	refund := &Transaction{Kind: KindRefund, Amount: 300, Card: &CardInfo{Scheme: "visa"}}
	completion := &Transaction{Kind: KindCompletion, Amount: 500, Card: &CardInfo{Scheme: "mastercard"}}
	for _, t := range []*Transaction{sale, refund, completion} {
		b.Add(t)
	}
	if b.GrossAmount() != 1900 || b.TotalAmount() != 1300 || b.Schemes["visa"].Gross != 1400 || b.Schemes["visa"].Amount != 800 {
		t.Fatalf("%+v %+v", b, b.Schemes["visa"])
	}
	b.Remove(refund)
	if b.RefundCount != 0 || b.TotalAmount() != 1600 || b.Schemes["visa"].Amount != 1100 || b.Schemes["visa"].Count != 1 {
		t.Fatalf("after removing the refund: %+v %+v", b, b.Schemes["visa"])
	}
	b.Remove(sale)
	b.Remove(completion)
	if b.TransactionCount() != 0 || b.GrossAmount() != 0 || len(b.Schemes) != 0 {
		t.Fatalf("after removing everything: %+v", b)
	}
}

func TestXReportLaysOutTheOpenTotals(t *testing.T) {
	t.Parallel()
	b := &Batch{ID: "batch_X", Currency: "USD", OpenedAt: time.Date(2026, 6, 11, 8, 0, 0, 0, time.UTC)}
	b.Add(&Transaction{Kind: KindSale, Amount: 2500, Card: &CardInfo{Scheme: "visa"}})
	b.Add(&Transaction{Kind: KindRefund, Amount: 500, Card: &CardInfo{Scheme: "visa"}})
	text := BuildXReport(ReceiptLayout{Merchant: Merchant{Name: "SHOP"}, TerminalID: "T1", Width: 32}, b,
		time.Date(2026, 6, 11, 12, 0, 0, 0, time.UTC)).Text()
	for _, want := range []string{"X-REPORT", "BATCH NOT CLOSED", "batch_X", "SALES 1", "USD 25.00", "REFUNDS 1", "USD -5.00", "GROSS", "USD 30.00", "NET 2", "USD 20.00"} {
		if !strings.Contains(text, want) {
			t.Errorf("X-report lacks %q:\n%s", want, text)
		}
	}
}
