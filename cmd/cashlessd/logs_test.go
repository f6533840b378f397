package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vinr/cashlessd/daemon/config"
)

// serve writes its log to the file, and to stderr only when asked.
func TestServeLogsToFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := writeConfig(t, "[log]\nfile = \"cashlessd.log\"\nmax_size_mb = 1\nmax_backups = 1\n")
	d := startDaemon(t, dir, "--config", cfg)
	d.sale("LOG-1", 500).expect(t, 200, "")
	d.stop()
	raw, err := os.ReadFile(filepath.Join(dir, "cashlessd.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"message":"cashlessd ready"`, `"message":"stopped"`} {
		if !bytes.Contains(raw, []byte(want)) {
			t.Errorf("log file lacks %s:\n%s", want, raw)
		}
	}
	if strings.Contains(d.logs.String(), "cashlessd ready") {
		t.Errorf("stderr got the log although only a file was configured:\n%s", d.logs.String())
	}

	both := t.TempDir()
	cfg = writeConfig(t, "[log]\nfile = \"cashlessd.log\"\nstderr = true\n")
	d = startDaemon(t, both, "--config", cfg)
	d.stop()
	raw, _ = os.ReadFile(filepath.Join(both, "cashlessd.log"))
	if !bytes.Contains(raw, []byte("cashlessd ready")) || !strings.Contains(d.logs.String(), "cashlessd ready") {
		t.Errorf("stderr = true: file %q, stderr %q", raw, d.logs.String())
	}
}

func TestLogConfigValidation(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]string{
		"[log]\nlevel = \"verbose\"\n":                       "log.level",
		"[log]\nfile = \"x.log\"\nmax_size_mb = 0\n":         "log.max_size_mb",
		"[log]\nfile = \"x.log\"\nmax_backups = 99\n":        "log.max_backups",
		"[log]\nstderr = false\n":                            "needs log.file",
		"[discovery]\nenabled = true\ninterfaces = [\"\"]\n": "discovery.interfaces",
	} {
		c, err := config.Load(writeConfig(t, body))
		if err != nil {
			t.Fatal(err)
		}
		c.Simulator = true
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: want an error about %s, got %v", body, want, err)
		}
	}
	// A log file the daemon cannot create stops serve at once.
	m := &Main{Stdout: io.Discard, Stderr: io.Discard}
	cfg := writeConfig(t, "[log]\nfile = \"/proc/no/such/dir/cashlessd.log\"\n")
	if err := m.Run(t.Context(), []string{"serve", "--simulator", "--config", cfg, "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0"}); err == nil || !strings.Contains(err.Error(), "log.file") {
		t.Errorf("unwritable log file: %v", err)
	}
}

// Discovery defaults: on in production, off in simulator mode unless the
// configuration asks for it.
func TestDiscoveryDefaults(t *testing.T) {
	t.Parallel()
	c := config.Default()
	if !c.DiscoveryEnabled() {
		t.Error("discovery should default on in production")
	}
	c.Simulator = true
	if c.DiscoveryEnabled() {
		t.Error("discovery should default off in simulator mode")
	}
	c, err := config.Load(writeConfig(t, "simulator = true\n[discovery]\nenabled = true\n"))
	if err != nil || !c.DiscoveryEnabled() {
		t.Errorf("enabled = true in simulator mode: %v", err)
	}
	c, err = config.Load(writeConfig(t, "[discovery]\nenabled = false\n"))
	if err != nil || c.DiscoveryEnabled() {
		t.Errorf("enabled = false: %v", err)
	}
}
