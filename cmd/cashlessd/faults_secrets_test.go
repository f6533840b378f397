package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vinr/cashlessd/tools/cashless-faults/faults"
)

// TestFaultNoCardDataOrKeysWritten extends TestNoFullPANOnDiskOrInLogs:
// sales and refunds with PIN and no-PIN cards (chip with online and
// offline PIN, contactless, swipe; approvals and declines), receipts
// printed, a key rotation, logs at debug level; then the data directory
// (database, printer output), the logs and the host's ledger are scanned
// for full PANs (ASCII and BCD), track 2 data, the clear and the
// DUKPT-encrypted PIN blocks (every KSN counter the PIN pad used), the
// PIN pad's keys and the shared key, in raw, hex and base64 form. As a
// positive control, every PAN, track 2 (field 35 of the magstripe sale)
// and PIN block that crossed the host link must be among the patterns.
func TestFaultNoCardDataOrKeysWritten(t *testing.T) {
	t.Parallel()
	p, ledger, cfg := hostBehindProxy(t, 10*time.Second)
	cfgDebug := writeConfig(t, readFile(t, cfg)+"[log]\nlevel = \"debug\"\n")
	dir := t.TempDir()
	// A cloud relay that cannot be reached: every outcome stays in the
	// cloud outbox, which is scanned with the rest.
	d := startDaemon(t, dir, "--config", cfgDebug, "--cloud", "tls://127.0.0.1:1")

	var out, errOut bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errOut}
	if err := m.Run(t.Context(), []string{"key", "rotate", "--data-dir", dir}); err != nil {
		t.Fatal(err, errOut.String())
	}
	liveKey := strings.TrimSpace(out.String())
	d.key = liveKey

	cards := []struct{ pan, entry string }{
		{"4242424242424242", "chip"}, {"4242424242424242", "swipe"}, {"5555555555554444", "chip"},
		{"5555555555554444", "contactless"}, {"5200828282828210", "chip"}, {"6759649826438453", "chip"},
		{"4000002500003155", "chip"}, {"4000000000000077", "chip"}, {"4000000000000002", "chip"},
		{"4000000000000127", "chip"}, {"378282246310005", "contactless"}, {"4111111111111111", "swipe"},
	}
	for i, c := range cards {
		d.card(map[string]any{"pan": c.pan, "entryMethod": c.entry, "presentAfterMs": 0})
		ref := fmt.Sprintf("SECRET-%d", i)
		r := d.post("/cashless/v1/sale", map[string]any{"amount": 7000 + i, "currency": "USD", "reference": ref, "printReceipt": true})
		if r.status == 200 {
			d.post("/cashless/v1/refund", map[string]any{"originalReference": ref, "amount": 100, "currency": "USD", "reference": ref + "-R", "printReceipt": true}).expect(t, 200, "")
		}
	}
	d.post("/cashless/v1/receipt/reprint", map[string]any{"type": "both"}).expect(t, 200, "")
	d.post("/cashless/v1/batch/close", map[string]any{"reference": "SECRET-EOD"}).expect(t, 200, "")
	d.stop()

	var secrets []faults.Secret
	seen := map[string]bool{}
	for _, c := range cards {
		if !seen[c.pan] {
			seen[c.pan] = true
			secrets = append(secrets, faults.CardSecrets(c.pan, 32)...)
		}
	}
	secrets = append(secrets, faults.KeySecrets()...)
	secrets = append(secrets, faults.Secret{What: "the live shared key", Forms: [][]byte{[]byte(liveKey)}})
	seed := bytes.TrimSpace([]byte(readFile(t, filepath.Join(dir, "cloud.nk"))))
	secrets = append(secrets, faults.Secret{What: "the cloud NKey seed", Forms: [][]byte{seed}})
	if outbox, err := os.ReadDir(filepath.Join(dir, "cloud-outbox")); err != nil || len(outbox) == 0 {
		t.Errorf("no outcome waits in the cloud outbox (%v): the scan checks none", err)
	}

	// Positive control: what the host link carried is what is looked for.
	pins, tracks := 0, 0
	for _, e := range p.Since(0) {
		if e.Dir != faults.Up || e.What != "forwarded" {
			continue
		}
		if e.Track2 != "" {
			tracks++
		}
		for _, b := range [][]byte{[]byte(e.PAN), []byte(e.Track2), e.PINBlock} {
			if len(b) > 0 && !matchesSecret(secrets, b) {
				t.Errorf("%s %s carried %x, which is not among the scan patterns", e.MTI, e.STAN, b)
			}
		}
		if len(e.PINBlock) > 0 {
			pins++
		}
	}
	if pins == 0 {
		t.Error("no online PIN crossed the host link: the PIN block check checks nothing")
	}
	if tracks == 0 {
		t.Error("no track 2 crossed the host link: the swiped sale went without field 35, or the track check checks nothing")
	}

	logs := filepath.Join(t.TempDir(), "cashlessd.log")
	if err := os.WriteFile(logs, []byte(d.logs.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	hits, files, size, err := faults.ScanFiles([]string{dir, logs, ledger}, secrets)
	if err != nil {
		t.Fatal(err)
	}
	seedFound := false
	for _, h := range hits {
		if h.What == "the cloud NKey seed" && h.File == filepath.Join(dir, "cloud.nk") {
			seedFound = true // its own 0600 file, the only place it may be
			continue
		}
		t.Errorf("%s in %s", h.What, h.File)
	}
	if !seedFound {
		t.Error("the scan misses the cloud NKey seed in its own file: the seed check checks nothing")
	}
	t.Logf("%d files, %d bytes scanned for %d secrets; %d online PIN blocks on the host link", files, size, len(secrets), pins)

	// Negative control: a PIN block written in hex is found.
	for _, e := range p.Since(0) {
		if len(e.PINBlock) > 0 {
			canary := filepath.Join(t.TempDir(), "canary.log")
			if err := os.WriteFile(canary, []byte(fmt.Sprintf(`{"pinBlock":"%X"}`, e.PINBlock)), 0o600); err != nil {
				t.Fatal(err)
			}
			if hits, _, _, _ := faults.ScanFiles([]string{canary}, secrets); len(hits) != 1 {
				t.Errorf("the scan misses a PIN block written in hex: %v", hits)
			}
			break
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func matchesSecret(secrets []faults.Secret, b []byte) bool {
	for _, s := range secrets {
		for _, f := range s.Forms {
			if bytes.Equal(f, b) {
				return true
			}
		}
	}
	return false
}
