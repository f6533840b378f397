package daemon

import (
	"strings"
	"testing"
	"time"
)

func TestFormatAmountUsesMinorUnits(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		minor int64
		cur   string
		want  string
	}{
		{2500, "USD", "USD 25.00"}, {5, "USD", "USD 0.05"}, {2500, "JPY", "JPY 2500"},
		{2500, "KWD", "KWD 2.500"}, {-400, "EUR", "EUR -4.00"}, {100, "BHD", "BHD 0.100"},
	} {
		if got := FormatAmount(c.minor, c.cur); got != c.want {
			t.Errorf("FormatAmount(%d, %s) = %q, want %q", c.minor, c.cur, got, c.want)
		}
	}
}

func TestWrapBreaksAtWordsAndHardBreaksLongWords(t *testing.T) {
	t.Parallel()
	got := Wrap("Café Zürich with a remarkably long merchant name", 12)
	want := []string{"Café Zürich", "with a", "remarkably", "long", "merchant", "name"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("%q", got)
	}
	if got := Wrap("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 10); strings.Join(got, "|") != "ABCDEFGHIJ|KLMNOPQRST|UVWXYZ" {
		t.Fatalf("%q", got)
	}
}

func TestReceiptFitsThePaper(t *testing.T) {
	t.Parallel()
	tx := &Transaction{ID: "tpay_01HZ5QA7BKXXXXXXXXXXXXXXXX", Kind: KindSale, Reference: strings.Repeat("R", 64), Status: StatusApproved,
		Amount: 2500, TipAmount: 300, Currency: "USD", AuthCode: "A12345", CompletedAt: time.Date(2026, 6, 11, 10, 15, 11, 0, time.UTC),
		Card: &CardInfo{MaskedPAN: "************4242", Scheme: "visa", EntryMethod: EntryChip, AID: "A0000000031010",
			ApplicationLabel: "VISA CREDIT", TVR: "0000008000", TSI: "E800", Cryptogram: "ARQC", PINVerified: true}}
	for _, width := range []int{32, 48} {
		layout := ReceiptLayout{Merchant: Merchant{Name: "A Merchant With A Name Far Longer Than Any Paper Roll"}, TerminalID: "term_CT20_0042", Width: width}
		text := BuildReceipt(layout, tx, MerchantCopy).Text()
		for _, line := range strings.Split(text, "\n") {
			if n := len([]rune(line)); n > width {
				t.Errorf("width %d: line of %d: %q", width, n, line)
			}
		}
		for _, want := range []string{"SALE", "USD 28.00", "PIN VERIFIED", "TVR", "MERCHANT COPY", "2026-06-11"} {
			if !strings.Contains(text, want) {
				t.Errorf("width %d: lacks %q\n%s", width, want, text)
			}
		}
	}
}

func TestBatchTotals(t *testing.T) {
	t.Parallel()
	var b Batch
	b.Add(&Transaction{Kind: KindSale, Amount: 1000, TipAmount: 100, Card: &CardInfo{Scheme: "visa"}})
	b.Add(&Transaction{Kind: KindCompletion, Amount: 500, Card: &CardInfo{Scheme: "mastercard"}})
	b.Add(&Transaction{Kind: KindRefund, Amount: 300, Card: &CardInfo{Scheme: "visa"}})
	b.Add(&Transaction{Kind: KindPreauth, Amount: 9999})
	if b.TransactionCount() != 3 || b.TotalAmount() != 1300 || b.Schemes["visa"].Amount != 800 || b.Schemes["visa"].Count != 2 {
		t.Fatalf("%+v", b)
	}
}
