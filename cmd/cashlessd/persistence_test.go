package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/store"
)

func TestRestartLosesNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := startDaemon(t, dir)
	d.card(map[string]any{"presentAfterMs": 0})
	sale := d.sale("PERSIST-1", 4200).expect(t, 200, "")
	d.post("/cashless/v1/preauth", map[string]any{"amount": 9000, "currency": "USD", "reference": "PERSIST-PA"}).expect(t, 200, "")
	d.stop()

	d2 := startDaemon(t, dir)
	st := d2.post("/cashless/v1/status", map[string]any{}).expect(t, 200, "")
	if lt := st.obj("lastTransaction"); lt["reference"] != "PERSIST-PA" {
		t.Fatalf("%s", st.raw)
	}
	if st.obj("openBatch")["totalAmount"] != float64(4200) {
		t.Fatalf("open batch lost: %s", st.raw)
	}
	again := d2.sale("PERSIST-1", 4200).expect(t, 200, "")
	if !bytes.Equal(again.raw, sale.raw) {
		t.Fatalf("replay after restart differs:\n%s\n%s", sale.raw, again.raw)
	}
	d2.post("/cashless/v1/refund", map[string]any{"originalReference": "PERSIST-1", "amount": 4200, "currency": "USD", "reference": "PERSIST-R"}).expect(t, 200, "")
	d2.post("/cashless/v1/preauth/complete", map[string]any{"originalReference": "PERSIST-PA", "captureAmount": 9000, "currency": "USD", "reference": "PERSIST-C"}).expect(t, 200, "")
	d2.stop()

	d3 := startDaemon(t, dir)
	d3.post("/cashless/v1/refund", map[string]any{"originalReference": "PERSIST-1", "amount": 1, "currency": "USD", "reference": "PERSIST-R2"}).
		expect(t, 422, "amount_exceeds_original")
	d3.post("/cashless/v1/preauth/complete", map[string]any{"originalReference": "PERSIST-PA", "captureAmount": 1, "currency": "USD", "reference": "PERSIST-C2"}).
		expect(t, 422, "preauth_already_completed")
	b := d3.post("/cashless/v1/batch/close", map[string]any{"reference": "EOD"}).expect(t, 200, "")
	if b.num("transactionCount") != 3 || b.num("totalAmount") != 9000 {
		t.Fatalf("%s", b.raw)
	}
}

func TestInterruptedTransactionIsResolvedAtStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, err := store.Open(dir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// What a power cut in the middle of a sale leaves behind.
	pending := &daemon.Transaction{ID: "tpay_01CRASHED000000000000000", Kind: daemon.KindSale, Reference: "CRASH-1",
		Status: daemon.StatusPending, Stage: daemon.StageAuthorising, Amount: 5000, Currency: "USD", StartedAt: time.Now().UTC()}
	if err := db.CreateTransaction(pending); err != nil {
		t.Fatal(err)
	}
	db.Close()

	d := startDaemon(t, dir)
	st := d.post("/cashless/v1/status", map[string]any{}).expect(t, 200, "")
	lt := st.obj("lastTransaction")
	if st.str("status") != "ready" || lt["reference"] != "CRASH-1" || lt["status"] != "failed" || st.num("pendingReversals") != 0 {
		t.Fatalf("%s", st.raw)
	}
	if !strings.Contains(d.logs.String(), "recovered interrupted transaction") {
		t.Error("recovery not logged")
	}
	// The ECR may retry the reference.
	d.card(map[string]any{"presentAfterMs": 0})
	d.sale("CRASH-1", 5000).expect(t, 200, "")
}

func TestKeyRotation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// With no daemon running, the database is updated directly.
	var out, errOut bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errOut}
	if err := m.Run(t.Context(), []string{"key", "rotate", "--data-dir", dir}); err != nil {
		t.Fatal(err, errOut.String())
	}
	first := strings.TrimSpace(out.String())
	if !strings.HasPrefix(first, "ck_live_") || len(first) < 40 {
		t.Fatalf("key %q", first)
	}
	d := startDaemon(t, dir)
	d.postKey("/cashless/v1/status", "{}", first).expect(t, 200, "")

	// While it runs, the daemon is asked over its admin socket.
	out.Reset()
	if err := m.Run(t.Context(), []string{"key", "rotate", "--data-dir", dir}); err != nil {
		t.Fatal(err, errOut.String())
	}
	second := strings.TrimSpace(out.String())
	if second == first || !strings.HasPrefix(second, "ck_live_") {
		t.Fatalf("%q", second)
	}
	d.postKey("/cashless/v1/status", "{}", first).expect(t, 401, "invalid_key")
	d.postKey("/cashless/v1/status", "{}", second).expect(t, 200, "")
	d.stop()
	d2 := startDaemon(t, dir)
	d2.postKey("/cashless/v1/status", "{}", second).expect(t, 200, "")
	d2.postKey("/cashless/v1/status", "{}", first).expect(t, 401, "invalid_key")

	// Neither key is on disk in clear.
	scanDir(t, dir, []string{first, second})
}

func TestNoFullPANOnDiskOrInLogs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := startDaemon(t, dir)
	pans := []string{"4242424242424242", "5555555555554444", "4000000000000002", "4000000000009995", "4000000000000069", "378282246310005"}
	for i, pan := range pans {
		for _, m := range []string{"chip", "contactless", "swipe"} {
			d.card(map[string]any{"pan": pan, "entryMethod": m, "presentAfterMs": 0})
			d.post("/cashless/v1/sale", map[string]any{"amount": 100 + i, "currency": "USD", "reference": fmt.Sprintf("PAN-%d-%s", i, m), "printReceipt": true})
		}
	}
	d.post("/cashless/v1/receipt/reprint", map[string]any{"type": "both"}).expect(t, 200, "")
	d.post("/cashless/v1/batch/close", map[string]any{"reference": "EOD-PAN"}).expect(t, 200, "")
	d.stop()
	scanDir(t, dir, pans)
	for _, pan := range pans {
		if strings.Contains(d.logs.String(), pan) {
			t.Errorf("log contains %s", pan)
		}
	}
	// Files 0600, directories 0700.
	_ = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, _ := e.Info()
		mode := info.Mode()
		switch {
		case mode&fs.ModeSocket != 0:
		case e.IsDir() && mode.Perm() != 0o700:
			t.Errorf("%s: %v", p, mode.Perm())
		case !e.IsDir() && mode.Perm() != 0o600:
			t.Errorf("%s: %v", p, mode.Perm())
		}
		return nil
	})
}

// scanDir fails the test if any secret appears in any file under dir.
func scanDir(t *testing.T, dir string, secrets []string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || e.Type()&fs.ModeSocket != 0 {
			return err
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, s := range secrets {
			if bytes.Contains(raw, []byte(s)) {
				t.Errorf("%s contains %s", p, s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
