package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestVerifyAcceptsTheDevelopmentChain(t *testing.T) {
	t.Parallel()
	now := time.Now()
	f, err := EnsureDev(t.TempDir(), nil, now)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := Verify(f, now)
	if err != nil || leaf == nil || leaf.Subject.CommonName != "cashlessd terminal" {
		t.Fatalf("Verify: %v, leaf %v", err, leaf)
	}
	noCA := f
	noCA.CA = ""
	if leaf, err := Verify(noCA, now); err != nil || leaf == nil {
		t.Errorf("without a CA bundle: %v", err)
	}
	if leaf, err := Verify(f, now.Add(leafValidity+time.Hour)); err == nil || leaf == nil || !strings.Contains(err.Error(), "does not chain") {
		t.Errorf("expired: leaf %v, err %v", leaf, err)
	}
}

func TestVerifyRefusesAnotherCAAndAKeyThatIsNotThePair(t *testing.T) {
	t.Parallel()
	now := time.Now()
	a, err := EnsureDev(t.TempDir(), nil, now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := EnsureDev(t.TempDir(), nil, now)
	if err != nil {
		t.Fatal(err)
	}
	other := Files{Cert: a.Cert, Key: a.Key, CA: b.CA}
	if leaf, err := Verify(other, now); err == nil || leaf == nil || !strings.Contains(err.Error(), "does not chain to "+b.CA) {
		t.Errorf("another CA: leaf %v, err %v", leaf, err)
	}
	wrongKey := Files{Cert: a.Cert, Key: b.Key, CA: a.CA}
	if leaf, err := Verify(wrongKey, now); err == nil || leaf != nil || !strings.HasPrefix(err.Error(), a.Cert+": ") {
		t.Errorf("another key: leaf %v, err %v", leaf, err)
	}
	badCA := Files{Cert: a.Cert, Key: a.Key, CA: filepath.Join(t.TempDir(), "missing.pem")}
	if _, err := Verify(badCA, now); err == nil || !strings.HasPrefix(err.Error(), "CA bundle ") {
		t.Errorf("missing CA bundle: %v", err)
	}
}

// A certificate issued by an intermediate chains to the root only when the
// intermediate follows it in its file.
func TestVerifyUsesTheIntermediatesInTheCertificateFile(t *testing.T) {
	t.Parallel()
	now := time.Now()
	dir := t.TempDir()
	root, rootKey := issue(t, nil, nil, &x509.Certificate{Subject: pkix.Name{CommonName: "root"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}, now)
	mid, midKey := issue(t, root, rootKey, &x509.Certificate{Subject: pkix.Name{CommonName: "intermediate"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}, now)
	leaf, leafKey := issue(t, mid, midKey, &x509.Certificate{Subject: pkix.Name{CommonName: "terminal"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, now)
	f := Files{Cert: filepath.Join(dir, "cert.pem"), Key: filepath.Join(dir, "key.pem"), CA: filepath.Join(dir, "ca.pem")}
	if err := writeKey(f.Key, leafKey); err != nil {
		t.Fatal(err)
	}
	writeCerts(t, f.CA, root)
	writeCerts(t, f.Cert, leaf)
	if _, err := Verify(f, now); err == nil {
		t.Error("verified without the intermediate")
	}
	writeCerts(t, f.Cert, leaf, mid)
	if got, err := Verify(f, now); err != nil || got.Subject.CommonName != "terminal" {
		t.Errorf("with the intermediate: %v", err)
	}
}

// issue makes a certificate from tmpl signed by parent (self-signed when
// parent is nil), valid an hour either side of now.
func issue(t *testing.T, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, tmpl *x509.Certificate, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = serial()
	tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.Add(time.Hour)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

func writeCerts(t *testing.T, path string, cs ...*x509.Certificate) {
	t.Helper()
	var out []byte
	for _, c := range cs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}
