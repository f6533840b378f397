package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func mustCIDR(t *testing.T, s string) *net.IPNet {
	t.Helper()
	ip, n, err := net.ParseCIDR(s)
	if err != nil {
		t.Fatal(err)
	}
	n.IP = ip
	return n
}

func TestEnsureDevMakesAP256ChainAndKeepsTheCA(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	now := time.Now()
	id := DevIdentity{Dir: dir, Hosts: []string{"terminal.shop.lan", "192.168.1.51"}, Networks: []*net.IPNet{mustCIDR(t, "192.168.1.51/24")}, Now: now}
	r, err := id.Ensure()
	if err != nil {
		t.Fatal(err)
	}
	f := r.Files
	if !r.NewCA || !r.Issued || len(r.Missing) > 0 || len(r.Warnings()) > 0 {
		t.Fatalf("first start: %+v, warnings %q", r, r.Warnings())
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
	for _, p := range []string{f.Cert, f.Key, f.CA, filepath.Join(dir, CAKeyFile)} {
		if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v", p, st.Mode().Perm())
		}
	}
	ca1, _ := os.ReadFile(f.CA)
	// Same names: nothing changes.
	if r, err := id.Ensure(); err != nil || r.Issued || r.NewCA {
		t.Fatalf("second start: %+v, %v", r, err)
	}
	again, _ := Leaf(f.Cert)
	if again.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
		t.Fatal("certificate re-issued without need")
	}
	// DHCP moved the terminal within its network: re-issued by the same
	// CA, so ECRs keep trusting it.
	id.Hosts = []string{"terminal.shop.lan", "192.168.1.77"}
	if r, err := id.Ensure(); err != nil || !r.Issued || r.NewCA {
		t.Fatalf("new address: %+v, %v", r, err)
	}
	ca2, _ := os.ReadFile(f.CA)
	leaf2, _ := Leaf(f.Cert)
	if string(ca1) != string(ca2) || leaf2.VerifyHostname("192.168.1.77") != nil {
		t.Fatal("CA changed or address missing")
	}
	if _, err := leaf2.Verify(x509.VerifyOptions{Roots: pool, DNSName: "192.168.1.77"}); err != nil {
		t.Fatal(err)
	}
	// Another network: the CA may not sign for it; the certificate keeps
	// every name it may sign and the operator is told.
	id.Hosts = append(id.Hosts, "10.0.0.9")
	r, err = id.Ensure()
	if err != nil || len(r.Missing) != 1 || r.Missing[0] != "10.0.0.9" {
		t.Fatalf("outside the constraints: %+v, %v", r, err)
	}
	if w := strings.Join(r.Warnings(), "\n"); !strings.Contains(w, "does not name 10.0.0.9") || !strings.Contains(w, "name constraints") {
		t.Errorf("warnings: %s", w)
	}
	leaf3, _ := Leaf(f.Cert)
	if _, err := leaf3.Verify(x509.VerifyOptions{Roots: pool, DNSName: "192.168.1.77"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ServerConfig(f); err != nil {
		t.Fatal(err)
	}
	if len(Fingerprint(leaf2)) != 64 {
		t.Fatal("fingerprint")
	}
}

// The development CA is short-lived and may sign only for the terminal's
// names: a certificate for anything else that its key signs (as someone
// holding a copy of the key would) does not verify.
func TestDevelopmentCAIsNameConstrainedAndShortLived(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	now := time.Now()
	r, err := DevIdentity{Dir: dir, Hosts: []string{"terminal.shop.lan", "192.168.1.51"},
		Networks: []*net.IPNet{mustCIDR(t, "192.168.1.51/24")}, Now: now}.Ensure()
	if err != nil {
		t.Fatal(err)
	}
	ca := r.CA
	if life := ca.NotAfter.Sub(ca.NotBefore); life > 2*365*24*time.Hour {
		t.Errorf("CA valid for %s", life)
	}
	if !ca.MaxPathLenZero || !ca.PermittedDNSDomainsCritical {
		t.Error("no path length zero or name constraints not critical")
	}
	critical := false
	for _, e := range ca.Extensions {
		if e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 30}) {
			critical = e.Critical
		}
	}
	if !critical {
		t.Error("name constraints extension missing or not critical")
	}
	if leaf, _ := Leaf(r.Files.Cert); leaf.NotAfter.After(ca.NotAfter) {
		t.Errorf("terminal certificate ends %s, after its CA %s", leaf.NotAfter, ca.NotAfter)
	}
	caKey, err := loadKey(filepath.Join(dir, CAKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	pool, _ := Pool(r.Files.CA)
	forge := func(dns string, ip net.IP) error {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: serial(), Subject: pkix.Name{CommonName: dns},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
		name := dns
		if ip != nil {
			tmpl.IPAddresses, name = []net.IP{ip}, ip.String()
		} else {
			tmpl.DNSNames = []string{dns}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		_, err = c.Verify(x509.VerifyOptions{Roots: pool, DNSName: name})
		return err
	}
	for _, bad := range []struct {
		dns string
		ip  net.IP
	}{{"bank.example", nil}, {"terminal.shop.lan.evil.example", nil}, {"", net.ParseIP("10.1.2.3")}, {"", net.ParseIP("192.168.2.1")}} {
		var ce x509.CertificateInvalidError
		if err := forge(bad.dns, bad.ip); !errors.As(err, &ce) || ce.Reason != x509.CANotAuthorizedForThisName {
			t.Errorf("%s%v: %v", bad.dns, bad.ip, err)
		}
	}
	for _, good := range []struct {
		dns string
		ip  net.IP
	}{{"terminal.shop.lan", nil}, {"", net.ParseIP("192.168.1.200")}, {"", net.ParseIP("127.0.0.1")}} {
		if err := forge(good.dns, good.ip); err != nil {
			t.Errorf("%s%v: %v", good.dns, good.ip, err)
		}
	}

	// Near its end the CA is replaced, and the operator is told ECRs need
	// the new ca.pem.
	late := DevIdentity{Dir: dir, Hosts: []string{"terminal.shop.lan"}, Now: ca.NotAfter.Add(-24 * time.Hour)}
	r2, err := late.Ensure()
	if err != nil || !r2.RenewedCA || !r2.Issued || r2.CA.SerialNumber.Cmp(ca.SerialNumber) == 0 {
		t.Fatalf("renewal: %+v, %v", r2, err)
	}
	if w := strings.Join(r2.Warnings(), "\n"); !strings.Contains(w, "replaced") {
		t.Errorf("warnings: %s", w)
	}
}

// Once the terminal certificate is issued the CA's key can be removed:
// the certificate stays in use, nothing can be issued any more, and a
// name the certificate lacks is reported, not silently dropped.
func TestIssueDropCAKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	now := time.Now()
	id := DevIdentity{Dir: dir, Hosts: []string{"terminal.shop.lan", "192.168.1.51"},
		Networks: []*net.IPNet{mustCIDR(t, "192.168.1.51/24")}, Now: now}
	r, err := id.Issue(true)
	if err != nil || !r.Issued || !r.CAKeyRemoved {
		t.Fatalf("issue: %+v, %v", r, err)
	}
	if _, err := os.Stat(filepath.Join(dir, CAKeyFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("CA key still there: %v", err)
	}
	issued := r.Leaf
	if _, err := Verify(r.Files, now); err != nil {
		t.Fatal(err)
	}
	// A restart with the same names keeps the certificate.
	r, err = id.Ensure()
	if err != nil || r.Issued || r.NewCA || !r.CAKeyRemoved || r.Leaf.SerialNumber.Cmp(issued.SerialNumber) != 0 || len(r.Warnings()) > 0 {
		t.Fatalf("restart: %+v, %v, warnings %q", r, err, r.Warnings())
	}
	// A new address cannot be added: the certificate stays, with a warning.
	id.Hosts = append(id.Hosts, "192.168.1.60")
	r, err = id.Ensure()
	if err != nil || r.Issued || len(r.Missing) != 1 || r.Leaf.SerialNumber.Cmp(issued.SerialNumber) != 0 {
		t.Fatalf("new address: %+v, %v", r, err)
	}
	if w := strings.Join(r.Warnings(), "\n"); !strings.Contains(w, "192.168.1.60") || !strings.Contains(w, "key was removed") {
		t.Errorf("warnings: %s", w)
	}
	// Near its end the operator is told it cannot be renewed.
	late := id
	late.Hosts, late.Now = []string{"terminal.shop.lan"}, issued.NotAfter.Add(-24*time.Hour)
	if r, err := late.Ensure(); err != nil || !r.Ending || !strings.Contains(strings.Join(r.Warnings(), "\n"), "cannot be renewed") {
		t.Errorf("near the end: %+v, %v", r, err)
	}
	// Issuing again is refused, with what to do instead.
	if _, err := id.Issue(false); !errors.Is(err, ErrCAKeyRemoved) || !strings.Contains(err.Error(), "merchant's CA") {
		t.Errorf("issue again: %v", err)
	}
	if _, err := os.Stat(r.Files.CA); err != nil {
		t.Errorf("ca.pem removed: %v", err)
	}
	// Once the certificate has ended the daemon cannot start on it.
	id.Now = issued.NotAfter.Add(time.Hour)
	if _, err := id.Ensure(); !errors.Is(err, ErrCAKeyRemoved) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("after the end: %v", err)
	}
}

func TestIssueRefusesNamesOutsideTheConstraints(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := (DevIdentity{Dir: dir, Hosts: []string{"terminal.shop.lan"}}).Issue(false); err != nil {
		t.Fatal(err)
	}
	_, err := DevIdentity{Dir: dir, Hosts: []string{"other.example"}}.Issue(false)
	if err == nil || !strings.Contains(err.Error(), "other.example outside the development CA's name constraints") {
		t.Fatalf("%v", err)
	}
}

func TestLANAddressesAreIPv4WithTheirMask(t *testing.T) {
	t.Parallel()
	addrs, err := LANAddresses()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if a.IP.To4() == nil || len(a.IP) != net.IPv4len || len(a.Mask) != net.IPv4len || a.IP.IsLoopback() || a.IP.IsLinkLocalUnicast() {
			t.Errorf("%v", a)
		}
	}
}
