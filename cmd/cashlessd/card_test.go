package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vinr/cashlessd/emv"
	"github.com/vinr/cashlessd/emv/card"
)

// TestCardImport turns an APDU trace into a card image file (0600) that
// loads, and refuses a bad interface name.
func TestCardImport(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	trace := filepath.Join(dir, "tap.trace")
	ppse := "6F23840E325041592E5359532E4444463031A511BF0C0E610C4F07A00000000410108701019000"
	app := "6F0B8407A0000000041010A5009000"
	if err := os.WriteFile(trace, []byte("> 00A404000E325041592E5359532E444446303100\n< "+ppse+
		"\n> 00A4040007A000000004101000\n< "+app+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "tap.json")
	var stdout, stderr bytes.Buffer
	m := &Main{Stdout: &stdout, Stderr: &stderr}
	if err := m.Run(context.Background(), []string{"card", "import", "--in", trace, "--out", out, "--name", "a tap"}); err != nil {
		t.Fatal(err, stderr.String())
	}
	st, err := os.Stat(out)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("%v %v", err, st.Mode())
	}
	img, err := card.Load(out)
	if err != nil || img.Name != "a tap" || len(img.Contactless) != 2 || img.Files != nil {
		t.Fatalf("%v %+v", err, img)
	}
	err = m.Run(context.Background(), []string{"card", "import", "--in", trace, "--interface", "nfc"})
	if err == nil || !strings.Contains(err.Error(), "contactless") {
		t.Errorf("bad interface: %v", err)
	}
}

// TestTapSentToChip: a tapped card that answers in contactless mag-stripe
// mode is not a reader error: the reader asks for the chip, the simulated
// cardholder inserts the card and the sale is approved on the chip.
func TestTapSentToChip(t *testing.T) {
	t.Parallel()
	img, err := card.Builtin("mastercard")
	if err != nil {
		t.Fatal(err)
	}
	app := img.Contactless["A0000000041010"]
	app.Data["82"] = emv.Hex{0x18, 0x00} // no EMV mode: mag-stripe mode only
	img.Contactless["A0000000041010"] = app
	raw, err := json.Marshal(img)
	if err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, t.TempDir())
	d.card(map[string]any{"image": json.RawMessage(raw), "entryMethod": "contactless", "presentAfterMs": 0})
	r := d.sale("TAP-TO-CHIP", 1500).expect(t, 200, "")
	if r.str("entryMethod") != "chip" || r.str("maskedPan") != "************4444" {
		t.Errorf("sale: %s", r.raw)
	}
}
