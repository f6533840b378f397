package main

import (
	"context"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/vinr/cashlessd/client"
	"github.com/vinr/cashlessd/daemon/api/wire"
)

// eventSchemas names the schema of each event type's data.
var eventSchemas = map[string]string{
	wire.EventStage: "StageEvent", wire.EventPrompt: "PromptEvent", wire.EventOutcome: "OutcomeEvent",
	wire.EventPrinter: "DeviceEvent", wire.EventReader: "DeviceEvent", wire.EventBatch: "BatchEvent", wire.EventGap: "GapEvent",
}

// TestOpenAPIDescribesTheEventStream drives a real daemon through every
// kind of event (every stage, prompt, outcome, printer, reader and batch
// change, and a gap) and validates each event's data against the schema
// docs/openapi.yaml names for its type.
func TestOpenAPIDescribesTheEventStream(t *testing.T) {
	t.Parallel()
	s := loadSpec(t)
	item := s.model.Paths.PathItems.GetOrZero(wire.PathEvents)
	if item == nil || item.Get == nil || item.Post != nil {
		t.Fatalf("the spec has no GET-only %s", wire.PathEvents)
	}
	if ok := item.Get.Responses.Codes.GetOrZero("200"); ok == nil || ok.Content.GetOrZero(wire.EventStreamType) == nil {
		t.Fatalf("GET %s: no 200 %s answer in the spec", wire.PathEvents, wire.EventStreamType)
	}
	var inSpec []string
	for _, v := range s.schema("EventType").Enum {
		inSpec = append(inSpec, v.Value)
	}
	var inWire []string
	for typ := range eventSchemas {
		inWire = append(inWire, typ)
	}
	sort.Strings(inSpec)
	sort.Strings(inWire)
	if !slices.Equal(inSpec, inWire) {
		t.Errorf("event types differ:\n spec %v\n wire %v", inSpec, inWire)
	}

	d := startDaemon(t, t.TempDir(), "--config", writeConfig(t, "card_timeout = \"5s\"\n[host]\ntimeout = \"2s\"\n"))
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	live := d.openEvents(ctx, 0)
	seen := map[string]bool{}
	check := func(ev client.Event) {
		name, ok := eventSchemas[ev.Type]
		if !ok {
			t.Errorf("event %d of unknown type %q", ev.ID, ev.Type)
			return
		}
		s.conforms("event "+ev.Type, ev.Data, name)
		data := eventData(t, ev)
		for _, k := range []string{"stage", "prompt", "status", "state"} {
			if v, ok := data[k].(string); ok {
				seen[ev.Type+":"+v] = true
			}
		}
		seen[ev.Type] = true
	}
	run := func(ref string, f func()) {
		f()
		for _, ev := range readUntilOutcome(t, live, ref) {
			check(ev)
		}
	}

	// Approved with a printed receipt; a chip card swiped (insert card),
	// a PIN; declined, cancelled and failed outcomes.
	d.card(map[string]any{"pan": "4242424242424242", "entryMethod": "swipe", "presentAfterMs": 0})
	run("OE-1", func() {
		d.post("/cashless/v1/sale", map[string]any{"amount": 1000, "currency": "USD", "reference": "OE-1", "printReceipt": true}).expect(t, 200, "")
	})
	d.card(map[string]any{"pan": "5200828282828210", "entryMethod": "chip"})
	run("OE-2", func() { d.sale("OE-2", 1100).expect(t, 200, "") })
	d.card(map[string]any{"pan": "4000000000000002", "entryMethod": "contactless"})
	run("OE-3", func() { d.sale("OE-3", 1200).expect(t, 402, "card_declined") })
	d.card(map[string]any{"pan": "4242424242424242"})
	run("OE-4", func() { d.sale("OE-4", 90017).expect(t, 409, "transaction_cancelled") })
	d.host(map[string]any{"offline": true})
	run("OE-5", func() { d.sale("OE-5", 1300).expect(t, 503, "communication_error") })
	d.host(map[string]any{"offline": false})
	run("OE-6", func() {
		d.post("/cashless/v1/preauth", map[string]any{"amount": 5000, "currency": "USD", "reference": "OE-6"}).expect(t, 200, "")
	})
	run("OE-7", func() {
		d.post("/cashless/v1/preauth/complete", map[string]any{"originalReference": "OE-6", "captureAmount": 4000, "currency": "USD", "reference": "OE-7"}).expect(t, 200, "")
	})
	run("OE-8", func() {
		d.post("/cashless/v1/refund", map[string]any{"originalReference": "OE-1", "amount": 100, "currency": "USD", "reference": "OE-8"}).expect(t, 200, "")
	})

	// The printer runs out of paper and back; the reader is unplugged
	// and plugged in again; a batch settles and closes.
	next := func(until string) {
		for !seen[until] {
			ev, err := live.Next()
			if err != nil {
				t.Fatalf("stream ended before %s; seen %v: %v", until, seen, err)
			}
			check(ev)
		}
	}
	d.post("/simulator/v1/printer", map[string]any{"paper": false}).expect(t, 200, "")
	next("printer:paper_out")
	d.post("/simulator/v1/reader", map[string]any{"unplugged": true}).expect(t, 200, "")
	d.sale("OE-9", 1400).expect(t, 503, "reader_error")
	d.post("/simulator/v1/reader", map[string]any{"unplugged": false}).expect(t, 200, "")
	d.post("/simulator/v1/printer", map[string]any{"paper": true}).expect(t, 200, "")
	next("printer:ready")
	run("OE-10", func() { d.sale("OE-10", 1500).expect(t, 200, "") })
	d.post("/cashless/v1/batch/close", map[string]any{"reference": "OE-EOD"}).expect(t, 200, "")
	next("batch:closed")

	// A gap.
	gap := d.openEvents(ctx, 1)
	ev, err := gap.Next()
	if err != nil {
		t.Fatal(err)
	}
	check(ev)

	for _, want := range []string{
		"stage:waiting_for_card", "stage:reading_card", "stage:authorising", "stage:completing", "stage:printing", "stage:done",
		"prompt:present_card", "prompt:insert_card", "prompt:enter_pin",
		"outcome:approved", "outcome:declined", "outcome:cancelled", "outcome:failed",
		"printer:paper_out", "printer:ready", "reader:connected", "reader:disconnected",
		"batch:settling", "batch:closed", "gap",
	} {
		if !seen[want] {
			t.Errorf("no %s event was validated", want)
		}
	}
}
