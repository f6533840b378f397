package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/vinr/cashlessd/daemon/host/hostsim"
)

func TestWrongOnlinePINDeclines(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	d.card(map[string]any{"pan": "5555555555554444", "entryMethod": "chip", "presentAfterMs": 0, "pin": "9999"})
	r := d.sale("PIN-1", 800).expect(t, 402, "card_declined")
	if r.str("declineCode") != "incorrect_pin" {
		t.Fatalf("%s", r.raw)
	}
	d.card(map[string]any{"pin": "1234"})
	d.sale("PIN-1", 800).expect(t, 200, "")
}

func TestCardRemovedBeforeTheCardAcceptsIsReversed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := startDaemon(t, dir)
	d.card(map[string]any{"pan": "4000000000000077", "entryMethod": "chip", "presentAfterMs": 0})
	d.host(map[string]any{"latencyMs": 800})
	first := d.saleAsync("PULL-1", 1500)
	d.waitBusy("authorising")
	d.post("/simulator/v1/reader", map[string]any{"removeCard": true}).expect(t, 200, "")
	r := <-first
	r.expect(t, 503, "reader_error")
	if r.str("status") != "failed" || !strings.Contains(r.obj("error")["message"].(string), "reversed") {
		t.Fatalf("%s", r.raw)
	}
	l, err := hostsim.ReadLedger(filepath.Join(dir, "hostsim", "ledger.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Approvals) != 1 || !l.Approvals[0].Reversed {
		t.Fatalf("the host still holds the money: %+v", l.Approvals)
	}
}

func TestUnpluggedReaderFailsCleanlyAndRecovers(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	d.card(map[string]any{"pan": "4242424242424242", "entryMethod": "contactless", "presentAfterMs": 0})
	d.sale("PLUG-0", 100).expect(t, 200, "")
	d.post("/simulator/v1/reader", map[string]any{"unplugged": true}).expect(t, 200, "")
	r := d.sale("PLUG-1", 100).expect(t, 503, "reader_error")
	if r.str("status") != "failed" {
		t.Fatalf("%s", r.raw)
	}
	d.post("/simulator/v1/reader", map[string]any{"unplugged": false}).expect(t, 200, "")
	d.sale("PLUG-1", 100).expect(t, 200, "")
}

func TestGarbledFramesAreRecovered(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	d.card(map[string]any{"pan": "4242424242424242", "entryMethod": "chip", "presentAfterMs": 0})
	d.post("/simulator/v1/reader", map[string]any{"garbleFrames": 2, "dropBytes": 1}).expect(t, 200, "")
	d.sale("NOISE-1", 100).expect(t, 200, "")
}

func TestCardImageCanBePresented(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	// A recorded card image replays through the kernel.
	d.card(map[string]any{"image": cardImage(t, "visa-signature"), "entryMethod": "chip", "presentAfterMs": 0})
	r := d.sale("IMG-1", 100).expect(t, 200, "")
	if r.obj("receiptData")["signatureRequired"] != true {
		t.Fatalf("%s", r.raw)
	}
	d.post("/simulator/v1/card", map[string]any{"image": map[string]any{"name": "broken"}}).expect(t, 400, "invalid_request")
}
