package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// pairingCode runs `cashlessd pair` on d's data directory and returns the
// code, the certificate fingerprint and the QR code's text it printed.
func (d *testDaemon) pairingCode(t *testing.T, args ...string) (code, fingerprint, qr string) {
	t.Helper()
	out, err := exec.Command(daemonBinary, append([]string{"pair", "--data-dir", d.dataDir}, args...)...).Output()
	if err != nil {
		t.Fatalf("cashlessd pair: %v\n%s", err, out)
	}
	find := func(re string) string {
		m := regexp.MustCompile(re).FindSubmatch(out)
		if m == nil {
			t.Fatalf("cashlessd pair printed no %s:\n%s", re, out)
		}
		return string(m[1])
	}
	return find(`Pairing code: (\S+)`), find(`Certificate:\s+SHA-256 ([0-9a-f]{64})`), find(`QR: (cashless://\S+)`)
}

func TestPairThenCallWithThePinnedCertificate(t *testing.T) {
	t.Parallel()
	d := startDaemon(t)
	file := filepath.Join(t.TempDir(), "ecr", "pairing.json")
	code, fp, _ := d.pairingCode(t)

	// A wrong pin is refused before the code is sent: the code still works.
	wrong := strings.Repeat("0", 64)
	runCLI(t, map[string]string{"CASHLESS_PAIRING": file}, "pair", "--addr", d.addr, "--pin", wrong, code).
		want(t, exitTransport, "not the pinned one")
	if _, err := os.Stat(file); err == nil {
		t.Fatal("a refused pairing was stored")
	}
	// No pin, no CA: the certificate presented is pinned (and shown).
	runCLI(t, map[string]string{"CASHLESS_PAIRING": file}, "pair", "--terminal", d.addr, "--name", "Lane 9", code).
		want(t, exitOK, "Paired with terminal", "Certificate: SHA-256 "+fp, "Public key pinned: SHA-256 ")
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("pairing file mode %v, want 0600", st.Mode().Perm())
	}
	var p pairing
	raw, _ := os.ReadFile(file)
	if err := json.Unmarshal(raw, &p); err != nil || !strings.HasPrefix(p.Key, "ck_live_") || p.CertificateSHA256 != fp || len(p.PublicKeySHA256) != 64 ||
		!strings.HasPrefix(p.EcrID, "ecr_") || p.Address != d.addr {
		t.Fatalf("stored pairing: %v %s", err, raw)
	}
	// Later calls: no key, no CA, no address; the pin and key come from
	// the pairing.
	env := map[string]string{"CASHLESS_PAIRING": file}
	runCLI(t, env, "status").want(t, exitOK, "ready")
	d.card(t, `{"presentAfterMs":0}`)
	runCLI(t, env, "sale", "--amount", "1500", "--currency", "USD", "--reference", "PIN-1").want(t, exitOK, "APPROVED")
	look := d.post(t, "/cashless/v1/transaction", `{"reference":"PIN-1"}`)
	if look["ecrId"] != p.EcrID {
		t.Errorf("the sale was made by %v, want %s", look["ecrId"], p.EcrID)
	}
	// A wrong pin is refused.
	runCLI(t, env, "--pin", wrong, "status").want(t, exitTransport, "not the pinned one")
	// The code was used.
	runCLI(t, map[string]string{"CASHLESS_PAIRING": filepath.Join(t.TempDir(), "other.json")}, "pair", "--addr", d.addr, "--pin", fp, code).
		want(t, exitRefused, "invalid_pairing_code")
}

func TestPairByTheQRCodeWithSignedRequests(t *testing.T) {
	t.Parallel()
	d := startDaemon(t)
	file := filepath.Join(t.TempDir(), "pairing.json")
	_, _, qr := d.pairingCode(t, "--scopes", "payments")
	env := map[string]string{"CASHLESS_PAIRING": file}
	runCLI(t, env, "pair", "--signed", qr).want(t, exitOK, "Signed requests: true", "Scopes: payments.")
	runCLI(t, env, "status").want(t, exitOK, "ready")
	runCLI(t, env, "events", "--count", "1", "--after", "1").want(t, exitOK)
	runCLI(t, env, "refund", "--original", "X", "--amount", "1", "--currency", "USD", "--reference", "R").
		want(t, exitRefused, "forbidden")
	// The stored key alone, unsigned, is refused.
	var p pairing
	raw, _ := os.ReadFile(file)
	_ = json.Unmarshal(raw, &p)
	runCLI(t, map[string]string{"CASHLESS_ADDR": d.addr, "CASHLESS_CA": d.ca, "CASHLESS_KEY": p.Key}, "status").
		want(t, exitRefused, "invalid_signature")
}
