package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vinr/cashlessd/daemon/host/hostsim"
	"github.com/vinr/cashlessd/daemon/store"
)

// TestKillBeforeTheHostIsContactedIsFailedAtRestart is the other half of
// TestKillDuringAuthorisationIsReversedAtRestart: a daemon killed while it
// waits for the card never sent the sale. The restart cannot tell, so it
// reverses it as well; the host acknowledges a reversal of nothing, books
// nothing, and nothing stays queued.
func TestKillBeforeTheHostIsContactedIsFailedAtRestart(t *testing.T) {
	dir := t.TempDir()
	ledger := filepath.Join(dir, "host-ledger.json")
	addr, hostProc := startHostProcess(t, ledger)
	cfg := writeConfig(t, fmt.Sprintf("[host]\naddress = %q\ntimeout = \"10s\"\n", addr))
	data := filepath.Join(dir, "data")

	// The terminal shows the sale waiting for the card a moment before its
	// pending record is committed; a kill that lands in between leaves
	// nothing to recover, so the round is repeated until one lands after.
	for attempt := 1; ; attempt++ {
		if killWaitingForCard(t, data, cfg) {
			break
		}
		if attempt == 5 {
			t.Fatal("no kill landed after the pending record in 5 attempts")
		}
	}

	d2, _ := startDaemonProcess(t, data, cfg)
	st := d2.post("/cashless/v1/status", "{}").expect(t, 200, "")
	lt := st.obj("lastTransaction")
	if lt["reference"] != "KILL-2" || lt["status"] != "failed" || st.num("pendingReversals") != 0 {
		t.Fatalf("after restart: %s", st.raw)
	}
	l, err := hostsim.ReadLedger(ledger)
	if err != nil && !errors.Is(err, fs.ErrNotExist) { // no file: the host booked nothing
		t.Fatal(err)
	}
	if len(l.Approvals) != 0 || len(l.Reversals) != 0 || !strings.Contains(hostProc.logs.String(), "reversal of nothing booked") {
		t.Fatalf("the host booked or reversed a sale it never saw: %+v %+v\n%s", l.Approvals, l.Reversals, hostProc.logs.String())
	}
	// The ECR retries the reference: it is approved once.
	d2.card(map[string]any{"presentAfterMs": 0})
	d2.sale("KILL-2", 1234).expect(t, 200, "")
}

// killWaitingForCard starts the daemon on data, starts sale KILL-2 with no
// card coming, kills the daemon while it waits for the card and reports
// whether the sale's pending record was on disk by then.
func killWaitingForCard(t *testing.T, data, cfg string) bool {
	t.Helper()
	d, p := startDaemonProcess(t, data, cfg)
	d.card(map[string]any{"present": false})
	sale := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, d.base+"/cashless/v1/sale", strings.NewReader(`{"amount":1234,"currency":"USD","reference":"KILL-2"}`))
		req.Header.Set("X-VINR-Cashless-Key", simKey)
		_, err := d.client.Do(req)
		sale <- err
	}()
	d.waitBusy("waiting_for_card")
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
	if err := <-sale; err == nil {
		t.Fatal("the ECR got an answer from a killed daemon")
	}
	db, err := store.Open(data, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pending, err := db.PendingTransactions()
	if err != nil {
		t.Fatal(err)
	}
	return len(pending) == 1 && pending[0].Reference == "KILL-2"
}
