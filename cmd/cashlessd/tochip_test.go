package main

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/vinr/cashlessd/client"
	"github.com/vinr/cashlessd/emv"
	"github.com/vinr/cashlessd/emv/card"
)

// TestCancelWhileTheReaderAsksForTheChip: a tapped card the reader sends
// to the chip (mag-stripe mode only) and that has no chip to insert: while
// the reader asks for it nothing of the card has gone to the host, so the
// event stream and status show the sale waiting for a card again and the
// ECR's cancel is taken; the sale answers 409 transaction_cancelled.
func TestCancelWhileTheReaderAsksForTheChip(t *testing.T) {
	t.Parallel()
	img, err := card.Builtin("mastercard")
	if err != nil {
		t.Fatal(err)
	}
	app := img.Contactless["A0000000041010"]
	app.Data["82"] = emv.Hex{0x18, 0x00} // no EMV mode: mag-stripe mode only
	img.Contactless["A0000000041010"] = app
	img.Files = nil // and no chip: the simulated cardholder cannot insert it
	raw, err := json.Marshal(img)
	if err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	d.card(map[string]any{"image": json.RawMessage(raw), "entryMethod": "contactless", "presentAfterMs": 0})
	events := d.openEvents(ctx, 0)
	sale := make(chan response, 1)
	go func() { sale <- d.sale("TAP-CANCEL", 1500) }()

	// Read until the reader asks for the chip.
	var got []client.Event
	for !slices.Contains(story(t, got, "TAP-CANCEL"), "prompt:insert_card") {
		ev, err := events.Next()
		if err != nil {
			t.Fatalf("events after %v: %v", story(t, got, "TAP-CANCEL"), err)
		}
		got = append(got, ev)
	}
	if a := d.waitBusy("").obj("activeTransaction"); a["stage"] != "waiting_for_card" {
		t.Fatalf("status while the reader asks for the chip: %v", a)
	}
	d.post("/cashless/v1/cancel", map[string]any{"reference": "TAP-CANCEL"}).expect(t, 200, "")
	r := <-sale
	r.expect(t, 409, "transaction_cancelled")
	if r.str("status") != "cancelled" {
		t.Errorf("sale: %s", r.raw)
	}
	got = append(got, readUntilOutcome(t, events, "TAP-CANCEL")...)
	want := []string{"stage:waiting_for_card", "prompt:present_card", "stage:reading_card",
		"stage:waiting_for_card", "prompt:insert_card", "outcome:cancelled"}
	if s := story(t, got, "TAP-CANCEL"); !slices.Equal(s, want) {
		t.Fatalf("events of TAP-CANCEL:\n got  %v\n want %v", s, want)
	}
}
