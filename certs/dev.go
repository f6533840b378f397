package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// File names inside the certificate directory.
const (
	CAFile    = "ca.pem"
	CAKeyFile = "ca-key.pem"
	CertFile  = "terminal.pem"
	KeyFile   = "terminal-key.pem"
)

const (
	// caValidity keeps the development CA short-lived (two years at
	// most, from NotBefore to NotAfter): an ECR's copy of ca.pem does not
	// outlive the terminal's set-up for long.
	caValidity = 730 * 24 * time.Hour
	// leafValidity stays under 825 days, the most some client stacks
	// accept; a terminal certificate never outlives its CA.
	leafValidity = 800 * 24 * time.Hour
	// renewBefore is how long before its end a CA or terminal
	// certificate is replaced at start.
	renewBefore = 30 * 24 * time.Hour
)

// ErrCAKeyRemoved means the development CA's key was removed (`cashlessd
// certs issue --drop-ca-key`): that CA cannot issue a terminal certificate
// any more.
var ErrCAKeyRemoved = errors.New("the development CA's key was removed")

// Files names the PEM files of a terminal's TLS identity.
type Files struct {
	Cert string
	Key  string
	CA   string
}

// defaultHosts are always in the terminal certificate.
func defaultHosts() []string { return []string{"localhost", "127.0.0.1", "::1"} }

// loopbackRanges are always permitted by the development CA.
func loopbackRanges() []*net.IPNet {
	return []*net.IPNet{
		{IP: net.IPv4(127, 0, 0, 0).To4(), Mask: net.CIDRMask(8, 32)},
		{IP: net.IPv6loopback, Mask: net.CIDRMask(128, 128)},
	}
}

// DevFiles are the development identity's files in dir, as DevIdentity
// makes them.
func DevFiles(dir string) Files {
	return Files{Cert: filepath.Join(dir, CertFile), Key: filepath.Join(dir, KeyFile), CA: filepath.Join(dir, CAFile)}
}

// DevIdentity is the development TLS identity kept in Dir: a CA made on
// the terminal and the terminal certificate it signs. The CA is
// short-lived (under two years), may sign only for one terminal (path
// length zero; critical name constraints: localhost, the loopback
// addresses, Hosts and Networks) and its key can be removed once the
// terminal certificate is issued (Issue with dropCAKey).
type DevIdentity struct {
	// Dir holds the PEM files (0600, in a 0700 directory).
	Dir string
	// Hosts are the DNS names and IP addresses the terminal certificate
	// names besides localhost and the loopback addresses: the configured
	// tls.hosts and the terminal's LAN addresses.
	Hosts []string
	// Networks are the LAN networks a new CA may sign addresses in, so a
	// terminal that DHCP moves within its network gets a certificate for
	// its new address from the same CA.
	Networks []*net.IPNet
	// Now is the time the certificates are checked and issued at.
	Now time.Time
}

// DevResult says what DevIdentity found or did.
type DevResult struct {
	// Files are the identity's files.
	Files Files
	// CA is the development CA; Leaf is the terminal certificate served.
	CA, Leaf *x509.Certificate
	// NewCA: a CA was made now (on first start, or RenewedCA), and ECRs
	// must be given its ca.pem.
	NewCA bool
	// RenewedCA: an existing CA was near its end and was replaced.
	RenewedCA bool
	// Issued: a terminal certificate was issued now.
	Issued bool
	// CAKeyRemoved: the CA's key is gone; nothing can be issued.
	CAKeyRemoved bool
	// Unconstrained: the CA was made by an earlier version, without name
	// constraints.
	Unconstrained bool
	// Ending: the terminal certificate ends within 30 days and, the CA's
	// key being removed, cannot be renewed.
	Ending bool
	// Missing are requested names the terminal certificate does not name:
	// outside the CA's name constraints, or the CA's key is removed.
	Missing []string
}

// Ensure keeps the identity current: it makes the CA when there is none
// (or replaces one ending within 30 days), and issues a terminal
// certificate when there is none, it ends within 30 days, or it lacks a
// requested name the CA may sign for. Without the CA's key the existing
// terminal certificate is kept as long as it is valid; names it lacks are
// reported in Missing (see Warnings).
func (d DevIdentity) Ensure() (DevResult, error) { return d.ensure(false) }

