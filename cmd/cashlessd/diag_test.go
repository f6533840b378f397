package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vinr/cashlessd/diag"
	vreader "github.com/vinr/cashlessd/emv/reader/virtual"
	"github.com/vinr/cashlessd/internal/logbuf"
	"github.com/vinr/cashlessd/printer/virtual"
)

// runDiag runs `cashlessd diag` in-process and returns stdout and Run's error.
func runDiag(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errOut, Version: "1.2.3-test"}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := m.Run(ctx, append([]string{"diag"}, args...))
	if errOut.Len() > 0 {
		t.Logf("stderr: %s", errOut.String())
	}
	return out.String(), err
}

// diagJSON runs diag --json and decodes the report.
func diagJSON(t *testing.T, args ...string) (diag.Report, map[string]diag.Check, error) {
	t.Helper()
	out, err := runDiag(t, append(args, "--json")...)
	var r diag.Report
	if jerr := json.Unmarshal([]byte(out), &r); jerr != nil {
		t.Fatalf("diag --json printed no JSON report (%v): %q", jerr, out)
	}
	byName := map[string]diag.Check{}
	for _, c := range r.Checks {
		byName[c.Name] = c
	}
	return r, byName, err
}

func TestDiagHealthySimulator(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, err := runDiag(t, "--simulator", "--data-dir", dir)
	t.Logf("\n%s", out)
	if err != nil {
		t.Fatalf("healthy simulator: %v\n%s", err, out)
	}
	for _, name := range []string{"config", "certificates", "clock", "disk", "database", "reader", "printer", "host"} {
		if !strings.Contains(out, "OK    "+name) {
			t.Errorf("no OK line for %s:\n%s", name, out)
		}
	}
	if !strings.Contains(out, "OK: 9 checks passed") {
		t.Errorf("summary missing:\n%s", out)
	}

	r, checks, err := diagJSON(t, "--simulator", "--data-dir", dir)
	if err != nil || !r.OK || len(r.Checks) != 9 || r.TerminalID != "term_SIM_0001" || !r.Simulator {
		t.Fatalf("json report: err %v, %+v", err, r)
	}
	if c := checks["host"]; c.Status != diag.OK || !strings.Contains(c.Detail, "echo (0800)") {
		t.Errorf("host: %+v", c)
	}
}

// After the daemon ran once the certificates and the database exist and
// are checked; while it runs, the database is reported as in use.
func TestDiagChecksDatabaseAndCertificatesOfADaemon(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := startDaemon(t, dir)
	d.sale("DIAG-1", 1000).expect(t, 200, "")

	_, checks, err := diagJSON(t, "--simulator", "--data-dir", dir)
	if err != nil {
		t.Fatalf("diag beside a running daemon failed: %v %+v", err, checks)
	}
	if c := checks["database"]; c.Status != diag.Skip || !strings.Contains(c.Detail, "in use by the running daemon") {
		t.Errorf("database while the daemon runs: %+v", c)
	}
	if c := checks["certificates"]; c.Status != diag.OK || !strings.Contains(c.Detail, "chains to ca.pem") {
		t.Errorf("certificates: %+v", c)
	}

	d.stop()
	_, checks, err = diagJSON(t, "--simulator", "--data-dir", dir)
	if err != nil {
		t.Fatalf("diag after the daemon stopped: %v", err)
	}
	if c := checks["database"]; c.Status != diag.OK || !strings.Contains(c.Detail, "consistent") || !strings.Contains(c.Detail, "1 transactions") {
		t.Errorf("database: %+v", c)
	}
}

// productionConfig writes a non-simulator configuration whose reader is a
// virtual reader the test runs, with the given printer device and host.
func productionConfig(t *testing.T, printerDevice, hostAddr string) string {
	t.Helper()
	cfg, _ := productionConfigIn(t, t.TempDir(), printerDevice, hostAddr)
	return cfg
}

func productionConfigIn(t *testing.T, dataDir, printerDevice, hostAddr string) (string, string) {
	t.Helper()
	vr, err := vreader.Start(t.Context(), vreader.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { vr.Close() })
	return writeConfig(t, fmt.Sprintf(`
terminal_id = "term_DIAG_0001"
model = "nexgo_ct20"
data_dir = %q
[reader]
device = %q
[printer]
device = %q
job_timeout = "3s"
[host]
address = %q
tls = false
terminal_id = "DIAG0001"
merchant_id = "DIAGMERCHANT001"
timeout = "3s"
`, dataDir, vr.Path(), printerDevice, hostAddr)), dataDir
}

