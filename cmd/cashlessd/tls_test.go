package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vinr/cashlessd/certs"
	"github.com/vinr/cashlessd/diag"
	vreader "github.com/vinr/cashlessd/emv/reader/virtual"
	"github.com/vinr/cashlessd/internal/logbuf"
)

// productionTerminal writes the configuration of a production terminal
// (no simulator) without a printer and without certificate files: its
// reader is a virtual reader, its host the host simulator.
func productionTerminal(t *testing.T, dataDir string) string {
	t.Helper()
	vr, err := vreader.Start(t.Context(), vreader.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { vr.Close() })
	return writeConfig(t, fmt.Sprintf(`
terminal_id = "term_TLS_0001"
model = "nexgo_n86pro"
data_dir = %q
listen = "127.0.0.1:0"
[reader]
device = %q
[host]
address = %q
tls = false
terminal_id = "TLS00001"
merchant_id = "TLSMERCHANT0001"
[discovery]
enabled = false
`, dataDir, vr.Path(), startHostSim(t)))
}

// serveProduction runs `cashlessd serve --config cfg` (no simulator) until
// the test ends; it returns the address and the log.
func serveProduction(t *testing.T, cfg string) (string, *logbuf.Buffer) {
	t.Helper()
	logs := &logbuf.Buffer{}
	ready := make(chan net.Addr, 1)
	m := &Main{Stdout: &logbuf.Buffer{}, Stderr: logs, Version: "1.2.3-test", Ready: func(a net.Addr) { ready <- a }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, []string{"serve", "--config", cfg}) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case a := <-ready:
		return a.String(), logs
	case err := <-done:
		t.Fatalf("serve: %v\n%s", err, logs.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("serve did not start\n%s", logs.String())
	}
	return "", nil
}

// servedCertificate is the certificate the daemon at addr presents,
// verified against caFile for name.
func servedCertificate(t *testing.T, addr, caFile, name string) *x509.Certificate {
	t.Helper()
	pool, err := certs.Pool(caFile)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: name, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatalf("TLS for %s: %v", name, err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0]
}

// Production mode on the development CA: the daemon says so at start and
// diag says so; the terminal certificate names the LAN addresses, so ECRs
// verify it by IP; once its CA key is dropped the daemon keeps serving the
// issued certificate and nothing more can be issued.
func TestProductionOnTheDevelopmentCA(t *testing.T) {
	dataDir := t.TempDir()
	cfg := productionTerminal(t, dataDir)
	caFile := filepath.Join(dataDir, "certs", certs.CAFile)

	out, errOut, err := runMain(t, "certs", "issue", "--config", cfg, "--hosts", "terminal.shop.lan", "--drop-ca-key")
	if err != nil || !strings.Contains(out, "removed the CA's key") || !strings.Contains(out, "terminal.shop.lan") {
		t.Fatalf("certs issue: %v\n%s%s", err, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "certs", certs.CAKeyFile)); !os.IsNotExist(err) {
		t.Fatalf("CA key still there: %v", err)
	}
	issued, err := certs.Leaf(filepath.Join(dataDir, "certs", certs.CertFile))
	if err != nil {
		t.Fatal(err)
	}

	addr, logs := serveProduction(t, cfg)
	warned, plainHost := false, false
	for _, rec := range logRecords(t, logs.String()) {
		if msg, _ := rec["message"].(string); strings.HasPrefix(msg, "host.tls = false") {
			plainHost = rec["level"] == "warn"
		}
		if msg, _ := rec["message"].(string); strings.HasPrefix(msg, "production mode on the development CA") {
			warned = rec["level"] == "warn" && rec["caKeyRemoved"] == true
		}
		if rec["message"] == "terminal certificate issued by the development CA" {
			t.Errorf("reissued at start although the CA key was removed: %v", rec)
		}
	}
	if !warned {
		t.Errorf("no production-on-the-development-CA warning:\n%s", logs.String())
	}
	if !plainHost {
		t.Errorf("host.tls = false without a warning at start:\n%s", logs.String())
	}
	served := servedCertificate(t, addr, caFile, "127.0.0.1")
	if served.SerialNumber.Cmp(issued.SerialNumber) != 0 {
		t.Error("the daemon does not serve the issued certificate")
	}
	servedCertificate(t, addr, caFile, "terminal.shop.lan")
	lan, err := certs.LANAddresses()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range lan {
		if err := served.VerifyHostname(a.IP.String()); err != nil {
			t.Errorf("LAN address %s not in the certificate: %v", a.IP, err)
		}
	}

	_, _, err = runMain(t, "certs", "issue", "--config", cfg)
	if err == nil || !strings.Contains(err.Error(), "the development CA's key was removed") || !strings.Contains(err.Error(), "merchant's CA") {
		t.Errorf("certs issue after --drop-ca-key: %v", err)
	}

	_, checks, _ := diagJSON(t, "--config", cfg)
	if c := checks["certificates"]; c.Status != diag.Warn || !strings.Contains(c.Detail, "PRODUCTION ON THE DEVELOPMENT CA (its key removed)") {
		t.Errorf("diag certificates: %+v", c)
	}
}

// In simulator mode the development CA is expected: no warning; the
// terminal certificate still names the LAN addresses.
func TestSimulatorOnTheDevelopmentCAIsQuiet(t *testing.T) {
	dir := t.TempDir()
	d := startDaemon(t, dir)
	d.stop()
	if strings.Contains(d.logs.String(), "production mode on the development CA") {
		t.Errorf("warned in simulator mode:\n%s", d.logs.String())
	}
	leaf, err := certs.Leaf(filepath.Join(dir, "certs", certs.CertFile))
	if err != nil {
		t.Fatal(err)
	}
	lan, _ := certs.LANAddresses()
	for _, a := range lan {
		if leaf.VerifyHostname(a.IP.String()) != nil {
			t.Errorf("LAN address %s not in the certificate", a.IP)
		}
	}
}
