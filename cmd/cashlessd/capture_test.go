package main

import (
	"testing"
	"time"
)

func TestRefundsAddUpToTheCapturedTotal(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	d.card(map[string]any{"presentAfterMs": 0})
	sale := d.post("/cashless/v1/sale", map[string]any{"amount": 2500, "tipAmount": 300, "currency": "USD", "reference": "ORDER-1"}).expect(t, 200, "")

	refund := func(ref string, amount int64) response {
		return d.post("/cashless/v1/refund", map[string]any{"originalReference": "ORDER-1", "amount": amount, "currency": "USD", "reference": ref})
	}
	r := refund("REFUND-1", 2000).expect(t, 200, "")
	for _, f := range []string{"status", "reference", "transactionId", "amount", "currency", "originalTransactionId", "completedAt"} {
		if _, ok := r.body[f]; !ok {
			t.Errorf("refund lacks %q: %s", f, r.raw)
		}
	}
	if r.str("originalTransactionId") != sale.str("transactionId") || r.num("amount") != 2000 {
		t.Fatalf("%s", r.raw)
	}
	refund("REFUND-2", 801).expect(t, 422, "amount_exceeds_original")
	refund("REFUND-2", 800).expect(t, 200, "") // tip included: 2800 in all
	refund("REFUND-3", 1).expect(t, 422, "amount_exceeds_original")
	// A repeated refund replays and refunds nothing more.
	again := refund("REFUND-2", 800).expect(t, 200, "")
	if again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("refund repeat should replay")
	}
	refund("REFUND-2", 700).expect(t, 409, "duplicate_reference")
	d.post("/cashless/v1/refund", map[string]any{"originalReference": "NO-SUCH", "amount": 1, "currency": "USD", "reference": "R-X"}).
		expect(t, 404, "transaction_not_found")
	d.post("/cashless/v1/refund", map[string]any{"originalReference": "ORDER-1", "amount": 1, "currency": "EUR", "reference": "R-Y"}).
		expect(t, 400, "invalid_request")

	b := d.post("/cashless/v1/batch/close", map[string]any{"reference": "EOD-1"}).expect(t, 200, "")
	if b.num("transactionCount") != 3 || b.num("totalAmount") != 0 {
		t.Fatalf("batch: %s", b.raw)
	}
}

func TestPreauthCompletionRules(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	d.card(map[string]any{"pan": "5555555555554444", "entryMethod": "chip", "presentAfterMs": 0})
	pa := d.post("/cashless/v1/preauth", map[string]any{"amount": 10000, "currency": "USD", "reference": "HOTEL-1"}).expect(t, 200, "")
	for _, f := range []string{"status", "reference", "transactionId", "amount", "currency", "authCode", "entryMethod", "cardScheme", "maskedPan", "expiresAt", "completedAt"} {
		if _, ok := pa.body[f]; !ok {
			t.Errorf("preauth lacks %q: %s", f, pa.raw)
		}
	}
	done, _ := time.Parse(time.RFC3339, pa.str("completedAt"))
	exp, _ := time.Parse(time.RFC3339, pa.str("expiresAt"))
	if exp.Sub(done) != 7*24*time.Hour || pa.str("cardScheme") != "mastercard" {
		t.Fatalf("expiresAt %s completedAt %s", pa.str("expiresAt"), pa.str("completedAt"))
	}
	st := d.post("/cashless/v1/status", map[string]any{})
	if st.obj("openBatch")["transactionCount"] != float64(0) {
		t.Fatal("a pre-auth must not join the batch")
	}
	complete := func(orig, ref string, amount int64) response {
		return d.post("/cashless/v1/preauth/complete", map[string]any{"originalReference": orig, "captureAmount": amount, "currency": "USD", "reference": ref})
	}
	complete("HOTEL-1", "HOTEL-1-FINAL", 10001).expect(t, 422, "amount_exceeds_original")
	complete("NOPE", "HOTEL-1-FINAL", 100).expect(t, 404, "transaction_not_found")
	c := complete("HOTEL-1", "HOTEL-1-FINAL", 8750).expect(t, 200, "")
	for _, f := range []string{"status", "reference", "transactionId", "captureAmount", "currency", "authCode", "completedAt"} {
		if _, ok := c.body[f]; !ok {
			t.Errorf("completion lacks %q: %s", f, c.raw)
		}
	}
	if c.num("captureAmount") != 8750 {
		t.Fatalf("%s", c.raw)
	}
	complete("HOTEL-1", "HOTEL-1-FINAL", 8750).expect(t, 200, "")
	complete("HOTEL-1", "HOTEL-1-AGAIN", 100).expect(t, 422, "preauth_already_completed")
	// A completion can be refunded.
	d.post("/cashless/v1/refund", map[string]any{"originalReference": "HOTEL-1-FINAL", "amount": 750, "currency": "USD", "reference": "HOTEL-1-REFUND"}).
		expect(t, 200, "")

	d.post("/cashless/v1/preauth", map[string]any{"amount": 5000, "currency": "USD", "reference": "CAR-1"}).expect(t, 200, "")
	d.post("/simulator/v1/clock", map[string]any{"advanceSeconds": 8 * 24 * 3600}).expect(t, 200, "")
	complete("CAR-1", "CAR-1-FINAL", 100).expect(t, 422, "preauth_expired")
}