// Issue issues a new terminal certificate for the requested names now,
// and with dropCAKey then removes the CA's key, so no further certificate
// can be made by that CA. It fails with ErrCAKeyRemoved once the key is
// gone, and when a requested name is outside the CA's name constraints.
func (d DevIdentity) Issue(dropCAKey bool) (DevResult, error) {
	r, err := d.ensure(true)
	if err != nil || !dropCAKey {
		return r, err
	}
	if err := os.Remove(filepath.Join(d.Dir, CAKeyFile)); err != nil {
		return r, fmt.Errorf("removing the CA key: %w", err)
	}
	r.CAKeyRemoved = true
	return r, nil
}

// EnsureDev is DevIdentity.Ensure for hosts in dir, without LAN networks:
// the short form tools and tests use.
func EnsureDev(dir string, hosts []string, now time.Time) (Files, error) {
	r, err := DevIdentity{Dir: dir, Hosts: hosts, Now: now}.Ensure()
	return r.Files, err
}

func (d DevIdentity) ensure(force bool) (DevResult, error) {
	now := d.Now
	if now.IsZero() {
		now = time.Now()
	}
	r := DevResult{Files: DevFiles(d.Dir)}
	if err := os.MkdirAll(d.Dir, 0o700); err != nil {
		return r, err
	}
	names := d.names()
	ca, caKey, err := loadCA(d.Dir)
	if err != nil {
		return r, err
	}
	switch {
	case ca == nil:
		r.NewCA = true
	case caKey == nil:
		r.CAKeyRemoved = true
	case !ca.NotAfter.After(now.Add(renewBefore)):
		r.NewCA, r.RenewedCA = true, true
	}
	if r.NewCA {
		if ca, caKey, err = makeCA(d.Dir, names, d.Networks, now); err != nil {
			return r, err
		}
	}
	r.CA = ca
	r.Unconstrained = !ca.PermittedDNSDomainsCritical && len(ca.PermittedDNSDomains) == 0 && len(ca.PermittedIPRanges) == 0
	var wanted, outside []string
	for _, n := range names {
		if permits(ca, n) {
			wanted = append(wanted, n)
		} else {
			outside = append(outside, n)
		}
	}

	leaf := loadLeaf(r.Files, ca)
	usable := leaf != nil && now.Before(leaf.NotAfter)
	if !force && !r.NewCA && usable && leaf.NotAfter.After(now.Add(renewBefore)) && len(uncovered(leaf, wanted)) == 0 {
		r.Leaf, r.Missing = leaf, outside
		return r, nil
	}
	if caKey == nil {
		keyPath := filepath.Join(d.Dir, CAKeyFile)
		switch {
		case force:
			return r, fmt.Errorf("%w (%s): no new terminal certificate can be issued; keep serving the one issued, "+
				"install a certificate from the merchant's CA (tls.cert_file), or remove %s to start a new development "+
				"CA (every ECR must then trust the new ca.pem)", ErrCAKeyRemoved, keyPath, d.Dir)
		case usable:
			r.Leaf, r.Missing = leaf, uncovered(leaf, names)
			r.Ending = !leaf.NotAfter.After(now.Add(renewBefore))
			return r, nil
		}
		return r, fmt.Errorf("%w (%s) and the terminal certificate %s is missing or expired: install a certificate from "+
			"the merchant's CA (tls.cert_file), or remove %s to start a new development CA (every ECR must then trust "+
			"the new ca.pem)", ErrCAKeyRemoved, keyPath, r.Files.Cert, d.Dir)
	}
	if force && len(outside) > 0 {
		return r, fmt.Errorf("%s outside the development CA's name constraints (%s): remove %s to start a new "+
			"development CA for them (every ECR must then trust the new ca.pem)", strings.Join(outside, ", "),
			constraints(ca), d.Dir)
	}
	if r.Leaf, err = issueLeaf(r.Files, ca, caKey, wanted, now); err != nil {
		return r, err
	}
	r.Issued, r.Missing = true, outside
	return r, nil
}

