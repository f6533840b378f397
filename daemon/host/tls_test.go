package host_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/host"
	"github.com/vinr/cashlessd/daemon/host/hostsim"
)

// selfSigned makes an ECDSA P-256 certificate for 127.0.0.1.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hostsim"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func TestSaleOverTLS(t *testing.T) {
	t.Parallel()
	cert, pool := selfSigned(t)
	r := newRig(t, func(c *host.Config, s *hostsim.Config) {
		s.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		c.TLS = &tls.Config{RootCAs: pool}
	})
	ctx := testCtx(t)
	resp, err := r.client.Authorise(ctx, sale("tx-tls", approvedPAN, 100))
	if err != nil || !resp.Approved {
		t.Fatalf("%+v %v", resp, err)
	}
}

func TestTLSUntrustedHostIsUnreachable(t *testing.T) {
	t.Parallel()
	cert, _ := selfSigned(t)
	r := newRig(t, func(c *host.Config, s *hostsim.Config) {
		s.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		c.TLS = &tls.Config{RootCAs: x509.NewCertPool()}
	})
	_, err := r.client.Authorise(testCtx(t), sale("tx-tls", approvedPAN, 100))
	if !errors.Is(err, daemon.ErrHostUnreachable) {
		t.Fatalf("untrusted certificate: %v, want ErrHostUnreachable", err)
	}
}
