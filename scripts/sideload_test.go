// Package scripts holds the technician's shell scripts; its tests run them
// with bash against fakes at the device end.
package scripts

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// device is a fake Android terminal: a directory as its file system and a
// fake adb on PATH that records every call.
type device struct {
	t       *testing.T
	root    string // the device's "/"
	prefix  string // root + /data/cashlessd
	adbLog  string
	pathEnv string
	extra   []string
}

const serial = "NEXGO-FAKE-0042"

func newDevice(t *testing.T) *device {
	t.Helper()
	for _, tool := range []string{"bash", "sh", "sha256sum", "setsid"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s", tool)
		}
	}
	// A short root: the daemon's admin socket path must stay under 108 bytes.
	root, err := os.MkdirTemp("", "sl")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, "host-bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	fake, _ := filepath.Abs("testdata/fake-adb")
	if err := os.Symlink(fake, filepath.Join(bin, "adb")); err != nil {
		t.Fatal(err)
	}
	d := &device{t: t, root: root, prefix: filepath.Join(root, "data/cashlessd"), adbLog: filepath.Join(root, "adb.log"),
		pathEnv: bin + string(os.PathListSeparator) + os.Getenv("PATH")}
	t.Cleanup(func() {
		// Stop whatever the test left running on the "device".
		if _, err := os.Stat(filepath.Join(d.prefix, "bin/cashlessd.init")); err == nil {
			_ = exec.Command("sh", filepath.Join(d.prefix, "bin/cashlessd.init"), "stop").Run()
		}
		os.RemoveAll(root)
	})
	return d
}

// sideload runs scripts/sideload.sh with bash and returns its exit code
// and output.
func (d *device) sideload(args ...string) (int, string) {
	d.t.Helper()
	cmd := exec.Command("bash", append([]string{"sideload.sh", "-s", serial}, args...)...)
	cmd.Env = append(os.Environ(), "PATH="+d.pathEnv, "FAKE_DEVICE_ROOT="+d.root, "FAKE_ADB_LOG="+d.adbLog,
		"FAKE_ADB_SERIAL="+serial, "SIDELOAD_HEALTH_TIMEOUT=10")
	cmd.Env = append(cmd.Env, d.extra...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		d.t.Fatal(err)
	}
	d.t.Logf("sideload.sh %s → exit %d\n%s", strings.Join(args, " "), code, out.String())
	return code, out.String()
}

func (d *device) calls() string {
	raw, _ := os.ReadFile(d.adbLog)
	return string(raw)
}

func (d *device) exists(rel string) bool {
	_, err := os.Lstat(filepath.Join(d.root, rel))
	return err == nil
}

func (d *device) mode(rel string) os.FileMode {
	fi, err := os.Stat(filepath.Join(d.root, rel))
	if err != nil {
		d.t.Fatalf("%s: %v", rel, err)
	}
	return fi.Mode().Perm()
}

func (d *device) link(rel string) string {
	v, err := os.Readlink(filepath.Join(d.root, rel))
	if err != nil {
		return ""
	}
	return filepath.Base(v)
}

// running asks the on-device init script.
func (d *device) running() bool {
	return exec.Command("sh", filepath.Join(d.prefix, "bin/cashlessd.init"), "status").Run() == nil
}

