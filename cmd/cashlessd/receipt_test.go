package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vinr/cashlessd/printer"
)

func TestReceiptLastAndReprint(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := startDaemon(t, dir)
	d.post("/cashless/v1/receipt/last", map[string]any{}).expect(t, 404, "transaction_not_found")
	d.post("/cashless/v1/receipt/reprint", map[string]any{}).expect(t, 404, "transaction_not_found")
	d.card(map[string]any{"presentAfterMs": 0})
	sale := d.sale("RCPT-1", 2500).expect(t, 200, "")
	last := d.post("/cashless/v1/receipt/last", "{}").expect(t, 200, "")
	for _, f := range []string{"transactionId", "reference", "status", "receiptData", "completedAt"} {
		if _, ok := last.body[f]; !ok {
			t.Errorf("receipt/last lacks %q: %s", f, last.raw)
		}
	}
	rd := last.obj("receiptData")
	if last.str("transactionId") != sale.str("transactionId") || rd["signatureRequired"] != false ||
		rd["customerReceipt"] != sale.obj("receiptData")["customerReceipt"] {
		t.Fatalf("%s", last.raw)
	}

	p := d.post("/cashless/v1/receipt/reprint", map[string]any{}).expect(t, 200, "")
	if p.str("status") != "printed" || p.str("type") != "customer" {
		t.Fatalf("%s", p.raw)
	}
	d.post("/cashless/v1/receipt/reprint", map[string]any{"type": "both"}).expect(t, 200, "")
	d.post("/cashless/v1/receipt/reprint", map[string]any{"type": "kitchen"}).expect(t, 400, "invalid_request")
	jobs, _ := filepath.Glob(filepath.Join(dir, "printer", "*.txt"))
	if len(jobs) != 3 {
		t.Fatalf("printed %d jobs, want 3", len(jobs))
	}
	job, _ := os.ReadFile(jobs[0])
	if !strings.Contains(string(job), "CUSTOMER COPY") || !strings.Contains(string(job), "RCPT-1") {
		t.Fatalf("printed:\n%s", job)
	}

	// Paper out: the sale stays approved, the print fails and says so.
	d.post("/simulator/v1/printer", map[string]any{"paper": false}).expect(t, 200, "")
	r := d.post("/cashless/v1/sale", map[string]any{"amount": 100, "currency": "USD", "reference": "RCPT-2", "printReceipt": true}).expect(t, 200, "")
	if r.str("status") != "approved" || r.body["receiptPrinted"] != false || r.str("printerError") == "" {
		t.Fatalf("%s", r.raw)
	}
	st := d.post("/cashless/v1/status", map[string]any{})
	if st.obj("printer")["state"] != "paper_out" {
		t.Fatalf("status printer: %s", st.raw)
	}
	d.post("/cashless/v1/receipt/reprint", map[string]any{"type": "customer"}).expect(t, 503, "printer_error")
	d.post("/simulator/v1/printer", map[string]any{"paper": true}).expect(t, 200, "")
	d.post("/cashless/v1/receipt/reprint", map[string]any{"type": "merchant"}).expect(t, 200, "")
}

func TestDeclinedTransactionHasALastReceipt(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	d.card(map[string]any{"pan": "4000000000000002", "presentAfterMs": 0})
	d.sale("DECL-1", 100).expect(t, 402, "card_declined")
	last := d.post("/cashless/v1/receipt/last", map[string]any{}).expect(t, 200, "")
	if last.str("status") != "declined" || !strings.Contains(last.obj("receiptData")["merchantReceipt"].(string), "DECLINED") {
		t.Fatalf("%s", last.raw)
	}
}

func TestModelWithoutPrinter(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir(), "--model", "nexgo_n86pro", "--terminal-id", "term_N86_0007")
	d.card(map[string]any{"presentAfterMs": 0})
	r := d.post("/cashless/v1/sale", map[string]any{"amount": 100, "currency": "USD", "reference": "NOPRN-1", "printReceipt": true}).expect(t, 200, "")
	if r.body["receiptPrinted"] != false {
		t.Fatalf("%s", r.raw)
	}
	d.post("/cashless/v1/receipt/reprint", map[string]any{}).expect(t, 422, "printer_unavailable")
	st := d.post("/cashless/v1/status", map[string]any{})
	if st.str("model") != "nexgo_n86pro" || st.str("terminalId") != "term_N86_0007" || st.str("softwareVersion") != "1.2.3-test" {
		t.Fatalf("%s", st.raw)
	}
}

