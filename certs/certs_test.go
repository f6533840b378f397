package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"os"
	"testing"
	"time"
)

func TestEnsureDevMakesAP256ChainAndKeepsTheCA(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	now := time.Now()
	f, err := EnsureDev(dir, []string{"terminal.shop.lan", "192.168.1.51"}, now)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := Pool(f.CA)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := Leaf(f.Cert)
	for _, name := range []string{"localhost", "127.0.0.1", "::1", "terminal.shop.lan", "192.168.1.51"} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: name}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if pub, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Fatal("not ECDSA P-256")
	}
	for _, p := range []string{f.Cert, f.Key, f.CA} {
		if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v", p, st.Mode().Perm())
		}
	}
	ca1, _ := os.ReadFile(f.CA)
	// Same names: nothing changes.
	if _, err := EnsureDev(dir, []string{"terminal.shop.lan"}, now); err != nil {
		t.Fatal(err)
	}
	again, _ := Leaf(f.Cert)
	if again.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
		t.Fatal("certificate re-issued without need")
	}
	// A new name: re-issued by the same CA, so ECRs keep trusting it.
	if _, err := EnsureDev(dir, []string{"10.0.0.9"}, now); err != nil {
		t.Fatal(err)
	}
	ca2, _ := os.ReadFile(f.CA)
	leaf2, _ := Leaf(f.Cert)
	if string(ca1) != string(ca2) || leaf2.VerifyHostname("10.0.0.9") != nil {
		t.Fatal("CA changed or name missing")
	}
	if _, err := leaf2.Verify(x509.VerifyOptions{Roots: pool, DNSName: "10.0.0.9"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ServerConfig(f); err != nil {
		t.Fatal(err)
	}
	if len(Fingerprint(leaf2)) != 64 {
		t.Fatal("fingerprint")
	}
}