// Next to a running production daemon (its admin socket answers) diag
// leaves the serial devices alone and still checks the rest.
func TestDiagLeavesDevicesOfARunningDaemonAlone(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ln, err := net.Listen("unix", filepath.Join(dir, "admin.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	cfg, _ := productionConfigIn(t, dir, "/dev/ttyS1", startHostSim(t))
	_, checks, err := diagJSON(t, "--config", cfg)
	if err != nil {
		t.Fatalf("diag: %v %+v", err, checks)
	}
	for _, name := range []string{"reader", "printer"} {
		if c := checks[name]; c.Status != diag.Skip || !strings.Contains(c.Detail, "in use by the running daemon") {
			t.Errorf("%s: %+v", name, c)
		}
	}
	if c := checks["host"]; c.Status != diag.OK {
		t.Errorf("host: %+v", c)
	}
	// host.tls = false is flagged.
	if c := checks["host tls"]; c.Status != diag.Warn || !strings.Contains(c.Detail, "plain TCP") {
		t.Errorf("host tls: %+v", c)
	}
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestDiagReportsPaperOutAndUnreachableHost(t *testing.T) {
	t.Parallel()
	vp, err := virtual.Start(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { vp.Close() })
	vp.SetPaper(false)
	cfg := productionConfig(t, vp.Path(), closedPort(t))

	out, err := runDiag(t, "--config", cfg)
	t.Logf("\n%s", out)
	var de diagError
	if !errors.As(err, &de) {
		t.Fatalf("want a failed diag (exit 1), got %v", err)
	}
	if strings.Join(de.failed, ",") != "printer,host" {
		t.Errorf("failed checks %v, want printer and host", de.failed)
	}
	if !strings.Contains(out, "FAILED: printer, host") {
		t.Errorf("summary:\n%s", out)
	}

	r, checks, _ := diagJSON(t, "--config", cfg)
	if r.OK {
		t.Error("report says ok")
	}
	if c := checks["printer"]; c.Status != diag.Fail || !strings.Contains(c.Detail, "paper_out") {
		t.Errorf("printer: %+v", c)
	}
	if c := checks["host"]; c.Status != diag.Fail || !strings.Contains(c.Detail, "unreachable") || !strings.Contains(c.Detail, "refused") {
		t.Errorf("host: %+v", c)
	}
	for _, name := range []string{"config", "reader", "clock", "disk", "database"} {
		if c := checks[name]; c.Status != diag.OK {
			t.Errorf("%s should pass: %+v", name, c)
		}
	}
	// Production without certificate files would run on the development CA.
	if c := checks["certificates"]; c.Status != diag.Warn || !strings.Contains(c.Detail, "development CA") {
		t.Errorf("certificates: %+v", c)
	}
}

func TestDiagReportsMissingPrinterDevice(t *testing.T) {
	t.Parallel()
	// The host side works here: a simulated acquirer on loopback.
	hs := startHostSim(t)
	cfg := productionConfig(t, filepath.Join(t.TempDir(), "no-such-tty"), hs)
	_, checks, err := diagJSON(t, "--config", cfg)
	var de diagError
	if !errors.As(err, &de) || strings.Join(de.failed, ",") != "printer" {
		t.Fatalf("want only printer failed, got %v: %+v", err, checks)
	}
	if c := checks["printer"]; !strings.Contains(c.Detail, "unavailable") || !strings.Contains(c.Detail, "no such file") {
		t.Errorf("printer: %+v", c)
	}
	if c := checks["host"]; c.Status != diag.OK {
		t.Errorf("host: %+v", c)
	}
}

// startHostSim runs `cashlessd hostsim` in-process and returns its address.
func startHostSim(t *testing.T) string {
	t.Helper()
	out := &logbuf.Buffer{}
	m := &Main{Stdout: out, Stderr: &logbuf.Buffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, []string{"hostsim", "--ledger", filepath.Join(t.TempDir(), "ledger.json")}) }()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if s := strings.TrimSpace(out.String()); s != "" {
			return s
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("hostsim did not start")
	return ""
}

func TestDiagReportsCorruptDatabaseAndBadConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cashless.db"), bytes.Repeat([]byte("not a bbolt file "), 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	_, checks, err := diagJSON(t, "--simulator", "--data-dir", dir)
	var de diagError
	if !errors.As(err, &de) || strings.Join(de.failed, ",") != "database" {
		t.Fatalf("want only database failed, got %v: %+v", err, checks)
	}

	cfg := writeConfig(t, "model = \"nokia_3310\"\n")
	_, checks, err = diagJSON(t, "--config", cfg, "--simulator", "--data-dir", t.TempDir())
	if !errors.As(err, &de) || checks["config"].Status != diag.Fail || !strings.Contains(checks["config"].Detail, "nokia_3310") {
		t.Fatalf("bad model: %v %+v", err, checks["config"])
	}
	_, checks, err = diagJSON(t, "--config", writeConfig(t, "no_such_key = 1\n"))
	if !errors.As(err, &de) || checks["config"].Status != diag.Fail || checks["host"].Status != diag.Skip {
		t.Fatalf("unknown key: %v %+v", err, checks)
	}
}
