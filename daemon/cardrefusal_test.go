package daemon_test

import (
	"testing"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/host"
	"github.com/vinr/cashlessd/daemon/host/hostsim"
	"github.com/vinr/cashlessd/daemon/store"
	"github.com/vinr/cashlessd/emv"
)

// reversalOf returns the host's record of the reversal of a transaction
// ID.
func reversalOf(t *testing.T, srv *hostsim.Server, id string) hostsim.Reversal {
	t.Helper()
	for _, r := range srv.Ledger().Reversals {
		if r.TransactionID == id {
			return r
		}
	}
	t.Fatalf("the host reversed nothing for %s", id)
	return hostsim.Reversal{}
}

// wantAAC fails the test unless icc is the final chip data of a card
// that refused: the AAC, the final TVR, and no card number or track data.
func wantAAC(t *testing.T, icc []byte) {
	t.Helper()
	cid, ok1 := emv.Find(icc, emv.TagCID)
	_, ok2 := emv.Find(icc, emv.TagTVR)
	_, pan := emv.Find(icc, emv.TagPAN)
	_, track := emv.Find(icc, emv.TagTrack2)
	if !ok1 || len(cid) != 1 || cid[0]&0xC0 != emv.CryptogramAAC || !ok2 || pan || track {
		t.Fatalf("chip data kept for the reversal: %X", icc)
	}
}

// When the card refuses the host's approval (the ARPC does not verify:
// AAC at the second GENERATE AC), the sale is declined by the card and
// the approval reversed; the reversal carries the card's final chip data
// in field 55, which the host records with it. The chip data is kept with
// the queued reversal, so a reversal the host could not take and that
// goes out after a restart carries it too.
func TestReversalOfARefusedApprovalCarriesTheChipData(t *testing.T) {
	t.Parallel()
	srv := outsideHost(t)
	m := startTerminal(t, "", at(srv))
	m.card(daemon.SimCard{EntryMethod: ptr(daemon.EntryChip), PresentAfter: ptr(time.Duration(0))})
	amount := int64(hostsim.TestAmountMin + hostsim.TestCardRefuses)

	res, err := m.sale("REFUSED-1", amount)
	tx := wantFinished(t, res, err, daemon.StatusDeclined, daemon.CodeCardDeclined)
	if tx.ReversalPending || tx.AuthCode == "" {
		t.Fatalf("refused sale: %+v", tx)
	}
	wantAAC(t, tx.ReversalICC)
	if a := booked(t, srv, tx.ID); !a.Reversed {
		t.Fatalf("the host's approval stands: %+v", a)
	}
	if r := reversalOf(t, srv, tx.ID); r.Cryptogram != "AAC" || r.TVR == "" || r.ScriptResults != "" {
		t.Fatalf("the host recorded the reversal as %+v", r)
	}
	wantOriginal(t, quoted(t, srv, tx.ID, host.MTIReversal), booked(t, srv, tx.ID), tx.HostMessage)

	// The host cannot take the reversal: it waits in the queue, on disk,
	// with the chip data, and goes out after a restart.
	srv.SetHoldReversals(true)
	res, err = m.sale("REFUSED-2", amount)
	tx = wantFinished(t, res, err, daemon.StatusDeclined, daemon.CodeCardDeclined)
	if !tx.ReversalPending {
		t.Fatalf("the held reversal is not queued: %+v", tx)
	}
	if err := m.stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(m.dir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	queued, err := db.PendingReversals()
	db.Close()
	if err != nil || len(queued) != 1 || queued[0].ID != tx.ID {
		t.Fatalf("queue on disk: %+v %v", queued, err)
	}
	wantAAC(t, queued[0].ReversalICC)

	srv.SetHoldReversals(false)
	m = startTerminal(t, m.dir, at(srv))
	deadline := time.Now().Add(30 * time.Second)
	for m.status().PendingReversals > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the queued reversal never went out:\n%s", m.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r := reversalOf(t, srv, tx.ID); r.Cryptogram != "AAC" || r.TVR == "" {
		t.Fatalf("after the restart the host recorded the reversal as %+v", r)
	}
	if a := booked(t, srv, tx.ID); !a.Reversed {
		t.Fatalf("the host's approval stands: %+v", a)
	}
}
