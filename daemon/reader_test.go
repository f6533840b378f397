package daemon_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/emv/card"
)

func TestWrongOnlinePINDeclines(t *testing.T) {
	t.Parallel()
	m := startTerminal(t, "", nil)
	m.card(daemon.SimCard{PAN: ptr("5555555555554444"), EntryMethod: ptr(daemon.EntryChip), PresentAfter: ptr(time.Duration(0)), PIN: ptr("9999")})
	res, err := m.sale("PIN-1", 800)
	tx := wantFinished(t, res, err, daemon.StatusDeclined, daemon.CodeCardDeclined)
	if tx.DeclineCode != "incorrect_pin" {
		t.Fatalf("decline code %q", tx.DeclineCode)
	}
	m.card(daemon.SimCard{PIN: ptr("1234")})
	m.approved("PIN-1", 800)
}

func TestCardRemovedBeforeTheCardAcceptsIsReversed(t *testing.T) {
	t.Parallel()
	m := startTerminal(t, "", nil)
	m.card(daemon.SimCard{PAN: ptr("4000000000000077"), EntryMethod: ptr(daemon.EntryChip), PresentAfter: ptr(time.Duration(0))})
	m.host(daemon.SimHost{Latency: ptr(800 * time.Millisecond)})
	first := m.saleAsync("PULL-1", 1500)
	m.waitStage(daemon.StageAuthorising)
	if err := m.sim.SetReader(daemon.SimReader{RemoveCard: true}); err != nil {
		t.Fatal(err)
	}
	r := <-first
	tx := wantFinished(t, r.res, r.err, daemon.StatusFailed, daemon.CodeReaderError)
	if !strings.Contains(tx.ErrorMessage, "reversed") {
		t.Fatalf("message: %s", tx.ErrorMessage)
	}
	if l := m.ledger(); len(l.Approvals) != 1 || !l.Approvals[0].Reversed {
		t.Fatalf("the host still holds the money: %+v", l.Approvals)
	}
}

func TestUnpluggedReaderFailsCleanlyAndRecovers(t *testing.T) {
	t.Parallel()
	m := startTerminal(t, "", nil)
	m.card(daemon.SimCard{PAN: ptr("4242424242424242"), EntryMethod: ptr(daemon.EntryContactless), PresentAfter: ptr(time.Duration(0))})
	m.approved("PLUG-0", 100)
	if err := m.sim.SetReader(daemon.SimReader{Unplugged: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	res, err := m.sale("PLUG-1", 100)
	wantFinished(t, res, err, daemon.StatusFailed, daemon.CodeReaderError)
	if err := m.sim.SetReader(daemon.SimReader{Unplugged: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	m.approved("PLUG-1", 100)
}

func TestGarbledFramesAreRecovered(t *testing.T) {
	t.Parallel()
	m := startTerminal(t, "", nil)
	m.card(daemon.SimCard{PAN: ptr("4242424242424242"), EntryMethod: ptr(daemon.EntryChip), PresentAfter: ptr(time.Duration(0))})
	if err := m.sim.SetReader(daemon.SimReader{GarbleFrames: 2, DropBytes: 1}); err != nil {
		t.Fatal(err)
	}
	m.approved("NOISE-1", 100)
}

func TestCardImageCanBePresented(t *testing.T) {
	t.Parallel()
	m := startTerminal(t, "", nil)
	// A recorded card image replays through the kernel.
	img, err := card.Builtin("visa-signature")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(img)
	if err != nil {
		t.Fatal(err)
	}
	m.card(daemon.SimCard{Image: raw, EntryMethod: ptr(daemon.EntryChip), PresentAfter: ptr(time.Duration(0))})
	if tx := m.approved("IMG-1", 100); !tx.Receipts.SignatureRequired {
		t.Fatalf("signature not required: %+v", tx.Receipts)
	}
	wantCode(t, m.sim.SetCard(daemon.SimCard{Image: []byte(`{"name":"broken"}`)}), daemon.CodeInvalidRequest)
}
