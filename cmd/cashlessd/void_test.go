package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vinr/cashlessd/daemon/host/hostsim"
)

// voidBody is a void request.
func voidBody(orig, ref string, print bool) map[string]any {
	return map[string]any{"originalReference": orig, "reference": ref, "printReceipt": print}
}

// hostLedger reads the host simulator's ledger of a daemon's data directory.
func hostLedger(t *testing.T, dir string) hostsim.Ledger {
	t.Helper()
	l, err := hostsim.ReadLedger(filepath.Join(dir, "hostsim", "ledger.json"))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// printedTexts returns the text jobs the virtual printer received, in order.
func printedTexts(t *testing.T, dir string) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "printer", "*.txt"))
	slices.Sort(files)
	var out []string
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(raw))
	}
	return out
}

// kindTotal reads totals.<kind> or schemes.<scheme> of a batch answer as
// count, gross and net.
func kindTotal(r response, group, name string) (count, gross, net int64) {
	m, _ := r.obj(group)[name].(map[string]any)
	if m == nil {
		return 0, 0, 0
	}
	n := func(k string) int64 { v, _ := m[k].(float64); return int64(v) }
	return n("count"), n("grossAmount"), n("netAmount")
}

func TestVoidInsideTheOpenBatch(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := startDaemon(t, dir)
	d.card(map[string]any{"pan": "4242424242424242", "presentAfterMs": 0})
	s1 := d.sale("E2E-VOID-S1", 2500).expect(t, 200, "")
	d.card(map[string]any{"pan": "5555555555554444"})
	d.sale("E2E-VOID-S2", 1000).expect(t, 200, "")
	d.post("/cashless/v1/refund", map[string]any{"originalReference": "E2E-VOID-S2", "amount": 400, "currency": "USD",
		"reference": "E2E-VOID-R1"}).expect(t, 200, "")

	x := d.post("/cashless/v1/batch/totals", "{}").expect(t, 200, "")
	if x.str("status") != "open" || x.num("transactionCount") != 3 || x.num("netAmount") != 3100 || x.num("grossAmount") != 3900 {
		t.Fatalf("X-report before the void: %s", x.raw)
	}
	if c, g, n := kindTotal(x, "schemes", "mastercard"); c != 2 || g != 1400 || n != 600 {
		t.Fatalf("mastercard before the void: %d %d %d: %s", c, g, n, x.raw)
	}

	v := d.post("/cashless/v1/void", voidBody("E2E-VOID-S1", "E2E-VOID-V1", true)).expect(t, 200, "")
	if v.str("status") != "approved" || v.num("amount") != 2500 || v.str("originalTransactionId") != s1.str("transactionId") ||
		v.body["receiptPrinted"] != true || !strings.Contains(v.obj("receiptData")["customerReceipt"].(string), "VOID") {
		t.Fatalf("void: %s", v.raw)
	}
	if jobs := printedTexts(t, dir); len(jobs) != 1 || !strings.Contains(jobs[0], "VOID SALE") || !strings.Contains(jobs[0], "-25.00") {
		t.Fatalf("printed: %q", jobs)
	}
	var reversed bool
	for _, a := range hostLedger(t, dir).Approvals {
		if a.TransactionID == s1.str("transactionId") {
			reversed = a.Reversed
		}
	}
	if !reversed {
		t.Fatal("the host's ledger does not show the voided sale reversed")
	}

	// The batch lost the sale, per kind and per scheme.
	x = d.post("/cashless/v1/batch/totals", map[string]any{"print": true}).expect(t, 200, "")
	if x.num("transactionCount") != 2 || x.num("netAmount") != 600 || x.num("grossAmount") != 1400 || x.body["reportPrinted"] != true {
		t.Fatalf("X-report after the void: %s", x.raw)
	}
	if c, g, n := kindTotal(x, "totals", "sales"); c != 1 || g != 1000 || n != 1000 {
		t.Fatalf("sales after the void: %d %d %d", c, g, n)
	}
	if c, g, n := kindTotal(x, "totals", "refunds"); c != 1 || g != 400 || n != -400 {
		t.Fatalf("refunds after the void: %d %d %d", c, g, n)
	}
	if _, ok := x.obj("schemes")["visa"]; ok {
		t.Fatalf("the voided visa sale is still in the schemes: %s", x.raw)
	}
	if jobs := printedTexts(t, dir); len(jobs) != 2 || !strings.Contains(jobs[1], "X-REPORT") {
		t.Fatalf("printed: %q", jobs)
	}
	if st := d.post("/cashless/v1/status", "{}"); st.obj("openBatch")["transactionCount"] != float64(2) {
		t.Fatalf("status: %s", st.raw)
	}

	// Idempotent: the same void replays, other parameters conflict, a
	// second void of the sale is refused, and the sale is no payment any
	// more.
	again := d.post("/cashless/v1/void", voidBody("E2E-VOID-S1", "E2E-VOID-V1", true)).expect(t, 200, "")
	if again.header.Get("Idempotent-Replayed") != "true" || again.str("transactionId") != v.str("transactionId") {
		t.Fatalf("repeat: %v %s", again.header, again.raw)
	}
	d.post("/cashless/v1/void", voidBody("E2E-VOID-S2", "E2E-VOID-V1", false)).expect(t, 409, "duplicate_reference")
	d.post("/cashless/v1/void", voidBody("E2E-VOID-S1", "E2E-VOID-V2", false)).expect(t, 422, "void_not_allowed")
	d.sale("E2E-VOID-S1", 2500).expect(t, 409, "duplicate_reference")
	if l := d.post("/cashless/v1/transaction", map[string]any{"reference": "E2E-VOID-S1"}).expect(t, 200, ""); l.str("status") != "voided" ||
		l.str("transactionId") != s1.str("transactionId") || l.num("totalAmount") != 2500 {
		t.Fatalf("lookup of the voided sale: %s", l.raw)
	}
	if l := d.post("/cashless/v1/transaction", map[string]any{"reference": "E2E-VOID-V1"}).expect(t, 200, ""); l.str("status") != "approved" ||
		l.str("type") != "void" || l.str("originalTransactionId") != s1.str("transactionId") {
		t.Fatalf("lookup of the void: %s", l.raw)
	}
	d.post("/cashless/v1/void", voidBody("E2E-VOID-S2", "E2E-VOID-V3", false)).expect(t, 422, "void_not_allowed") // has a refund

	// The X-report equals the close that follows.
	x = d.post("/cashless/v1/batch/totals", "{}").expect(t, 200, "")
	closed := d.post("/cashless/v1/batch/close", map[string]any{"reference": "E2E-VOID-EOD"}).expect(t, 200, "")
	if x.str("batchId") != closed.str("batchId") {
		t.Fatalf("X-report batch %s, closed %s", x.str("batchId"), closed.str("batchId"))
	}
	for _, k := range []string{"transactionCount", "totalAmount", "grossAmount", "netAmount"} {
		if x.num(k) != closed.num(k) {
			t.Errorf("%s: X-report %d, close %d", k, x.num(k), closed.num(k))
		}
	}
	for _, g := range []struct{ group, name string }{{"totals", "sales"}, {"totals", "completions"}, {"totals", "refunds"}, {"schemes", "mastercard"}} {
		xc, xg, xn := kindTotal(x, g.group, g.name)
		cc, cg, cn := kindTotal(closed, g.group, g.name)
		if xc != cc || xg != cg || xn != cn {
			t.Errorf("%s.%s: X-report %d/%d/%d, close %d/%d/%d", g.group, g.name, xc, xg, xn, cc, cg, cn)
		}
	}
	if len(x.obj("schemes")) != len(closed.obj("schemes")) {
		t.Errorf("schemes: X-report %s, close %s", x.raw, closed.raw)
	}

	// After the close: no void into the closed batch; a refund instead.
	d.post("/cashless/v1/void", voidBody("E2E-VOID-R1", "E2E-VOID-V4", false)).expect(t, 422, "void_not_allowed")
	x = d.post("/cashless/v1/batch/totals", "{}").expect(t, 200, "")
	if x.num("transactionCount") != 0 || x.str("batchId") != "" {
		t.Fatalf("X-report of an empty terminal: %s", x.raw)
	}
}
