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
	"strings"
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

// A swiped sale over TLS carries its track 2 (35) and is approved; the
// same card swiped after a chip failure goes as fallback (801); without
// track 2 the host answers 30, a decline that still carries a reference
// (37), and the log never shows the track.
func TestSwipedSaleOverTLS(t *testing.T) {
	t.Parallel()
	cert, pool := selfSigned(t)
	r := newRig(t, func(c *host.Config, s *hostsim.Config) {
		s.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		c.TLS = &tls.Config{RootCAs: pool}
	})
	ctx := testCtx(t)
	const track = approvedPAN + "=3012101123456789"
	swiped := func(id string, fallback bool, track2 string) daemon.AuthRequest {
		req := sale(id, approvedPAN, 500)
		req.Card.Info.EntryMethod = daemon.EntrySwipe
		req.Card.ICCData, req.Card.CardSequenceNo, req.Card.PINBlock, req.Card.KSN = nil, "", nil, nil
		req.Card.Track2, req.Card.Fallback = track2, fallback
		return req
	}
	for _, tc := range []struct {
		id       string
		fallback bool
		track2   string
		approved bool
		rc       string
	}{
		{"tx-swipe", false, track, true, "00"},
		{"tx-fallback", true, track, true, "00"},
		{"tx-no-track", false, "", false, "30"},
		{"tx-other-card", false, "4000000000000077=3012101123456789", false, "14"},
	} {
		resp, err := r.client.Authorise(ctx, swiped(tc.id, tc.fallback, tc.track2))
		if err != nil || resp.Approved != tc.approved || resp.ResponseCode != tc.rc {
			t.Errorf("%s: %+v %v, want approved %v code %s", tc.id, resp, err, tc.approved, tc.rc)
		}
	}
	if l := r.logs.String(); strings.Contains(l, "=3012101") || strings.Contains(l, approvedPAN) {
		t.Error("track 2 or PAN in the client's or the host's log")
	}
}
