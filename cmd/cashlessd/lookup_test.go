package main

import (
	"context"
	"errors"
	"testing"

	"github.com/vinr/cashlessd/client"
	"github.com/vinr/cashlessd/daemon/api/wire"
)

// TestClientTimeoutThenLookup: over real TLS, an ECR's client gives up on
// a sale while the host takes 3 s to answer (an earlier attempt under the
// reference was declined). The lookup answers at once, pending with the
// stage; once the host answered it answers approved, and lists the
// decline as the earlier attempt. receipt/last for the reference is the
// approval's, never the earlier decline's, and a pre-auth or refund under
// the approved reference is 409.
func TestClientTimeoutThenLookup(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	api := client.New(client.Config{BaseURL: d.base, Key: d.key, HTTPClient: d.client})
	ref := wire.Ptr("LK-E2E-1")
	sale := wire.SaleRequest{Amount: wire.Ptr[int64](1500), Currency: wire.Ptr("USD"), Reference: ref}

	var apiErr *client.Error
	if _, err := api.Transaction(context.Background(), wire.LookupRequest{Reference: ref}); !errors.As(err, &apiErr) ||
		apiErr.HTTPStatus != 404 || apiErr.Code != "transaction_not_found" {
		t.Fatalf("lookup before any attempt: %v", err)
	}
	d.card(map[string]any{"pan": "4000000000009995", "presentAfterMs": 0, "present": true})
	declined, err := api.Sale(context.Background(), sale)
	if declined == nil || declined.Status != "declined" || err == nil {
		t.Fatalf("first attempt: %v %+v", err, declined)
	}

	d.card(map[string]any{"pan": "4242424242424242"})
	d.host(map[string]any{"latencyMs": 3000})
	ctx, cancel := context.WithCancel(context.Background())
	lost := make(chan error, 1)
	go func() {
		_, err := api.Sale(ctx, sale)
		lost <- err
	}()
	d.waitBusy("authorising")
	cancel() // the ECR's time-out
	var te *client.TransportError
	if err := <-lost; !errors.As(err, &te) {
		t.Fatalf("the abandoned sale: %v", err)
	}

	running, err := api.Transaction(context.Background(), wire.LookupRequest{Reference: ref})
	if err != nil || running.Status != "pending" || running.Stage != "authorising" || running.TransactionID == declined.TransactionID ||
		running.Error != nil || len(running.Attempts) != 1 || running.Attempts[0].TransactionID != declined.TransactionID ||
		running.Attempts[0].Status != "declined" || running.Attempts[0].DeclineCode != "insufficient_funds" {
		t.Fatalf("lookup while running: %v %+v", err, running)
	}
	d.post("/cashless/v1/preauth", map[string]any{"amount": 1500, "currency": "USD", "reference": *ref}).expect(t, 409, "duplicate_reference")

	d.waitIdle()
	d.host(map[string]any{"latencyMs": 0})
	final, err := api.Transaction(context.Background(), wire.LookupRequest{Reference: ref})
	if err != nil || final.Status != "approved" || final.TransactionID != running.TransactionID || final.ReceiptData == nil ||
		final.MaskedPan == "" || len(final.Attempts) != 1 {
		t.Fatalf("lookup after: %v %+v", err, final)
	}
	byID, err := api.Transaction(context.Background(), wire.LookupRequest{TransactionID: &declined.TransactionID})
	if err != nil || byID.Status != "declined" || byID.Error == nil || len(byID.Attempts) != 0 {
		t.Fatalf("lookup of the declined attempt by ID: %v %+v", err, byID)
	}
	receipt, err := api.ReceiptByReference(context.Background(), *ref)
	if err != nil || receipt.TransactionID != final.TransactionID || receipt.Status != "approved" {
		t.Fatalf("receipt/last for the reference: %v %+v", err, receipt)
	}
	d.post("/cashless/v1/preauth", map[string]any{"amount": 1500, "currency": "USD", "reference": *ref}).expect(t, 409, "duplicate_reference")
	d.post("/cashless/v1/refund", map[string]any{"originalReference": *ref, "amount": 100, "currency": "USD", "reference": *ref}).
		expect(t, 409, "duplicate_reference")
	replay, err := api.Sale(context.Background(), sale)
	if err != nil || !replay.Replayed || replay.TransactionID != final.TransactionID {
		t.Fatalf("repeat: %v %+v", err, replay)
	}

	// A failed sale's receipt/last by reference is 404, never the
	// approval before it.
	d.host(map[string]any{"offline": true})
	d.post("/cashless/v1/sale", map[string]any{"amount": 700, "currency": "USD", "reference": "LK-E2E-2"}).expect(t, 503, "communication_error")
	d.post("/cashless/v1/receipt/last", map[string]any{"reference": "LK-E2E-2"}).expect(t, 404, "transaction_not_found")
}
