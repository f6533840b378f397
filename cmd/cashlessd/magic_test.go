package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vinr/cashlessd/daemon/host/hostsim"
)

// TestTestAmountsPickTheOutcome runs a sale of every documented test amount
// (900.00 to 900.99) on a daemon whose card control was never touched and
// checks the outcome end to end; then card settings given explicitly win.
func TestTestAmountsPickTheOutcome(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := startDaemon(t, dir, "--config", writeConfig(t, "card_timeout = \"5s\"\n[host]\ntimeout = \"2s\"\n"))
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	live := d.openEvents(ctx, 0)
	for _, c := range []struct {
		amount      int64
		status      int
		code        string
		declineCode string
	}{
		{90000, 200, "", ""},
		{90005, 402, "card_declined", "card_declined"},
		{90051, 402, "card_declined", "insufficient_funds"},
		{90054, 402, "card_declined", "expired_card"},
		{90091, 503, "communication_error", ""},
		{90068, 503, "communication_error", ""},
		{90017, 409, "transaction_cancelled", ""},
		{90030, 200, "", ""},
		{90040, 200, "", ""},
		{90055, 402, "card_declined", "incorrect_pin"},
		{90099, 409, "transaction_cancelled", ""},
		{10051, 200, "", ""}, // not a test amount
	} {
		ref := fmt.Sprintf("MAGIC-%d", c.amount)
		r := d.sale(ref, c.amount).expect(t, c.status, c.code)
		if r.str("declineCode") != c.declineCode {
			t.Errorf("%d: declineCode %q, want %q", c.amount, r.str("declineCode"), c.declineCode)
		}
		evs := story(t, readUntilOutcome(t, live, ref), ref)
		switch c.amount {
		case 90040, 90055:
			if !slices.Contains(evs, "prompt:enter_pin") {
				t.Errorf("%d: no PIN prompt in %v", c.amount, evs)
			}
			if r.status == 200 && (r.str("entryMethod") != "chip" || !strings.HasSuffix(r.str("maskedPan"), "8210")) {
				t.Errorf("%d: not the PIN card's chip: %s", c.amount, r.raw)
			}
		default:
			if slices.Contains(evs, "prompt:enter_pin") {
				t.Errorf("%d: a PIN prompt in %v", c.amount, evs)
			}
		}
	}
	// The answer that came too late was booked and then reversed.
	deadline := time.Now().Add(30 * time.Second)
	for {
		l, err := hostsim.ReadLedger(filepath.Join(dir, "hostsim", "ledger.json"))
		if err != nil {
			t.Fatal(err)
		}
		reversed, found := false, false
		for _, a := range l.Approvals {
			if a.Amount == 90068 {
				found, reversed = true, a.Reversed
			}
			if a.Amount == 90051 || a.Amount == 90091 || a.Amount == 90005 {
				t.Errorf("a declined test amount was booked: %+v", a)
			}
		}
		if !found {
			t.Fatal("the late approval is not in the host's ledger")
		}
		if reversed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the late approval was never reversed")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Card settings given explicitly win over the amount: the approved
	// card tapped at once, no PIN card; a decline card keeps its answer.
	d.card(map[string]any{"pan": "4242424242424242", "entryMethod": "contactless", "presentAfterMs": 0})
	r := d.sale("MAGIC-EXPLICIT-1", 90040).expect(t, 200, "")
	if r.str("entryMethod") != "contactless" || !strings.HasSuffix(r.str("maskedPan"), "4242") {
		t.Errorf("explicit card lost to the amount: %s", r.raw)
	}
	d.card(map[string]any{"pan": "4000000000000002"})
	if r := d.sale("MAGIC-EXPLICIT-2", 90051).expect(t, 402, "card_declined"); r.str("declineCode") != "card_declined" {
		t.Errorf("a decline card's own answer lost to the amount: %s", r.raw)
	}
}
