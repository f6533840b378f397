package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vinr/cashlessd/printer"
)

// printedJobs returns the raw print jobs the virtual printer received.
func printedJobs(t *testing.T, dataDir string) [][]byte {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dataDir, "printer", "*.bin"))
	var out [][]byte
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, raw)
	}
	return out
}

func TestPrintedReceiptSaysWhatTheECRWasTold(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := startDaemon(t, dir)
	d.card(map[string]any{"pan": "4000000000000077", "entryMethod": "chip", "presentAfterMs": 0})
	r := d.post("/cashless/v1/sale", map[string]any{"amount": 1999, "currency": "USD", "reference": "PRN-1", "printReceipt": true}).expect(t, 200, "")
	if r.body["receiptPrinted"] != true {
		t.Fatalf("%s", r.raw)
	}
	jobs := printedJobs(t, dir)
	if len(jobs) != 2 {
		t.Fatalf("signature sale should print merchant and customer copies, got %d jobs", len(jobs))
	}
	rd := r.obj("receiptData")
	for i, want := range []string{rd["merchantReceipt"].(string), rd["customerReceipt"].(string)} {
		got := printer.Render(printer.Decode(jobs[i]), 32)
		if got != want {
			t.Errorf("copy %d printed:\n%s\nECR got:\n%s", i, got, want)
		}
	}
}

func TestSettlementReportIsPrintedWhenConfigured(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := writeConfig(t, "[settlement]\nprint_report = true\n")
	d := startDaemon(t, dir, "--config", cfg)
	d.card(map[string]any{"presentAfterMs": 0})
	d.sale("SET-1", 1000).expect(t, 200, "")
	d.card(map[string]any{"pan": "5555555555554444"})
	d.sale("SET-2", 500).expect(t, 200, "")
	d.post("/cashless/v1/batch/close", map[string]any{"reference": "EOD-PRN"}).expect(t, 200, "")
	jobs := printedJobs(t, dir)
	if len(jobs) != 1 {
		t.Fatalf("%d jobs", len(jobs))
	}
	text := printer.Render(printer.Decode(jobs[0]), 32)
	for _, want := range []string{"SETTLEMENT", "EOD-PRN", "SALES 2", "VISA 1", "MASTERCARD 1", "USD 15.00"} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
}

func TestPrintTestCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var out bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &out, Version: "t"}
	if err := m.Run(t.Context(), []string{"print-test", "--simulator", "--data-dir", dir}); err != nil {
		t.Fatal(err, out.String())
	}
	jobs := printedJobs(t, dir)
	if len(jobs) != 1 || !strings.Contains(printer.Render(printer.Decode(jobs[0]), 32), "TEST PAGE") {
		t.Fatalf("%d jobs", len(jobs))
	}
	if err := m.Run(t.Context(), []string{"print-test", "--simulator", "--model", "ciontek_cm30", "--data-dir", dir}); err == nil {
		t.Fatal("a model without printer printed")
	}
}
