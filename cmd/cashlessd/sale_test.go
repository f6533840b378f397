package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestSaleApprovedCarriesEveryReferenceField(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	d.card(map[string]any{"pan": "4242424242424242", "entryMethod": "contactless", "presentAfterMs": 0})
	r := d.post("/cashless/v1/sale", map[string]any{
		"amount": 2500, "currency": "USD", "reference": "POS-ORDER-0821", "tipAmount": 300, "printReceipt": true,
	}).expect(t, 200, "")
	for _, f := range []string{"status", "reference", "transactionId", "amount", "tipAmount", "totalAmount", "currency",
		"authCode", "entryMethod", "cardScheme", "maskedPan", "cardholderName", "receiptData", "completedAt"} {
		if _, ok := r.body[f]; !ok {
			t.Errorf("approved sale lacks %q: %s", f, r.raw)
		}
	}
	if r.str("status") != "approved" || r.str("reference") != "POS-ORDER-0821" || r.num("amount") != 2500 ||
		r.num("tipAmount") != 300 || r.num("totalAmount") != 2800 || r.str("currency") != "USD" {
		t.Fatalf("wrong sale: %s", r.raw)
	}
	if !strings.HasPrefix(r.str("transactionId"), "tpay_") || len(r.str("authCode")) != 6 {
		t.Errorf("ids: %s", r.raw)
	}
	if r.str("maskedPan") != "************4242" || r.str("cardScheme") != "visa" || r.str("entryMethod") != "contactless" {
		t.Errorf("card fields: %s", r.raw)
	}
	if _, err := time.Parse(time.RFC3339, r.str("completedAt")); err != nil || !strings.HasSuffix(r.str("completedAt"), "Z") {
		t.Errorf("completedAt %q is not RFC 3339 UTC", r.str("completedAt"))
	}
	if r.body["receiptPrinted"] != true {
		t.Errorf("receiptPrinted: %v", r.body["receiptPrinted"])
	}
	rd := r.obj("receiptData")
	merchant, _ := rd["merchantReceipt"].(string)
	customer, _ := rd["customerReceipt"].(string)
	for _, want := range []string{"term_SIM_0001", "SALE", "************4242", "VISA", "CONTACTLESS", "A0000000031010",
		"USD 25.00", "USD 3.00", "USD 28.00", "APPROVED", r.str("authCode"), "POS-ORDER-0821", r.str("transactionId")} {
		if !strings.Contains(merchant, want) || !strings.Contains(customer, want) {
			t.Errorf("receipts lack %q:\n%s\n%s", want, merchant, customer)
		}
	}
	if !strings.Contains(merchant, "MERCHANT COPY") || !strings.Contains(customer, "CUSTOMER COPY") || !strings.Contains(merchant, "\nTVR ") || strings.Contains(customer, "\nTVR ") {
		t.Errorf("copy labels or merchant-only fields wrong:\n%s\n%s", merchant, customer)
	}

	// Repeating the same request replays the stored answer: no second charge.
	again := d.post("/cashless/v1/sale", map[string]any{
		"amount": 2500, "currency": "USD", "reference": "POS-ORDER-0821", "tipAmount": 300, "printReceipt": true,
	}).expect(t, 200, "")
	if again.header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(again.raw, r.raw) {
		t.Fatalf("replay differs:\n%s\n%s", r.raw, again.raw)
	}
	if r.header.Get("Idempotent-Replayed") != "" {
		t.Error("first answer marked as replay")
	}
	// Same reference, other parameters: refused.
	d.post("/cashless/v1/sale", map[string]any{"amount": 2600, "currency": "USD", "reference": "POS-ORDER-0821", "tipAmount": 300}).
		expect(t, 409, "duplicate_reference")
	st := d.post("/cashless/v1/status", map[string]any{}).expect(t, 200, "")
	if ob := st.obj("openBatch"); ob["transactionCount"] != float64(1) || ob["totalAmount"] != float64(2800) {
		t.Fatalf("one charge expected in the open batch: %s", st.raw)
	}
}

func TestSimulatorRefusesABadCard(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	d.post("/simulator/v1/card", map[string]any{"pan": "4242424242424241"}).expect(t, 400, "invalid_request")
	d.post("/simulator/v1/card", map[string]any{"entryMethod": "nfc"}).expect(t, 400, "invalid_request")
	d.post("/simulator/v1/printer", map[string]any{}).expect(t, 400, "invalid_request")
	d.post("/simulator/v1/clock", map[string]any{"advanceSeconds": -1}).expect(t, 400, "invalid_request")
}
