package main

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vinr/cashlessd/daemon/host/hostsim"
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
	if !strings.Contains(merchant, "MERCHANT COPY") || !strings.Contains(customer, "CUSTOMER COPY") || !strings.Contains(merchant, "TVR") || strings.Contains(customer, "TVR") {
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

func TestSaleOutcomesByTestCard(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	cases := []struct {
		pan, status, decline, scheme string
		http                         int
	}{
		{"4242424242424242", "approved", "", "visa", 200},
		{"5555555555554444", "approved", "", "mastercard", 200},
		{"4000000000000002", "declined", "card_declined", "", 402},
		{"4000000000009995", "declined", "insufficient_funds", "", 402},
		{"4000000000000069", "declined", "expired_card", "", 402},
		{"378282246310005", "approved", "", "amex", 200},
	}
	for i, c := range cases {
		d.card(map[string]any{"pan": c.pan, "presentAfterMs": 0, "entryMethod": "chip"})
		r := d.sale("CARD-"+c.pan, int64(1000+i))
		if r.status != c.http || r.str("status") != c.status {
			t.Fatalf("%s: %d %s", c.pan, r.status, r.raw)
		}
		if c.decline != "" {
			r.expect(t, 402, "card_declined")
			if r.str("declineCode") != c.decline || r.str("declineMessage") == "" || r.str("completedAt") == "" {
				t.Errorf("%s: %s", c.pan, r.raw)
			}
			if rd := r.obj("receiptData"); rd == nil || !strings.Contains(rd["customerReceipt"].(string), "DECLINED") {
				t.Errorf("decline without receipt: %s", r.raw)
			}
		} else if r.str("cardScheme") != c.scheme {
			t.Errorf("%s: scheme %s", c.pan, r.str("cardScheme"))
		}
	}
	// After a decline the reference may be tried again with another card.
	d.card(map[string]any{"pan": "4242424242424242"})
	d.sale("CARD-4000000000000002", 1002).expect(t, 200, "")
}

func TestSimulatorRefusesABadCard(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	d.post("/simulator/v1/card", map[string]any{"pan": "4242424242424241"}).expect(t, 400, "invalid_request")
	d.post("/simulator/v1/card", map[string]any{"entryMethod": "nfc"}).expect(t, 400, "invalid_request")
	d.post("/simulator/v1/printer", map[string]any{}).expect(t, 400, "invalid_request")
	d.post("/simulator/v1/clock", map[string]any{"advanceSeconds": -1}).expect(t, 400, "invalid_request")
}

func TestEntryMethodsAndCardholderVerification(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	cases := []struct {
		name, pan, entry, want string
		signature, pin         bool
	}{
		{"chip, offline PIN", "4000002500003155", "chip", "chip", false, true},
		{"chip, online PIN", "5555555555554444", "chip", "chip", false, true},
		{"chip, signature", "4000000000000077", "chip", "chip", true, false},
		{"contactless, no CVM", "4242424242424242", "contactless", "contactless", false, false},
		{"magstripe card swiped", "4111111111111111", "swipe", "swipe", true, false},
		// A chip card swiped is asked for its chip: the cardholder inserts it.
		{"chip card swiped", "4242424242424242", "swipe", "chip", false, false},
	}
	for i, c := range cases {
		d.card(map[string]any{"pan": c.pan, "entryMethod": c.entry, "presentAfterMs": 0})
		r := d.sale(fmt.Sprintf("ENTRY-%d", i), 500).expect(t, 200, "")
		if r.str("entryMethod") != c.want {
			t.Errorf("%s: entry %s: %s", c.name, r.str("entryMethod"), r.raw)
			continue
		}
		rd := r.obj("receiptData")
		if sig := rd["signatureRequired"] == true; sig != c.signature {
			t.Errorf("%s: signatureRequired %v", c.name, sig)
		}
		if c.signature && !strings.Contains(rd["merchantReceipt"].(string), "CARDHOLDER SIGNATURE") {
			t.Errorf("%s: signature line missing:\n%s", c.name, rd["merchantReceipt"])
		}
		if pin := strings.Contains(rd["customerReceipt"].(string), "PIN VERIFIED"); pin != c.pin {
			t.Errorf("%s: PIN VERIFIED %v:\n%s", c.name, pin, rd["customerReceipt"])
		}
	}
}

func TestHostUnreachableChargesNothing(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	d.card(map[string]any{"presentAfterMs": 0})
	d.host(map[string]any{"offline": true})
	r := d.sale("OFFLINE-1", 700).expect(t, 503, "communication_error")
	if r.str("status") != "failed" || r.str("reference") != "OFFLINE-1" {
		t.Fatalf("%s", r.raw)
	}
	st := d.post("/cashless/v1/status", map[string]any{})
	if st.obj("openBatch")["transactionCount"] != float64(0) {
		t.Fatalf("failed sale joined the batch: %s", st.raw)
	}
	d.host(map[string]any{"offline": false})
	d.sale("OFFLINE-1", 700).expect(t, 200, "")
}

func TestLostHostAnswerIsReversed(t *testing.T) {
	t.Parallel()
	cfg := writeConfig(t, "[host]\ntimeout = \"1s\"\n")
	d := startDaemon(t, t.TempDir(), "--config", cfg)
	d.card(map[string]any{"presentAfterMs": 0})
	d.host(map[string]any{"dropResponse": true})
	r := d.sale("DROP-1", 900).expect(t, 503, "communication_error")
	if !strings.Contains(r.obj("error")["message"].(string), "reversed") {
		t.Errorf("message should say the authorisation was reversed: %s", r.raw)
	}
	st := d.post("/cashless/v1/status", map[string]any{})
	if st.obj("openBatch")["transactionCount"] != float64(0) {
		t.Fatalf("%s", st.raw)
	}
	// The host also loses the reversal's answer: it stays queued...
	if st.num("pendingReversals") != 1 {
		t.Fatalf("reversal should be queued: %s", st.raw)
	}
	d.host(map[string]any{"dropResponse": false})
	// ...and goes out before the next authorisation.
	d.sale("DROP-1", 900).expect(t, 200, "")
	st = d.post("/cashless/v1/status", map[string]any{})
	if st.num("pendingReversals") != 0 {
		t.Fatalf("reversal still queued: %s", st.raw)
	}
	ledger, err := hostsim.ReadLedger(filepath.Join(d.dataDir, "hostsim", "ledger.json"))
	if err != nil {
		t.Fatal(err)
	}
	var net int64
	for _, a := range ledger.Approvals {
		if !a.Reversed {
			net += a.Amount
		}
	}
	if net != 900 {
		t.Fatalf("host holds %d, want only the second sale's 900: %+v", net, ledger)
	}
}
