package daemon_test

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/host"
	"github.com/vinr/cashlessd/daemon/host/hostsim"
	"github.com/vinr/cashlessd/daemon/store"
	"github.com/vinr/cashlessd/emv"
)

// waitAdvicesDelivered waits until no advice waits in the terminal's queue.
func waitAdvicesDelivered(m *terminal) {
	m.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for m.status().PendingAdvices > 0 {
		if time.Now().After(deadline) {
			m.t.Fatalf("the advice was never delivered:\n%s", m.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// scriptResults is the issuer script results (9F5B, hex) in chip data,
// and whether the chip data holds a TC.
func scriptResults(t *testing.T, icc []byte) (string, bool) {
	t.Helper()
	r, _ := emv.Find(icc, emv.TagIssuerScriptResults)
	cid, ok := emv.Find(icc, emv.TagCID)
	return strings.ToUpper(hex.EncodeToString(r)), ok && len(cid) == 1 && cid[0]&0xC0 == emv.CryptogramTC
}

// An online chip sale whose approval carries an issuer script: the card
// runs it after the second GENERATE AC, and the TC advice takes its result
// (EMV Book 4 Annex A5: result nibble, failing command, script
// identifier) to the host, which records it on the approval. The sale is
// approved whatever the script's fate.
func TestIssuerScriptResultsReachTheHost(t *testing.T) {
	t.Parallel()
	srv := outsideHost(t)
	m := startTerminal(t, "", at(srv))
	m.card(daemon.SimCard{EntryMethod: ptr(daemon.EntryChip), PresentAfter: ptr(time.Duration(0))})
	for _, tc := range []struct {
		name string
		code int
		want string
	}{
		{"successful script", hostsim.TestScript, "20" + "53430072"},
		{"script failing at its second command", hostsim.TestScriptFailing, "12" + "53430073"},
		{"malformed script", hostsim.TestScriptMalformed, "10" + "53430074"},
	} {
		tx := m.approved("SCRIPT-"+tc.name, int64(hostsim.TestAmountMin+tc.code))
		waitAdvicesDelivered(m)
		if a := booked(t, srv, tx.ID); a.ScriptResults != tc.want || a.Offline {
			t.Errorf("%s: the host recorded %q, want %s", tc.name, a.ScriptResults, tc.want)
		}
		stored, err := m.db.Transaction(tx.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got, tcOK := scriptResults(t, stored.AdviceICC); got != tc.want || !tcOK || stored.AdvicePending {
			t.Errorf("%s: stored chip data %X (pending %v)", tc.name, stored.AdviceICC, stored.AdvicePending)
		}
		// The TC advice quotes the sale's request (90) and its RRN.
		wantOriginal(t, quoted(t, srv, tx.ID, host.MTIAdvice, host.MTIAdviceRepeat), booked(t, srv, tx.ID), tx.HostMessage)
	}
	// A pre-authorisation's scripts reach the host the same way.
	res, err := m.engine.Preauth(t.Context(), daemon.PreauthRequest{Amount: hostsim.TestAmountMin + hostsim.TestScript,
		Currency: "USD", Reference: "SCRIPT-PREAUTH"})
	pre := wantApproved(t, res, err)
	waitAdvicesDelivered(m)
	if a := booked(t, srv, pre.ID); a.Kind != "preauth" || a.ScriptResults != "2053430072" {
		t.Errorf("pre-auth: the host has %+v", a)
	}

	// A sale without scripts sends no advice.
	plain := m.approved("SCRIPT-NONE", 1500)
	for _, q := range srv.Requests() {
		if q.TransactionID == plain.ID && q.MTI != host.MTIFinancialRequest {
			t.Errorf("a sale without scripts sent %s", q.MTI)
		}
	}
	if got, tcOK := scriptResults(t, plain.AdviceICC); got != "" || !tcOK || plain.AdvicePending {
		t.Errorf("sale without scripts: chip data %X, pending %v", plain.AdviceICC, plain.AdvicePending)
	}
}

// The TC advice is queued with the approval, in its commit: when the host
// cannot take it, the cardholder still gets the approval, the batch still
// settles, and after a restart (what a crash between the approval and the
// advice leaves on disk) the advice goes out.
func TestScriptResultsAdviceSurvivesARestart(t *testing.T) {
	t.Parallel()
	srv := outsideHost(t)
	m := startTerminal(t, "", at(srv))
	m.card(daemon.SimCard{EntryMethod: ptr(daemon.EntryChip), PresentAfter: ptr(time.Duration(0))})
	srv.SetHoldAdvices(true)
	tx := m.approved("SCRIPT-CRASH", hostsim.TestAmountMin+hostsim.TestScript)
	if st := m.status(); st.PendingAdvices != 1 {
		t.Fatalf("pending advices %d, want the TC advice", st.PendingAdvices)
	}
	// The host has the approval: a waiting TC advice holds no settlement back.
	if b := m.closeBatch("EOD-SCRIPT"); b.Batch.TotalAmount() != tx.TotalAmount() {
		t.Fatalf("batch %+v", b.Batch)
	}
	if err := m.stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if a := booked(t, srv, tx.ID); a.ScriptResults != "" {
		t.Fatalf("a held advice was recorded: %+v", a)
	}
	db, err := store.Open(m.dir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	queued, err := db.PendingAdvices()
	db.Close()
	if err != nil || len(queued) != 1 || queued[0].ID != tx.ID || queued[0].Offline {
		t.Fatalf("queue on disk: %+v %v", queued, err)
	}
	if got, _ := scriptResults(t, queued[0].AdviceICC); got != "2053430072" {
		t.Fatalf("queued chip data %X", queued[0].AdviceICC)
	}

	srv.SetHoldAdvices(false)
	m = startTerminal(t, m.dir, at(srv))
	waitAdvicesDelivered(m)
	if a := booked(t, srv, tx.ID); a.ScriptResults != "2053430072" || !a.Settled {
		t.Fatalf("after the restart the host has %+v", a)
	}
}

// The batch upload (0320) carries the final chip data: a host that lost
// the approval and never got the TC advice learns the script results
// from the upload.
func TestBatchUploadCarriesScriptResults(t *testing.T) {
	t.Parallel()
	srv := outsideHost(t)
	m := startTerminal(t, "", at(srv))
	m.card(daemon.SimCard{EntryMethod: ptr(daemon.EntryChip), PresentAfter: ptr(time.Duration(0))})
	srv.SetHoldAdvices(true)
	tx := m.approved("SCRIPT-UPLOAD", hostsim.TestAmountMin+hostsim.TestScriptFailing)
	if err := srv.ForgetApproval(booked(t, srv, tx.ID).TerminalID, tx.ID); err != nil {
		t.Fatal(err)
	}
	if b := m.closeBatch("EOD-UPLOAD"); b.Batch.TotalAmount() != tx.TotalAmount() {
		t.Fatalf("batch %+v", b.Batch)
	}
	a := booked(t, srv, tx.ID)
	if a.MTI != host.MTIBatchUpload || !a.Uploaded || !a.Settled || a.ScriptResults != "1253430073" {
		t.Fatalf("the host booked %+v from the upload", a)
	}
	// The TC advice goes out before the next sale and finds the uploaded
	// approval.
	srv.SetHoldAdvices(false)
	m.approved("SCRIPT-UPLOAD-NEXT", 100)
	waitAdvicesDelivered(m)
	stored, err := m.db.Transaction(tx.ID)
	if err != nil || stored.AdviceRejected {
		t.Fatalf("the TC advice was refused: %+v %v\n%s", stored, err, m.logs.String())
	}
	if a := booked(t, srv, tx.ID); a.ScriptResults != "1253430073" {
		t.Fatalf("after the advice %+v", a)
	}
}
