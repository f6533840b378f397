package certs

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"time"
)

// Verify checks a terminal's TLS identity as a server would present it at
// time now: the certificate and key load as a pair, and the certificate
// chains to the CA bundle (through the intermediates that follow it in its
// own file) for server authentication. Without f.CA the chain is not
// checked. It returns the terminal (leaf) certificate once it parses, so
// the caller can look at its dates even when the chain does not verify.
// Expiry is part of the chain check; a caller that wants to tell "not yet
// valid" or "expired" apart looks at the leaf.
func Verify(f Files, now time.Time) (*x509.Certificate, error) {
	if _, err := ServerConfig(f); err != nil {
		return nil, fmt.Errorf("%s: %w", f.Cert, err)
	}
	leaf, err := Leaf(f.Cert)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Cert, err)
	}
	if f.CA == "" {
		return leaf, nil
	}
	pool, err := Pool(f.CA)
	if err != nil {
		return leaf, fmt.Errorf("CA bundle %s: %w", f.CA, err)
	}
	opts := x509.VerifyOptions{Roots: pool, Intermediates: intermediates(f.Cert), CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	if _, err := leaf.Verify(opts); err != nil {
		return leaf, fmt.Errorf("%s does not chain to %s: %w", f.Cert, f.CA, err)
	}
	return leaf, nil
}

// intermediates are the certificates after the leaf in its PEM file.
func intermediates(path string) *x509.CertPool {
	pool := x509.NewCertPool()
	raw, err := os.ReadFile(path)
	if err != nil {
		return pool
	}
	first := true
	for {
		var b *pem.Block
		b, raw = pem.Decode(raw)
		if b == nil {
			return pool
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		if first {
			first = false
			continue
		}
		if c, err := x509.ParseCertificate(b.Bytes); err == nil {
			pool.AddCert(c)
		}
	}
}
