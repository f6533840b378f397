// Package certs holds the terminal's TLS material: on first start it makes a
// development CA and an ECDSA P-256 terminal certificate signed by it; in
// production it loads the configured (VINR-issued) files. It also builds the
// server's TLS configuration (TLS 1.2+, AEAD suites only) and certificate
// fingerprints.
package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// File names inside the certificate directory.
const (
	CAFile     = "ca.pem"
	CAKeyFile  = "ca-key.pem"
	CertFile   = "terminal.pem"
	KeyFile    = "terminal-key.pem"
	caValidity = 10 * 365 * 24 * time.Hour
	// leafValidity stays under 825 days, the most some client stacks accept.
	leafValidity = 800 * 24 * time.Hour
)

// Files names the PEM files of a terminal's TLS identity.
type Files struct {
	Cert string
	Key  string
	CA   string
}

// defaultHosts are always in the terminal certificate.
func defaultHosts() []string { return []string{"localhost", "127.0.0.1", "::1"} }

// DevFiles are the development identity's files in dir, as EnsureDev
// makes them.
func DevFiles(dir string) Files {
	return Files{Cert: filepath.Join(dir, CertFile), Key: filepath.Join(dir, KeyFile), CA: filepath.Join(dir, CAFile)}
}

// EnsureDev makes, under dir, a development CA and a terminal certificate
// for hosts (plus localhost and the loopback addresses) unless they exist.
// A terminal certificate that lacks a requested name or expires within 30
// days is re-issued by the same CA, so ECRs keep trusting ca.pem.
func EnsureDev(dir string, hosts []string, now time.Time) (Files, error) {
	f := DevFiles(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return f, err
	}
	names := append(defaultHosts(), hosts...)
	caCert, caKey, err := loadOrMakeCA(dir, now)
	if err != nil {
		return f, err
	}
	if leaf, err := loadCert(f.Cert); err == nil && coversAll(leaf, names) && leaf.NotAfter.After(now.Add(30*24*time.Hour)) && leaf.CheckSignatureFrom(caCert) == nil {
		if _, err := tls.LoadX509KeyPair(f.Cert, f.Key); err == nil {
			return f, nil
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return f, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "cashlessd terminal", Organization: []string{"cashlessd development"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(leafValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range names {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return f, err
	}
	if err := writeKey(f.Key, key); err != nil {
		return f, err
	}
	return f, writePEM(f.Cert, "CERTIFICATE", der)
}

// loadOrMakeCA returns the development CA in dir, making it when absent.
func loadOrMakeCA(dir string, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	certPath, keyPath := filepath.Join(dir, CAFile), filepath.Join(dir, CAKeyFile)
	if c, err := loadCert(certPath); err == nil {
		if k, err := loadKey(keyPath); err == nil {
			return c, k, nil
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "cashlessd development CA", Organization: []string{"cashlessd development"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	if err := writeKey(keyPath, key); err != nil {
		return nil, nil, err
	}
	if err := writePEM(certPath, "CERTIFICATE", der); err != nil {
		return nil, nil, err
	}
	c, err := x509.ParseCertificate(der)
	return c, key, err
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return n
}

func coversAll(c *x509.Certificate, names []string) bool {
	for _, n := range names {
		if n == "" {
			continue
		}
		if c.VerifyHostname(n) != nil {
			return false
		}
	}
	return true
}

// writePEM writes one PEM block to path with mode 0600, atomically.
func writePEM(path, typ string, der []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	return writePEM(path, "EC PRIVATE KEY", der)
}

func loadCert(path string) (*x509.Certificate, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b, _ := pem.Decode(raw)
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s: no PEM certificate", path)
	}
	return x509.ParseCertificate(b.Bytes)
}

func loadKey(path string) (*ecdsa.PrivateKey, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b, _ := pem.Decode(raw)
	if b == nil {
		return nil, fmt.Errorf("%s: no PEM key", path)
	}
	return x509.ParseECPrivateKey(b.Bytes)
}

// ServerConfig loads the certificate and key for a TLS 1.2+ server with
// AEAD cipher suites only.
func ServerConfig(f Files) (*tls.Config, error) {
	pair, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return nil, fmt.Errorf("terminal certificate: %w", err)
	}
	if pair.Leaf == nil {
		return nil, errors.New("terminal certificate: no leaf")
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{pair},
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP256},
		NextProtos:       []string{"h2", "http/1.1"},
	}, nil
}

// Pool loads a PEM bundle as a certificate pool (what an ECR trusts).
func Pool(caFile string) (*x509.CertPool, error) {
	raw, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(raw) {
		return nil, fmt.Errorf("%s: no certificates", caFile)
	}
	return pool, nil
}

// Fingerprint is the SHA-256 of a certificate's DER, in hex.
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// Leaf parses the first certificate of a PEM file.
func Leaf(path string) (*x509.Certificate, error) { return loadCert(path) }
