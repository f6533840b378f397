package events

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/api/wire"
)

func stage(ref string, s daemon.Stage) daemon.Event {
	return daemon.Event{Type: daemon.EventStage, Reference: ref, TransactionID: "tpay_" + ref, Kind: "sale", Stage: s, Time: time.Now()}
}

// drain reads what is queued for s without waiting.
func drain(s *Subscription) []Message {
	var out []Message
	for {
		select {
		case m, ok := <-s.Events():
			if !ok {
				return out
			}
			out = append(out, m)
		default:
			return out
		}
	}
}

func TestResumeGivesExactlyWhatCameAfter(t *testing.T) {
	t.Parallel()
	h := New(Config{Ring: 8, FirstID: 100})
	for range 5 {
		h.Publish(stage("R", daemon.StageAuthorising))
	}
	got := drain(h.Subscribe(102, true))
	if len(got) != 2 || got[0].ID != 103 || got[1].ID != 104 {
		t.Fatalf("after 102: %+v", got)
	}
	if got := drain(h.Subscribe(104, true)); len(got) != 0 {
		t.Fatalf("after the last id: %+v", got)
	}
	if got := drain(h.Subscribe(0, false)); len(got) != 0 {
		t.Fatalf("a new listener gets no backlog: %+v", got)
	}
}

func TestALostIDGivesAGapThenEverythingHeld(t *testing.T) {
	t.Parallel()
	h := New(Config{Ring: 4, FirstID: 1})
	for range 10 {
		h.Publish(stage("R", daemon.StageAuthorising))
	}
	for _, last := range []int64{2, 5, 11, 99} { // fell out of the ring; not issued yet
		got := drain(h.Subscribe(last, true))
		if len(got) != 5 || got[0].Type != wire.EventGap || got[0].ID != 0 || got[1].ID != 7 || got[4].ID != 10 {
			t.Fatalf("after %d: %+v", last, got)
		}
		var gap wire.GapEvent
		if err := json.Unmarshal(got[0].Data, &gap); err != nil || gap.LastEventID != last || gap.OldestEventID != 7 {
			t.Fatalf("gap %s: %v", got[0].Data, err)
		}
	}
	if got := drain(h.Subscribe(6, true)); len(got) != 4 || got[0].ID != 7 {
		t.Fatalf("after 6 (just held): %+v", got)
	}
}

func TestASlowListenerIsDroppedAndNeverBlocks(t *testing.T) {
	t.Parallel()
	h := New(Config{Ring: 16, Queue: 4, FirstID: 1})
	slow := h.Subscribe(0, false)
	fast := h.Subscribe(0, false)
	var seen []int64
	for range 100 { // Publish returning at all is the point
		h.Publish(stage("R", daemon.StageAuthorising))
		for _, m := range drain(fast) {
			seen = append(seen, m.ID)
		}
	}
	if !slow.Dropped() || len(drain(slow)) != 4 {
		t.Fatal("the slow listener was not dropped after its queue filled")
	}
	if _, ok := <-slow.Events(); ok {
		t.Fatal("the slow listener's channel is open")
	}
	if len(seen) != 100 || seen[99] != 100 || fast.Dropped() {
		t.Fatalf("the fast listener saw %d events", len(seen))
	}
	if h.Listeners() != 1 {
		t.Fatalf("%d listeners", h.Listeners())
	}
	// It resumes from the ring after the last event it read.
	if got := drain(h.Subscribe(4, true)); got[0].Type != wire.EventGap {
		t.Fatalf("resume after 4 with a ring of 16 of 100: %+v", got[0])
	}
	fast.Close()
	h.Close()
	if _, ok := <-h.Subscribe(0, false).Events(); ok {
		t.Fatal("a closed hub takes listeners")
	}
}

func TestPromptsCarryTheActiveReference(t *testing.T) {
	t.Parallel()
	h := New(Config{FirstID: 1})
	s := h.Subscribe(0, false)
	h.Publish(stage("POS-1", daemon.StageWaitingForCard))
	h.Prompt("tpay_POS-1", wire.PromptEnterPIN, []string{"USD 12.00"})
	h.Prompt("tpay_OTHER", wire.PromptEnterPIN, nil)
	got := drain(s)
	var p1, p2 wire.PromptEvent
	_ = json.Unmarshal(got[1].Data, &p1)
	_ = json.Unmarshal(got[2].Data, &p2)
	if got[1].Type != wire.EventPrompt || p1.Reference != "POS-1" || p1.Prompt != "enter_pin" || p1.Lines[0] != "USD 12.00" {
		t.Fatalf("prompt %s", got[1].Data)
	}
	if p2.Reference != "" || p2.Lines == nil {
		t.Fatalf("prompt of another transaction %s", got[2].Data)
	}
}

func TestEventsAreEncodedOnce(t *testing.T) {
	t.Parallel()
	h := New(Config{FirstID: 1})
	s := h.Subscribe(0, false)
	tx := &daemon.Transaction{ID: "tpay_1", Kind: daemon.KindSale, Reference: "R", Status: daemon.StatusDeclined, Amount: 100,
		TipAmount: 5, Currency: "USD", DeclineCode: "insufficient_funds", PrintReceipt: true}
	h.Publish(daemon.Event{Type: daemon.EventOutcome, Tx: tx, Time: time.Unix(0, 0)})
	h.Publish(daemon.Event{Type: daemon.EventBatch, Batch: &daemon.Batch{ID: "batch_1", Reference: "EOD", Status: daemon.BatchClosed,
		SaleCount: 2, SaleAmount: 300, Currency: "USD"}})
	h.Publish(daemon.Event{Type: daemon.EventPrinter, State: "paper_out", Message: "out of paper"})
	h.Publish(daemon.Event{Type: "unknown"})
	h.Publish(daemon.Event{Type: daemon.EventOutcome}) // no transaction: nothing
	got := drain(s)
	want := []string{
		`{"reference":"R","transactionId":"tpay_1","type":"sale","status":"declined","totalAmount":105,"currency":"USD","declineCode":"insufficient_funds","errorCode":"card_declined","receiptPrinted":false,"time":"1970-01-01T00:00:00.000Z"}`,
		`{"reference":"EOD","batchId":"batch_1","status":"closed","transactionCount":2,"totalAmount":300,"currency":"USD","time":"0001-01-01T00:00:00.000Z"}`,
		`{"state":"paper_out","message":"out of paper","time":"0001-01-01T00:00:00.000Z"}`,
	}
	if len(got) != len(want) {
		t.Fatalf("%d events: %+v", len(got), got)
	}
	for i, w := range want {
		if string(got[i].Data) != w {
			t.Errorf("event %d:\n got  %s\n want %s", i, got[i].Data, w)
		}
	}
}
