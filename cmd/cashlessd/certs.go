package main

import (
	"crypto/x509"
	"flag"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vinr/cashlessd/certs"
	"github.com/vinr/cashlessd/daemon/config"
)

// certsIssue issues the development terminal certificate now, for
// tls.hosts, --hosts, localhost and the LAN addresses, and with
// --drop-ca-key then removes the development CA's key.
func (m *Main) certsIssue(args []string) error {
	fs := flag.NewFlagSet("certs issue", flag.ContinueOnError)
	terminal := addTerminalFlags(fs)
	hosts := fs.String("hosts", "", "comma-separated DNS names and IP addresses the certificate names besides tls.hosts, "+
		"localhost and the LAN addresses")
	drop := fs.Bool("drop-ca-key", false, "remove the development CA's key once the certificate is issued: "+
		"no further certificate can be made by that CA")
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := terminal.load("certs issue")
	if err != nil {
		return err
	}
	if cfg.TLS.CertFile != "" {
		return fmt.Errorf("certs issue: tls.cert_file is set (%s): this terminal serves the configured certificate, "+
			"not the development CA", cfg.TLS.CertFile)
	}
	var extra []string
	for _, h := range strings.Split(*hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			extra = append(extra, h)
		}
	}
	id, lanErr := devIdentity(cfg, extra)
	if lanErr != nil {
		fmt.Fprintf(m.Stderr, "LAN addresses not detected (%v): only the names given are in the certificate\n", lanErr)
	}
	r, err := id.Issue(*drop)
	if err != nil {
		return fmt.Errorf("certs issue: %w", err)
	}
	names := append(slices.Clone(r.Leaf.DNSNames), ipStrings(r.Leaf)...)
	fmt.Fprintf(m.Stdout, "issued %s for %s, valid until %s, sha256 %s\n", r.Files.Cert, strings.Join(names, ", "),
		r.Leaf.NotAfter.UTC().Format("2006-01-02"), certs.Fingerprint(r.Leaf))
	fmt.Fprintf(m.Stdout, "ECRs trust %s (development CA, valid until %s)\n", r.Files.CA, r.CA.NotAfter.UTC().Format("2006-01-02"))
	if r.CAKeyRemoved {
		fmt.Fprintf(m.Stdout, "removed the CA's key: no further certificate can be issued by this CA\n")
	}
	for _, w := range r.Warnings() {
		fmt.Fprintln(m.Stderr, "warning:", w)
	}
	fmt.Fprintln(m.Stderr, "A running cashlessd serves the new certificate after its next restart.")
	return nil
}

// devIdentity is the development identity of cfg's terminal: tls.hosts,
// extra names, and the LAN addresses (with their networks) found now.
func devIdentity(cfg config.Config, extra []string) (certs.DevIdentity, error) {
	id := certs.DevIdentity{Dir: filepath.Join(cfg.DataDir, "certs"), Hosts: append(slices.Clone(cfg.TLS.Hosts), extra...), Now: time.Now()}
	lan, err := certs.LANAddresses()
	for _, a := range lan {
		id.Hosts = append(id.Hosts, a.IP.String())
		id.Networks = append(id.Networks, a)
	}
	return id, err
}

// ipStrings are the certificate's IP addresses as text.
func ipStrings(c *x509.Certificate) []string {
	out := make([]string, len(c.IPAddresses))
	for i, ip := range c.IPAddresses {
		out[i] = ip.String()
	}
	return out
}