// Warnings say, one sentence each, what an operator must know about the
// identity: names ECRs cannot verify, a terminal certificate near its end
// that cannot be renewed, a renewed CA, a CA without name constraints.
func (r DevResult) Warnings() []string {
	dir := filepath.Dir(r.Files.CA)
	var out []string
	switch {
	case len(r.Missing) > 0 && r.CAKeyRemoved:
		out = append(out, fmt.Sprintf("the terminal certificate does not name %s and cannot be reissued: the "+
			"development CA's key was removed; ECRs cannot verify the terminal by these names (see docs/tls.md)",
			strings.Join(r.Missing, ", ")))
	case len(r.Missing) > 0:
		out = append(out, fmt.Sprintf("the terminal certificate does not name %s: outside the development CA's "+
			"name constraints (%s); remove %s to start a new development CA (every ECR must then trust the new "+
			"ca.pem) or install a certificate from the merchant's CA (see docs/tls.md)",
			strings.Join(r.Missing, ", "), constraints(r.CA), dir))
	}
	if r.Ending {
		out = append(out, fmt.Sprintf("the terminal certificate ends %s and cannot be renewed: the development "+
			"CA's key was removed; install a certificate from the merchant's CA (see docs/tls.md)",
			r.Leaf.NotAfter.UTC().Format("2006-01-02")))
	}
	if r.RenewedCA {
		out = append(out, "the development CA was near its end and was replaced: every ECR must trust the new "+r.Files.CA)
	}
	if r.Unconstrained {
		out = append(out, fmt.Sprintf("the development CA in %s has no name constraints (made by an earlier version, "+
			"valid until %s): remove %s to start a constrained, short-lived one (every ECR must then trust the new "+
			"ca.pem)", dir, r.CA.NotAfter.UTC().Format("2006-01-02"), dir))
	}
	return out
}

// LANAddresses are the terminal's IPv4 addresses on the interfaces that
// are up (loopback and link-local addresses left out), each with its
// network's mask: what ECRs on the LAN reach the terminal by.
func LANAddresses() ([]*net.IPNet, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var out []*net.IPNet
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip := ipn.IP.To4()
			if ip == nil || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() {
				continue
			}
			mask := ipn.Mask
			if len(mask) == net.IPv6len {
				mask = mask[12:]
			}
			out = append(out, &net.IPNet{IP: ip, Mask: mask})
		}
	}
	return out, nil
}

