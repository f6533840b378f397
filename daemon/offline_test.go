package daemon_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/config"
	"github.com/vinr/cashlessd/emv/card"
)

func TestOfflineApprovalIsForwardedAsAnAdvice(t *testing.T) {
	t.Parallel()
	m := startTerminal(t, "", func(c *config.Config) {
		c.Offline.Approvals, c.Offline.FloorLimit, c.Offline.TACDefault = true, 5000, "5C4000A800"
	})
	// A card whose issuer allows offline approvals (IAC-Default without
	// "offline data authentication not performed").
	img, err := card.Generate(card.Spec{File: "offline", Name: "offline-capable Visa", PAN: "4111111111111111",
		Holder: "OFFLINE/VISA", Scheme: "visa", Expiry: "311231", Contact: true, PSE: true,
		CVM: "00000000 00000000 1F03", IACDefault: "5C4000A800"})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(img)
	m.card(daemon.SimCard{Image: raw, EntryMethod: ptr(daemon.EntryChip), PresentAfter: ptr(time.Duration(0))})
	m.hostOffline()

	if tx := m.approved("OFF-1", 1200); !tx.Offline {
		t.Fatalf("not approved offline: %+v", tx)
	}
	if st := m.status(); st.PendingAdvices != 1 {
		t.Fatalf("pending advices %d", st.PendingAdvices)
	}
	// Over the floor limit nothing approves offline.
	res, err := m.sale("OFF-2", 6000)
	wantFinished(t, res, err, daemon.StatusFailed, daemon.CodeCommunicationError)
	// The batch cannot settle while the advice waits.
	_, err = m.engine.CloseBatch(t.Context(), "EOD-OFF")
	wantCode(t, err, daemon.CodeCommunicationError)

	m.host(daemon.SimHost{Offline: ptr(false)})
	m.approved("OFF-3", 700)
	if st := m.status(); st.PendingAdvices != 0 {
		t.Fatalf("advice not forwarded: %d pending", st.PendingAdvices)
	}
	if b := m.closeBatch("EOD-OFF"); b.Batch.TotalAmount() != 1900 {
		t.Fatalf("batch: %+v", b.Batch)
	}
	l := m.ledger()
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
