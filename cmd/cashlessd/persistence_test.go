package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeyRotation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// With no daemon running, the database is updated directly.
	var out, errOut bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errOut}
	if err := m.Run(t.Context(), []string{"key", "rotate", "--data-dir", dir}); err != nil {
		t.Fatal(err, errOut.String())
	}
	first := strings.TrimSpace(out.String())
	if !strings.HasPrefix(first, "ck_live_") || len(first) < 40 {
		t.Fatalf("key %q", first)
	}
	d := startDaemon(t, dir)
	d.postKey("/cashless/v1/status", "{}", first).expect(t, 200, "")

	// While it runs, the daemon is asked over its admin socket.
	out.Reset()
	if err := m.Run(t.Context(), []string{"key", "rotate", "--data-dir", dir}); err != nil {
		t.Fatal(err, errOut.String())
	}
	second := strings.TrimSpace(out.String())
	if second == first || !strings.HasPrefix(second, "ck_live_") {
		t.Fatalf("%q", second)
	}
	d.postKey("/cashless/v1/status", "{}", first).expect(t, 401, "invalid_key")
	d.postKey("/cashless/v1/status", "{}", second).expect(t, 200, "")
	d.stop()
	d2 := startDaemon(t, dir)
	d2.postKey("/cashless/v1/status", "{}", second).expect(t, 200, "")
	d2.postKey("/cashless/v1/status", "{}", first).expect(t, 401, "invalid_key")

	// Neither key is on disk in clear.
	scanDir(t, dir, []string{first, second})
}

func TestNoFullPANOnDiskOrInLogs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := startDaemon(t, dir)
	pans := []string{"4242424242424242", "5555555555554444", "4000000000000002", "4000000000009995", "4000000000000069", "378282246310005"}
	for i, pan := range pans {
		for _, m := range []string{"chip", "contactless", "swipe"} {
			d.card(map[string]any{"pan": pan, "entryMethod": m, "presentAfterMs": 0})
			d.post("/cashless/v1/sale", map[string]any{"amount": 100 + i, "currency": "USD", "reference": fmt.Sprintf("PAN-%d-%s", i, m), "printReceipt": true})
		}
	}
	d.post("/cashless/v1/receipt/reprint", map[string]any{"type": "both"}).expect(t, 200, "")
	d.post("/cashless/v1/batch/close", map[string]any{"reference": "EOD-PAN"}).expect(t, 200, "")
	d.stop()
	scanDir(t, dir, pans)
	for _, pan := range pans {
		if strings.Contains(d.logs.String(), pan) {
			t.Errorf("log contains %s", pan)
		}
	}
	// Files 0600, directories 0700.
	_ = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, _ := e.Info()
		mode := info.Mode()
		switch {
		case mode&fs.ModeSocket != 0:
		case e.IsDir() && mode.Perm() != 0o700:
			t.Errorf("%s: %v", p, mode.Perm())
		case !e.IsDir() && mode.Perm() != 0o600:
			t.Errorf("%s: %v", p, mode.Perm())
		}
		return nil
	})
}

// scanDir fails the test if any secret appears in any file under dir.
func scanDir(t *testing.T, dir string, secrets []string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || e.Type()&fs.ModeSocket != 0 {
			return err
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, s := range secrets {
			if bytes.Contains(raw, []byte(s)) {
				t.Errorf("%s contains %s", p, s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
