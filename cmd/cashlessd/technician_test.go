package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vinr/cashlessd/daemon/auth"
	"github.com/vinr/cashlessd/daemon/store"
)

// runMain runs one cashlessd command in-process.
func runMain(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errOut, Version: "1.2.3-test"}
	err = m.Run(t.Context(), args)
	return out.String(), errOut.String(), err
}

// runBinary runs this test binary as cashlessd and returns its exit status.
func runBinary(t *testing.T, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, args...)
	cmd.Env = append(os.Environ(), "CASHLESSD_AS_MAIN=1")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// Every subcommand answers --help with its usage on stdout and exit
// status 0, and nothing else is printed (no library notice at start).
func TestHelpExitsZero(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"serve", "--help"}, {"serve", "-h"}, {"key", "rotate", "--help"}, {"key", "--help"},
		{"certs", "issue", "--help"}, {"certs", "--help"}, {"print-test", "--help"}, {"diag", "--help"},
		{"hostsim", "--help"}, {"--help"}, {"help"},
	} {
		out, errOut, err := runMain(t, args...)
		if err != nil || !strings.Contains(out, "usage:") || errOut != "" {
			t.Errorf("%v: err %v, stdout %q, stderr %q", args, err, out, errOut)
		}
	}
	out, errOut, status := runBinary(t, "serve", "--help")
	if status != 0 || !strings.HasPrefix(out, "usage: cashlessd serve ") || !strings.Contains(out, "-data-dir") || errOut != "" {
		t.Errorf("serve --help: exit %d, stdout %q, stderr %q", status, out, errOut)
	}
	if out, errOut, status := runBinary(t, "version"); status != 0 || strings.TrimSpace(out) == "" || errOut != "" {
		t.Errorf("version: exit %d, stdout %q, stderr %q", status, out, errOut)
	}
	if _, errOut, status := runBinary(t, "serve", "--no-such-flag"); status != 2 || !strings.Contains(errOut, "no-such-flag") {
		t.Errorf("a wrong flag: exit %d, stderr %q", status, errOut)
	}
}

// key rotate changes nothing unless told which terminal: no guessed
// /var/lib/cashlessd, no data directory made for a typo.
func TestKeyRotateRefusesWithoutATerminal(t *testing.T) {
	t.Parallel()
	out, errOut, status := runBinary(t, "key", "rotate")
	if status == 0 || out != "" || !strings.Contains(errOut, "--config FILE or --data-dir DIR") || !strings.Contains(errOut, "nothing changed") {
		t.Errorf("no flags: exit %d, stdout %q, stderr %q", status, out, errOut)
	}
	missing := filepath.Join(t.TempDir(), "typo")
	out, _, err := runMain(t, "key", "rotate", "--data-dir", missing)
	if err == nil || out != "" || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing data dir: %v, stdout %q", err, out)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("key rotate made %s", missing)
	}
	if _, _, err := runMain(t, "certs", "issue"); err == nil || !strings.Contains(err.Error(), "--config FILE or --data-dir DIR") {
		t.Errorf("certs issue without flags: %v", err)
	}
}

// logRecords are the JSON log lines in s; a line that is not JSON fails.
func logRecords(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("not a JSON log line: %q", line)
			continue
		}
		out = append(out, rec)
	}
	return out
}

// rotationLogged finds the key rotation's log line and checks it names
// how it was made and never holds the key.
func rotationLogged(t *testing.T, logs, via, key string) {
	t.Helper()
	if strings.Contains(logs, key) {
		t.Fatalf("the key reached the log:\n%s", logs)
	}
	for _, rec := range logRecords(t, logs) {
		if rec["event"] == "key_rotated" {
			if rec["via"] != via || rec["time"] == nil || rec["level"] != "info" {
				t.Errorf("rotation line %v, want via %q", rec, via)
			}
			return
		}
	}
	t.Errorf("no key_rotated line in:\n%s", logs)
}

// key rotate says which database it changed and whether the simulator
// key stays valid; the rotation is logged, offline and through a running
// daemon alike, without the key.
func TestKeyRotateSaysWhatItChangedAndIsLogged(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, store.FileName)
	// Offline, a simulator terminal named by its configuration.
	cfg := writeConfig(t, "simulator = true\ndata_dir = \""+dir+"\"\n")
	out, errOut, err := runMain(t, "key", "rotate", "--config", cfg)
	if err != nil {
		t.Fatal(err, errOut)
	}
	key := strings.TrimSpace(out)
	if !strings.HasPrefix(key, "ck_live_") || !strings.Contains(errOut, "Changed: "+db+" (no daemon running)") ||
		!strings.Contains(errOut, "Simulator mode: "+auth.SimulatorKey+" stays valid") {
		t.Errorf("offline: stdout %q, stderr:\n%s", out, errOut)
	}
	rotationLogged(t, firstLines(errOut), "offline", key)

	// Through the running daemon's admin socket: the daemon logs it.
	d := startDaemon(t, dir)
	out, errOut, err = runMain(t, "key", "rotate", "--data-dir", dir)
	if err != nil {
		t.Fatal(err, errOut)
	}
	key = strings.TrimSpace(out)
	if !strings.Contains(errOut, "Changed: "+db+" (the running daemon)") || !strings.Contains(errOut, auth.SimulatorKey+" stays valid") {
		t.Errorf("running: stderr:\n%s", errOut)
	}
	d.postKey("/cashless/v1/status", "{}", key).expect(t, 200, "")
	d.postKey("/cashless/v1/status", "{}", simKey).expect(t, 200, "")
	rotationLogged(t, d.logs.String(), "admin socket", key)
}

// firstLines are the JSON lines at the start of s (the log lines before
// the command's own words).
func firstLines(s string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if !strings.HasPrefix(line, "{") {
			break
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// The ready line is a JSON log line with a level, written even when the
// configured level would hide info lines: tools wait for it.
func TestReadyLineIsAJSONLogLine(t *testing.T) {
	cfg := writeConfig(t, "[log]\nlevel = \"error\"\n")
	d := startDaemon(t, t.TempDir(), "--config", cfg)
	d.stop()
	found := false
	for _, rec := range logRecords(t, d.logs.String()) {
		if rec["message"] == "cashlessd ready" {
			found = rec["level"] == "info" && rec["listen"] != nil && rec["time"] != nil
		}
	}
	if !found {
		t.Errorf("no ready line with level, listen and time:\n%s", d.logs.String())
	}
}
