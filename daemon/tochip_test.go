package daemon_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/emv"
	"github.com/vinr/cashlessd/emv/card"
	"github.com/vinr/cashlessd/emv/reader"
	"github.com/vinr/cashlessd/emv/reader/virtual"
)

// tapToChip taps, on the terminal's virtual reader, a Mastercard that
// answers contactless in mag-stripe mode only (the reader sends it to
// the chip) once the sale's card prompt is up, and returns when the
// reader asks for the chip, the tapped card taken away. The simulated
// cardholder is told to present nothing, so the test alone acts.
func tapToChip(t *testing.T, m *terminal) (*virtual.Reader, *card.Image) {
	t.Helper()
	img, err := card.Builtin("mastercard")
	if err != nil {
		t.Fatal(err)
	}
	app := img.Contactless["A0000000041010"]
	app.Data["82"] = emv.Hex{0x18, 0x00} // no EMV mode: mag-stripe mode only
	img.Contactless["A0000000041010"] = app
	vr := m.sim.VirtualReader()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := vr.WaitFor(ctx, func(s virtual.State) bool { return s.Detecting && s.Interfaces&reader.Contactless != 0 }); err != nil {
		t.Fatal("no card prompt:", err)
	}
	c, err := card.New(img, emv.Contactless)
	if err != nil {
		t.Fatal(err)
	}
	vr.Tap(c)
	if err := vr.WaitFor(ctx, func(s virtual.State) bool { return s.Detecting && s.Interfaces == reader.Contact }); err != nil {
		t.Fatal("the reader never asked for the chip:", err)
	}
	vr.Remove()
	return vr, img
}

// TestCancelWhileTapSentToChip: while the reader asks for the chip of a
// tapped card that cannot go on contactless, nothing of the card has
// gone to the host: status shows the transaction waiting for a card
// again and the ECR's cancel ends it cancelled, as before the first
// card.
func TestCancelWhileTapSentToChip(t *testing.T) {
	t.Parallel()
	m := startTerminal(t, "", nil)
	m.card(daemon.SimCard{Present: ptr(false)})
	sale := m.saleAsync("TAP-CANCEL-1", 1500)
	tapToChip(t, m)
	if st := m.status(); st.ActiveStage != daemon.StageWaitingForCard {
		t.Fatalf("stage while the reader asks for the chip: %q", st.ActiveStage)
	}
	c, err := m.engine.Cancel("TAP-CANCEL-1")
	if err != nil || c.Reference != "TAP-CANCEL-1" {
		t.Fatalf("cancel: %+v %v", c, err)
	}
	r := <-sale
	tx := wantFinished(t, r.res, r.err, daemon.StatusCancelled, daemon.CodeTransactionCancelled)
	if !strings.Contains(tx.ErrorMessage, "ECR") || tx.HostMessage != nil || tx.AuthCode != "" {
		t.Errorf("cancelled sale: %+v", tx)
	}
	m.waitIdle()
	// The reference may be used again after the cancel.
	m.card(daemon.SimCard{PAN: ptr("4242424242424242"), PresentAfter: ptr(time.Duration(0))})
	m.approved("TAP-CANCEL-1", 1500)
}

// TestCancelAfterChipInsertedIsRefused: once the chip of a tapped card
// sent to the chip is inserted, the card is being read (here: the PIN
// pad waits for the PIN) and cancel is refused as for any presented
// card; the sale goes on and is approved on the chip.
func TestCancelAfterChipInsertedIsRefused(t *testing.T) {
	t.Parallel()
	m := startTerminal(t, "", nil)
	m.card(daemon.SimCard{Present: ptr(false)})
	sale := m.saleAsync("TAP-CHIP-1", 1500)
	vr, img := tapToChip(t, m)
	c, err := card.New(img, emv.Contact)
	if err != nil {
		t.Fatal(err)
	}
	vr.SetPIN("") // the cardholder types nothing until told
	vr.Insert(c)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := vr.WaitFor(ctx, func(s virtual.State) bool { return s.PINEntry }); err != nil {
		t.Fatal("no PIN prompt:", err)
	}
	if st := m.status(); st.ActiveStage != daemon.StageReadingCard {
		t.Fatalf("stage with the chip inserted: %q", st.ActiveStage)
	}
	_, err = m.engine.Cancel("TAP-CHIP-1")
	wantCode(t, err, daemon.CodeCancelNotAllowed)
	vr.SetPIN("1234")
	r := <-sale
	tx := wantApproved(t, r.res, r.err)
	if tx.Card == nil || tx.Card.EntryMethod != daemon.EntryChip {
		t.Errorf("approved sale: %+v", tx.Card)
	}
}
