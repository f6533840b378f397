package daemon

import (
	"strings"
	"testing"
	"time"
)

// benchReceiptTransaction is an approved chip sale with every field a
// receipt shows.
func benchReceiptTransaction() *Transaction {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return &Transaction{ID: "tx_01HBENCHRECEIPT0000000000", Kind: KindSale, Reference: "POS-ORDER-0821", Status: StatusApproved,
		Amount: 2500, TipAmount: 300, Currency: "USD", AuthCode: "123456",
		Card: &CardInfo{MaskedPAN: "424242******4242", Scheme: "visa", EntryMethod: EntryChip, AID: "A0000000031010",
			ApplicationLabel: "VISA CREDIT", TVR: "0000000000", TSI: "E800", Cryptogram: "0123456789ABCDEF", SignatureRequired: true},
		StartedAt: at, CompletedAt: at.Add(time.Second)}
}

// BenchmarkRenderReceipts is what a lookup of a stored transaction spends
// laying both copies of its receipt out again (texts included).
func BenchmarkRenderReceipts(b *testing.B) {
	t := benchReceiptTransaction()
	src := BuildReceipts(ReceiptLayout{Merchant: Merchant{Name: "VINR PAYMENTS DEMO", Address: "1 Market St", ID: "M-0001"},
		TerminalID: "term_BENCH_01", Width: 32, QR: true}, t).Source
	b.ReportAllocs()
	for b.Loop() {
		if _, err := RenderReceipts(t, src); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDocumentTextIsEachLinePaddedAndTrimmed holds Document.Text to its
// definition: each line aligned within the width (pad), trailing spaces
// dropped, whatever the line's spaces, runes and length.
func TestDocumentTextIsEachLinePaddedAndTrimmed(t *testing.T) {
	t.Parallel()
	texts := []string{"", " ", "   ", "A", " A", "A ", "  A  B  ", "TOTAL", "héllo wörld", "ÄÖÜ ", strings.Repeat("x", 31),
		strings.Repeat("x", 32), strings.Repeat("x", 33), strings.Repeat("é", 40), "tab\there"}
	for _, width := range []int{16, 32, 48} {
		var d Document
		d.Width = width
		var want strings.Builder
		for _, text := range texts {
			for _, align := range []Align{AlignLeft, AlignCenter, AlignRight} {
				d.Lines = append(d.Lines, Line{Text: text, Align: align}, Line{QR: text, Align: align})
				line := strings.TrimRight(pad(text, width, align), " ") + "\n"
				want.WriteString(line)
				want.WriteString(line)
			}
		}
		if got := d.Text(); got != want.String() {
			t.Fatalf("width %d:\n%q\nwant\n%q", width, got, want.String())
		}
	}
}

// TestFitsAsIsAgreesWithWrap: a text the builder takes as one line is
// exactly what Wrap would make of it.
func TestFitsAsIsAgreesWithWrap(t *testing.T) {
	t.Parallel()
	texts := []string{"", " ", "A", " A", "A ", "A  B", "A B", "A\tB", "A\nB", "APPROVED", "CARDHOLDER SIGNATURE",
		"héllo", "a\u00a0b", strings.Repeat("x", 16), strings.Repeat("x", 17), "PIN VERIFIED"}
	for _, width := range []int{0, 1, 8, 16} {
		for _, text := range texts {
			if fitsAsIs(text, width) {
				if got := Wrap(text, width); len(got) != 1 || got[0] != text {
					t.Errorf("fitsAsIs(%q, %d), but Wrap makes %q", text, width, got)
				}
			}
		}
	}
}
