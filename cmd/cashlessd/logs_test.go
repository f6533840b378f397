package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vinr/cashlessd/daemon/config"
)

// The log file rotates at max_size_mb and keeps max_backups old files:
// never more than (1 + max_backups) × max_size_mb on the flash, and no log
// line is cut in two.
func TestLogFileRotatesAndCaps(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.Log.File = "logs/cashlessd.log" // relative: inside data_dir
	cfg.Log.MaxSizeMB = 1
	cfg.Log.MaxBackups = 2
	cfg.Simulator = true
	if err := cfg.Validate(); err != nil {
		t.Fatalf("log settings should be valid: %v", err)
	}
	var stderr bytes.Buffer
	out, closeLog, err := openLogOutput(cfg, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	log := newLogger(out, "info")
	pad := strings.Repeat("x", 180)
	const lines = 30000 // about 7 MiB of JSON
	for i := range lines {
		log.Info().Int("n", i).Str("pad", pad).Msg("a log line")
	}
	closeLog()
	if stderr.Len() != 0 {
		t.Errorf("with a log file, stderr gets nothing by default; got %d bytes", stderr.Len())
	}

	logDir := filepath.Join(dir, "logs")
	var files []string
	deadline := time.Now().Add(10 * time.Second)
	for {
		entries, err := os.ReadDir(logDir)
		if err != nil {
			t.Fatal(err)
		}
		files = files[:0]
		for _, e := range entries {
			files = append(files, e.Name())
		}
		// Old backups are removed in the background: wait for it.
		if len(files) <= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	sort.Strings(files)
	t.Logf("log files: %v", files)
	if len(files) != 3 || !contains(files, "cashlessd.log") {
		t.Fatalf("want the current file and 2 backups, got %v", files)
	}
	var total int64
	last := -1
	for _, name := range files {
		path := filepath.Join(logDir, name)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > 1<<20 {
			t.Errorf("%s is %d bytes, over max_size_mb", name, fi.Size())
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", name, fi.Mode().Perm())
		}
		total += fi.Size()
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 4096), 1<<20)
		for sc.Scan() {
			var l struct{ N int }
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Fatalf("%s: a line is not JSON (cut at rotation?): %q", name, sc.Text())
			}
			if name == "cashlessd.log" {
				last = max(last, l.N)
			}
		}
		f.Close()
	}
	if total > 3<<20 {
		t.Errorf("%d bytes of logs on disk, over (1+2) × 1 MiB", total)
	}
	if last != lines-1 {
		t.Errorf("the current file's last line is %d, want %d", last, lines-1)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

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
	if got := discoveryHost("term_CT20_0042"); got != "cashless-term-ct20-0042" {
		t.Errorf("host name %q", got)
	}
}