func TestBatchCloseIsIdempotentAndStartsANewBatch(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	d.card(map[string]any{"presentAfterMs": 0})
	d.sale("B-1", 1000).expect(t, 200, "")
	d.sale("B-2", 2000).expect(t, 200, "")
	d.post("/cashless/v1/refund", map[string]any{"originalReference": "B-1", "amount": 400, "currency": "USD", "reference": "B-R1"}).expect(t, 200, "")
	d.post("/cashless/v1/preauth", map[string]any{"amount": 9000, "currency": "USD", "reference": "B-P1"}).expect(t, 200, "")

	b := d.post("/cashless/v1/batch/close", map[string]any{"reference": "EOD-20260611"}).expect(t, 200, "")
	for _, f := range []string{"status", "batchId", "reference", "transactionCount", "totalAmount", "currency", "closedAt"} {
		if _, ok := b.body[f]; !ok {
			t.Errorf("batch lacks %q: %s", f, b.raw)
		}
	}
	if b.str("status") != "closed" || b.num("transactionCount") != 3 || b.num("totalAmount") != 2600 || b.str("currency") != "USD" {
		t.Fatalf("%s", b.raw)
	}
	tot := b.obj("totals")
	if tot["sales"].(map[string]any)["count"] != float64(2) || tot["refunds"].(map[string]any)["amount"] != float64(400) {
		t.Fatalf("totals: %s", b.raw)
	}
	again := d.post("/cashless/v1/batch/close", map[string]any{"reference": "EOD-20260611"}).expect(t, 200, "")
	if again.str("batchId") != b.str("batchId") || again.num("totalAmount") != 2600 || again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("repeat close: %s", again.raw)
	}
	d.sale("B-3", 500).expect(t, 200, "")
	next := d.post("/cashless/v1/batch/close", map[string]any{"reference": "EOD-20260612"}).expect(t, 200, "")
	if next.str("batchId") == b.str("batchId") || next.num("transactionCount") != 1 || next.num("totalAmount") != 500 {
		t.Fatalf("second batch: %s", next.raw)
	}
	empty := d.post("/cashless/v1/batch/close", map[string]any{"reference": "EOD-20260613"}).expect(t, 200, "")
	if empty.num("transactionCount") != 0 {
		t.Fatalf("empty batch: %s", empty.raw)
	}
	d.post("/cashless/v1/batch/close", map[string]any{}).expect(t, 400, "invalid_request")
}

func TestDailySettlementClosesTheBatch(t *testing.T) {
	t.Parallel()
	cfg := writeConfig(t, "[settlement]\nauto = true\ntime = \"23:00\"\n")
	d := startDaemon(t, t.TempDir(), "--config", cfg)
	d.card(map[string]any{"presentAfterMs": 0})
	d.sale("AUTO-1", 1500).expect(t, 200, "")
	d.post("/simulator/v1/clock", map[string]any{"advanceSeconds": 24 * 3600}).expect(t, 200, "")
	st := d.post("/cashless/v1/status", map[string]any{})
	if st.obj("openBatch")["transactionCount"] != float64(0) {
		t.Fatalf("the daily settlement did not close the batch: %s", st.raw)
	}
	// A manual close now settles nothing twice.
	b := d.post("/cashless/v1/batch/close", map[string]any{"reference": "EOD-MANUAL"}).expect(t, 200, "")
	if b.num("transactionCount") != 0 {
		t.Fatalf("%s", b.raw)
	}
}

func TestDailySettlementCanBeSwitchedOff(t *testing.T) {
	t.Parallel()
	cfg := writeConfig(t, "[settlement]\nauto = false\n")
	d := startDaemon(t, t.TempDir(), "--config", cfg)
	d.card(map[string]any{"presentAfterMs": 0})
	d.sale("MANUAL-1", 1500).expect(t, 200, "")
	d.post("/simulator/v1/clock", map[string]any{"advanceSeconds": 3 * 24 * 3600}).expect(t, 200, "")
	st := d.post("/cashless/v1/status", map[string]any{})
	if st.obj("openBatch")["transactionCount"] != float64(1) {
		t.Fatalf("%s", st.raw)
	}
}
