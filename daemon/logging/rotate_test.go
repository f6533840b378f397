package logging

import (
	"bufio"
	"bytes"
	"encoding/json"
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
	out, closeLog, err := Open(cfg, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	log := New(out, "info")
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