// buildDaemon builds cashlessd for this machine (the fake device runs it).
func buildDaemon(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go tool is not installed")
	}
	bin := filepath.Join(t.TempDir(), "cashlessd")
	cmd := exec.Command(goTool, "build", "-o", bin, "../cmd/cashlessd")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func writeFile(t *testing.T, name, body string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// The terminal's configuration, with on-device paths (docs/install.md).
const deviceConfig = `terminal_id = "term_CT20_0042"
simulator = true
listen = "127.0.0.1:0"
data_dir = "/data/cashlessd/var"
[log]
file = "cashlessd.log"
max_size_mb = 1
max_backups = 2
`

func TestSideloadInstallUpgradeRollbackRemove(t *testing.T) {
	t.Parallel()
	good := buildDaemon(t)
	d := newDevice(t)
	cfg := writeFile(t, "cashlessd.toml", deviceConfig, 0o644)
	cert := writeFile(t, "terminal.pem", "CERT", 0o644)
	key := writeFile(t, "terminal-key.pem", "KEY", 0o600)
	ca := writeFile(t, "ca.pem", "CA", 0o644)

	// First install: binary, config, certificates, boot service; started.
	code, out := d.sideload("--binary", good, "--config", cfg, "--cert", cert, "--key", key, "--ca", ca)
	if code != 0 {
		t.Fatalf("install failed")
	}
	calls := d.calls()
	for _, want := range []string{"adb -s " + serial + " get-state", "adb -s " + serial + " root", "adb -s " + serial + " remount",
		"push " + good + " /data/cashlessd/releases/cashlessd-", "/system/etc/init/cashlessd.rc", "/data/cashlessd/etc/tls/terminal-key.pem.tmp"} {
		if !strings.Contains(calls, want) {
			t.Errorf("no adb call with %q:\n%s", want, calls)
		}
	}
	release := d.link("data/cashlessd/bin/cashlessd")
	if !strings.HasPrefix(release, "cashlessd-") || !d.exists("data/cashlessd/releases/"+release) {
		t.Fatalf("bin/cashlessd → %q", release)
	}
	for rel, want := range map[string]os.FileMode{
		"data/cashlessd/etc/cashlessd.toml":       0o600,
		"data/cashlessd/etc/tls/terminal-key.pem": 0o600,
		"data/cashlessd/etc/tls/terminal.pem":     0o600,
		"data/cashlessd/etc/tls/ca.pem":           0o644,
		"data/cashlessd/var":                      0o700,
		"data/cashlessd/etc":                      0o700,
		"data/cashlessd/bin/cashlessd.init":       0o755,
		"data/cashlessd/releases/" + release:      0o755,
		"system/etc/init/cashlessd.rc":            0o644,
	} {
		if got := d.mode(rel); got != want {
			t.Errorf("%s: mode %v, want %v", rel, got, want)
		}
	}
	if !d.running() || !d.exists("data/cashlessd/var/admin.sock") || !d.exists("data/cashlessd/var/cashless.db") {
		t.Fatalf("the daemon is not running on the device")
	}
	if !strings.Contains(out, "is running on the device") || !strings.Contains(out, "OK    config") {
		t.Errorf("no success report with diag:\n%s", out)
	}
	if raw, _ := os.ReadFile(filepath.Join(d.prefix, "var/cashlessd.log")); !bytes.Contains(raw, []byte("cashlessd ready")) {
		t.Errorf("the daemon's log file lacks its start: %q", raw)
	}

	// A broken upgrade: the binary runs `version` but cannot serve. The
	// health check fails, and the previous release comes back with its data.
	broken := writeFile(t, "cashlessd-broken", "#!/bin/sh\n[ \"$1\" = version ] && { echo 9.9.9-broken; exit 0; }\necho 'broken build' >&2\nexit 1\n", 0o755)
	// The health check waits out its whole timeout on a release that never
	// comes up, and stopping it waits out the supervisor's restart delay:
	// shorter ones here, still ample for the previous release, which comes
	// back within a second.
	d.extra = append(d.extra, "SIDELOAD_HEALTH_TIMEOUT=5", "CASHLESSD_RESTART_DELAY=1")
	code, out = d.sideload("--binary", broken, "--config", cfg)
	d.extra = d.extra[:len(d.extra)-2]
	if code != 1 || !strings.Contains(out, "rolled back to "+release) {
		t.Fatalf("broken upgrade: exit %d, want 1 with a roll back to %s", code, release)
	}
	if got := d.link("data/cashlessd/bin/cashlessd"); got != release {
		t.Errorf("after the roll back bin/cashlessd → %s, want %s", got, release)
	}
	if !d.running() || !d.exists("data/cashlessd/var/cashless.db") {
		t.Error("the previous release is not running again")
	}
	backups, _ := filepath.Glob(filepath.Join(d.prefix, "var/backup/cashless.db.*"))
	if len(backups) != 1 {
		t.Errorf("want one database backup from before the upgrade, got %v", backups)
	}

	// Removal keeps the data unless --purge.
	if code, _ := d.sideload("--remove"); code != 0 {
		t.Fatal("remove failed")
	}
	if d.running() {
		t.Error("still running after --remove")
	}
	for _, gone := range []string{"data/cashlessd/bin", "data/cashlessd/releases", "data/cashlessd/etc", "system/etc/init/cashlessd.rc"} {
		if d.exists(gone) {
			t.Errorf("%s left after --remove", gone)
		}
	}
	if !d.exists("data/cashlessd/var/cashless.db") {
		t.Error("--remove deleted the data")
	}
	if code, _ := d.sideload("--remove", "--purge"); code != 0 || d.exists("data/cashlessd") {
		t.Error("--purge left the data")
	}
}

// A device whose /system cannot be written (verity) fails before anything
// running is touched, and says what to do.
func TestSideloadReadOnlySystem(t *testing.T) {
	t.Parallel()
	d := newDevice(t)
	d.extra = []string{"FAKE_RO_SYSTEM=1"}
	bin := writeFile(t, "cashlessd", "#!/bin/sh\necho 1.0.0\n", 0o755)
	cfg := writeFile(t, "cashlessd.toml", deviceConfig, 0o644)
	code, out := d.sideload("--binary", bin, "--config", cfg)
	if code != 1 || !strings.Contains(out, "--no-boot-service") {
		t.Fatalf("exit %d, want 1 naming --no-boot-service", code)
	}
	if strings.Contains(d.calls(), "cashlessd.init stop") || d.exists("data/cashlessd/bin/cashlessd") {
		t.Error("the install went on after the boot service failed")
	}
	if code, _ := d.sideload("--binary", bin, "--config", cfg, "--no-boot-service", "--no-start"); code != 0 {
		t.Error("--no-boot-service --no-start failed")
	}
	if !d.exists("data/cashlessd/bin/cashlessd") || d.exists("system/etc/init/cashlessd.rc") {
		t.Error("--no-boot-service install incomplete")
	}
}

func TestSideloadUsage(t *testing.T) {
	t.Parallel()
	d := newDevice(t)
	if code, out := d.sideload(); code != 2 || !strings.Contains(out, "--config is required") {
		t.Errorf("no arguments: exit %d", code)
	}
	if code, _ := d.sideload("--bogus"); code != 2 {
		t.Errorf("unknown flag: exit %d", code)
	}
	start := time.Now()
	if code, out := d.sideload("--rollback"); code != 1 || !strings.Contains(out, "no previous release") {
		t.Errorf("rollback with nothing installed: exit %d", code)
	}
	if time.Since(start) > 30*time.Second {
		t.Error("slow")
	}
}