func TestReceiptsUseTheCurrencysDecimals(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ cur, want string }{{"JPY", "JPY 2500"}, {"KWD", "KWD 2.500"}, {"EUR", "EUR 25.00"}} {
		cfg := writeConfig(t, "currency = \""+c.cur+"\"\n[merchant]\nname = \"Café Zürich with a very long name that wraps\"\n")
		d := startDaemon(t, t.TempDir(), "--config", cfg)
		d.card(map[string]any{"presentAfterMs": 0})
		r := d.post("/cashless/v1/sale", map[string]any{"amount": 2500, "currency": c.cur, "reference": "CUR-" + c.cur}).expect(t, 200, "")
		receipt := r.obj("receiptData")["customerReceipt"].(string)
		if !strings.Contains(receipt, c.want) {
			t.Errorf("%s receipt lacks %q:\n%s", c.cur, c.want, receipt)
		}
		for _, line := range strings.Split(receipt, "\n") {
			if len([]rune(line)) > 32 {
				t.Errorf("line wider than the paper: %q", line)
			}
		}
		d.post("/cashless/v1/sale", map[string]any{"amount": 2500, "currency": "GBP", "reference": "CUR-X"}).expect(t, 400, "invalid_request")
		d.stop()
	}
}

func TestReceiptIsPrintedAndReprintedAsStoredAcrossALayoutChange(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	jobFiles := func() map[string]bool {
		files, _ := filepath.Glob(filepath.Join(dir, "printer", "*.bin"))
		set := map[string]bool{}
		for _, f := range files {
			set[f] = true
		}
		return set
	}
	d := startDaemon(t, dir, "--config", writeConfig(t, "[merchant]\nname = \"FIRST HEADER\"\n[receipt]\nwidth = 32\n"))
	// A signature card: both copies are printed at the sale.
	d.card(map[string]any{"pan": "4000000000000077", "entryMethod": "chip", "presentAfterMs": 0})
	sale := d.post("/cashless/v1/sale", map[string]any{"amount": 4200, "currency": "USD", "reference": "STORED-1", "printReceipt": true}).expect(t, 200, "")
	if sale.body["receiptPrinted"] != true {
		t.Fatalf("%s", sale.raw)
	}
	rd := sale.obj("receiptData")
	stored := []string{rd["merchantReceipt"].(string), rd["customerReceipt"].(string)}
	atSale := jobFiles()
	if len(atSale) != 2 {
		t.Fatalf("%d jobs at the sale", len(atSale))
	}
	d.stop()

	// Another header and paper width: what was stored does not change.
	d = startDaemon(t, dir, "--config", writeConfig(t, "[merchant]\nname = \"SECOND HEADER\"\n[receipt]\nwidth = 48\n"))
	last := d.post("/cashless/v1/receipt/last", map[string]any{}).expect(t, 200, "")
	if lr := last.obj("receiptData"); lr["merchantReceipt"] != stored[0] || lr["customerReceipt"] != stored[1] {
		t.Fatalf("receipt/last after the layout change:\n%s", last.raw)
	}
	d.post("/cashless/v1/receipt/reprint", map[string]any{"type": "both"}).expect(t, 200, "")
	var reprints []string
	for f := range jobFiles() {
		if !atSale[f] {
			reprints = append(reprints, f)
		}
	}
	slices.Sort(reprints)
	if len(reprints) != 2 {
		t.Fatalf("%d reprint jobs", len(reprints))
	}
	for i, f := range reprints {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := printer.Decode(raw)
		if len(lines) < 2 || !strings.Contains(lines[0].Text, "DUPLICATE") || !strings.Contains(lines[len(lines)-1].Text, "DUPLICATE") {
			t.Fatalf("reprint %d is not marked as a duplicate:\n%s", i, printer.Render(lines, 32))
		}
		if got := printer.Render(lines[1:len(lines)-1], 32); got != stored[i] {
			t.Errorf("reprint %d printed:\n%s\nstored:\n%s", i, got, stored[i])
		}
	}
	// The reprint is not stored: receipt/last still says what the sale said.
	again := d.post("/cashless/v1/receipt/last", map[string]any{}).expect(t, 200, "")
	if again.obj("receiptData")["customerReceipt"] != stored[1] {
		t.Fatalf("%s", again.raw)
	}

	// New transactions use the new layout.
	d.card(map[string]any{"presentAfterMs": 0})
	next := d.sale("STORED-2", 100).expect(t, 200, "")
	if c := next.obj("receiptData")["customerReceipt"].(string); !strings.Contains(c, "SECOND HEADER") || !strings.Contains(c, strings.Repeat("-", 48)) {
		t.Fatalf("a new sale is not laid out with the new configuration:\n%s", c)
	}
}
