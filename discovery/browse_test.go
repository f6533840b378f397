package discovery

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"
)

// TestVerifyFound: a terminal found by browsing is trusted when its
// certificate chains to the CA and either names the address or is the
// certificate it announced; never without the CA.
func TestVerifyFound(t *testing.T) {
	t.Parallel()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	ca, _ := x509.ParseCertificate(caDER)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "terminal"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	leafDER, _ := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	leaf, _ := x509.ParseCertificate(leafDER)
	sum := sha256.Sum256(leaf.Raw)
	fp := hex.EncodeToString(sum[:])
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	chain := []*x509.Certificate{leaf}

	if err := verifyFound(chain, roots, "127.0.0.1", ""); err != nil {
		t.Errorf("named address: %v", err)
	}
	if err := verifyFound(chain, roots, "192.0.2.7", fp); err != nil {
		t.Errorf("announced certificate at an address it does not name: %v", err)
	}
	if err := verifyFound(chain, roots, "192.0.2.7", strings.Repeat("0", 64)); err == nil {
		t.Error("another certificate at an address it does not name was accepted")
	}
	if err := verifyFound(chain, x509.NewCertPool(), "127.0.0.1", fp); err == nil {
		t.Error("a certificate outside the trusted CAs was accepted")
	}
}

// The host name comes from the terminal ID, made safe for DNS.
func TestHostName(t *testing.T) {
	t.Parallel()
	if got := HostName("term_CT20_0042"); got != "cashless-term-ct20-0042" {
		t.Errorf("host name %q", got)
	}
}
