package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/vinr/cashlessd/daemon/host/hostsim"
	"github.com/vinr/cashlessd/emv/card"
)

func TestOfflineApprovalIsForwardedAsAnAdvice(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := writeConfig(t, "[offline]\napprovals = true\nfloor_limit = 5000\ntac_default = \"5C4000A800\"\n")
	d := startDaemon(t, dir, "--config", cfg)
	// A card whose issuer allows offline approvals (IAC-Default without
	// "offline data authentication not performed").
	img, err := card.Generate(card.Spec{File: "offline", Name: "offline-capable Visa", PAN: "4111111111111111",
		Holder: "OFFLINE/VISA", Scheme: "visa", Expiry: "311231", Contact: true, PSE: true,
		CVM: "00000000 00000000 1F03", IACDefault: "5C4000A800"})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(img)
	d.card(map[string]any{"image": json.RawMessage(raw), "entryMethod": "chip", "presentAfterMs": 0})
	d.host(map[string]any{"offline": true})

	r := d.sale("OFF-1", 1200).expect(t, 200, "")
	if r.body["offline"] != true || r.str("status") != "approved" {
		t.Fatalf("%s", r.raw)
	}
	st := d.post("/cashless/v1/status", "{}")
	if st.num("pendingAdvices") != 1 {
		t.Fatalf("%s", st.raw)
	}
	// Over the floor limit nothing approves offline.
	d.sale("OFF-2", 6000).expect(t, 503, "communication_error")
	// The batch cannot settle while the advice waits.
	d.post("/cashless/v1/batch/close", map[string]any{"reference": "EOD-OFF"}).expect(t, 503, "communication_error")

	d.host(map[string]any{"offline": false})
	d.sale("OFF-3", 700).expect(t, 200, "")
	st = d.post("/cashless/v1/status", "{}")
	if st.num("pendingAdvices") != 0 {
		t.Fatalf("advice not forwarded: %s", st.raw)
	}
	b := d.post("/cashless/v1/batch/close", map[string]any{"reference": "EOD-OFF"}).expect(t, 200, "")
	if b.num("totalAmount") != 1900 {
		t.Fatalf("%s", b.raw)
	}
	l, err := hostsim.ReadLedger(filepath.Join(dir, "hostsim", "ledger.json"))
	if err != nil {
		t.Fatal(err)
	}
	offline := 0
	for _, a := range l.Approvals {
		if a.Offline {
			offline++
		}
	}
	if offline != 1 || len(l.Settlements) != 1 || l.Settlements[0].ResponseCode != "00" {
		t.Fatalf("ledger: %+v", l)
	}
}