// names are localhost, the loopback addresses and Hosts, once each, IP
// addresses in their canonical form.
func (d DevIdentity) names() []string {
	var out []string
	for _, h := range append(defaultHosts(), d.Hosts...) {
		h = strings.TrimSpace(h)
		if ip := net.ParseIP(h); ip != nil {
			h = ip.String()
		} else {
			h = strings.ToLower(strings.TrimSuffix(h, "."))
		}
		if h != "" && !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

// loadCA reads the CA in dir: nil certificate when there is none, nil key
// when its key file is gone. An unreadable ca.pem is an error, never
// replaced silently: ECRs trust it.
func loadCA(dir string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	certPath, keyPath := filepath.Join(dir, CAFile), filepath.Join(dir, CAKeyFile)
	if _, err := os.Stat(certPath); errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	c, err := loadCert(certPath)
	if err != nil {
		return nil, nil, fmt.Errorf("development CA: %w (remove %s to start a new one)", err, dir)
	}
	if _, err := os.Stat(keyPath); errors.Is(err, os.ErrNotExist) {
		return c, nil, nil
	}
	k, err := loadKey(keyPath)
	if err != nil {
		return nil, nil, fmt.Errorf("development CA key: %w", err)
	}
	return c, k, nil
}

// makeCA makes and writes a CA that may sign only for names and networks
// (and the loopback addresses), for caValidity.
func makeCA(dir string, names []string, networks []*net.IPNet, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:                serial(),
		Subject:                     pkix.Name{CommonName: "cashlessd development CA", Organization: []string{"cashlessd development"}},
		NotBefore:                   now.Add(-time.Hour),
		NotAfter:                    now.Add(-time.Hour + caValidity),
		KeyUsage:                    x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid:       true,
		IsCA:                        true,
		MaxPathLenZero:              true,
		PermittedDNSDomainsCritical: true,
		PermittedIPRanges:           loopbackRanges(),
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.PermittedIPRanges = appendRange(tmpl.PermittedIPRanges, hostRange(ip))
		} else {
			tmpl.PermittedDNSDomains = append(tmpl.PermittedDNSDomains, n)
		}
	}
	for _, n := range networks {
		if v4 := n.IP.To4(); v4 != nil && len(n.Mask) == net.IPv4len {
			tmpl.PermittedIPRanges = appendRange(tmpl.PermittedIPRanges, &net.IPNet{IP: v4.Mask(n.Mask), Mask: n.Mask})
		} else if len(n.IP) == net.IPv6len && len(n.Mask) == net.IPv6len {
			tmpl.PermittedIPRanges = appendRange(tmpl.PermittedIPRanges, &net.IPNet{IP: n.IP.Mask(n.Mask), Mask: n.Mask})
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	if err := writeKey(filepath.Join(dir, CAKeyFile), key); err != nil {
		return nil, nil, err
	}
	if err := writePEM(filepath.Join(dir, CAFile), "CERTIFICATE", der); err != nil {
		return nil, nil, err
	}
	c, err := x509.ParseCertificate(der)
	return c, key, err
}

func hostRange(ip net.IP) *net.IPNet {
	if v4 := ip.To4(); v4 != nil {
		return &net.IPNet{IP: v4, Mask: net.CIDRMask(32, 32)}
	}
	return &net.IPNet{IP: ip.To16(), Mask: net.CIDRMask(128, 128)}
}

// appendRange adds r unless a range already there holds it.
func appendRange(ranges []*net.IPNet, r *net.IPNet) []*net.IPNet {
	for _, have := range ranges {
		hOnes, hBits := have.Mask.Size()
		rOnes, rBits := r.Mask.Size()
		if hBits == rBits && hOnes <= rOnes && have.Contains(r.IP) {
			return ranges
		}
	}
	return append(ranges, r)
}

// permits reports whether ca's name constraints allow name, as an ECR's
// verifier applies them (a permitted DNS domain covers its subdomains).
func permits(ca *x509.Certificate, name string) bool {
	if ip := net.ParseIP(name); ip != nil {
		if len(ca.PermittedIPRanges) == 0 {
			return true
		}
		for _, r := range ca.PermittedIPRanges {
			if r.Contains(ip) {
				return true
			}
		}
		return false
	}
	if len(ca.PermittedDNSDomains) == 0 {
		return true
	}
	for _, d := range ca.PermittedDNSDomains {
		d = strings.ToLower(d)
		if name == d || strings.HasSuffix(name, "."+strings.TrimPrefix(d, ".")) {
			return true
		}
	}
	return false
}

// constraints describes ca's name constraints for a message.
func constraints(ca *x509.Certificate) string {
	if ca == nil {
		return "none"
	}
	var out []string
	out = append(out, ca.PermittedDNSDomains...)
	for _, r := range ca.PermittedIPRanges {
		out = append(out, r.String())
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, " ")
}

// loadLeaf returns the terminal certificate when it and its key load as a
// pair and ca signed it; nil otherwise.
func loadLeaf(f Files, ca *x509.Certificate) *x509.Certificate {
	leaf, err := loadCert(f.Cert)
	if err != nil || leaf.CheckSignatureFrom(ca) != nil {
		return nil
	}
	if _, err := tls.LoadX509KeyPair(f.Cert, f.Key); err != nil {
		return nil
	}
	return leaf
}

// uncovered are the names c does not name.
func uncovered(c *x509.Certificate, names []string) []string {
	var out []string
	for _, n := range names {
		if c.VerifyHostname(n) != nil {
			out = append(out, n)
		}
	}
	return out
}

// issueLeaf issues and writes an ECDSA P-256 terminal certificate for
// names, valid for leafValidity but never past the CA's end. A renewal
// keeps the terminal's key pair (a P-256 key already in f.Key), so ECRs
// that pinned its public key (PublicKeyFingerprint) keep trusting it.
func issueLeaf(f Files, ca *x509.Certificate, caKey *ecdsa.PrivateKey, names []string, now time.Time) (*x509.Certificate, error) {
	key, err := loadKey(f.Key)
	if err != nil || key.Curve != elliptic.P256() {
		if key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			return nil, err
		}
	}
	notAfter := now.Add(leafValidity)
	if notAfter.After(ca.NotAfter) {
		notAfter = ca.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "cashlessd terminal", Organization: []string{"cashlessd development"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	if err := writeKey(f.Key, key); err != nil {
		return nil, err
	}
	if err := writePEM(f.Cert, "CERTIFICATE", der); err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}
