package main

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/vinr/cashlessd/discovery"
)

// envDaemonBinary hands the cashlessd built by TestMain to a test process
// re-run inside a private network namespace; envNetns marks that process.
const (
	envDaemonBinary = "CASHLESS_TEST_DAEMON_BINARY"
	envNetns        = "CASHLESS_TEST_IN_NETNS"
)

// inPrivateNetwork re-runs the calling test inside a new network namespace
// (unshare --net) whose only interface is a multicast-enabled loopback, so
// real multicast DNS flows between the daemon and the CLI and none of it
// can reach a real network. It returns true in the re-run process; in the
// parent it waits for the child and reports its result. Without the
// privilege to make a namespace (not root, no unshare) the test is skipped.
func inPrivateNetwork(t *testing.T) bool {
	t.Helper()
	if os.Getenv(envNetns) != "" {
		for _, args := range [][]string{{"link", "set", "lo", "up"}, {"link", "set", "lo", "multicast", "on"}} {
			if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
				t.Fatalf("ip %s: %v %s", strings.Join(args, " "), err, out)
			}
		}
		// The multicast route: the namespace has no default route.
		_ = exec.Command("ip", "route", "add", "224.0.0.0/4", "dev", "lo").Run()
		return true
	}
	if runtime.GOOS != "linux" {
		t.Skip("needs Linux network namespaces")
	}
	if daemonBinary == "" {
		t.Skip("the go tool is not installed, so cashlessd cannot be built")
	}
	for _, tool := range []string{"unshare", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (util-linux, iproute2) to make a private network namespace", tool)
		}
	}
	if err := exec.Command("unshare", "--net", "true").Run(); err != nil {
		t.Skipf("cannot make a network namespace here (needs root or CAP_SYS_ADMIN): %v", err)
	}
	cmd := exec.Command("unshare", "--net", "--", os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), envNetns+"=1", envDaemonBinary+"="+daemonBinary)
	out, err := cmd.CombinedOutput()
	t.Logf("in a private network namespace:\n%s", out)
	if err != nil {
		t.Fatalf("the test failed in its network namespace: %v", err)
	}
	if !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("the test did not pass in its network namespace")
	}
	return false
}

// TestDiscoverFindsSimulatorDaemon: a simulator daemon with discovery on
// announces itself over real multicast DNS on a loopback-only network;
// `cashless discover` lists it and `--terminal` reaches it by its ID.
func TestDiscoverFindsSimulatorDaemon(t *testing.T) {
	t.Parallel()
	if !inPrivateNetwork(t) {
		return
	}
	cfg := filepath.Join(t.TempDir(), "cashlessd.toml")
	if err := os.WriteFile(cfg, []byte(`terminal_id = "term_CT20_0042"
[discovery]
enabled = true
interfaces = ["lo"]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	// Right after start the daemon is still probing for its name; discover
	// must cope (it asks again on a partial answer).
	d := startDaemon(t, "--config", cfg)

	r := runCLI(t, nil, "discover", "--wait", "4s").want(t, exitOK, "term_CT20_0042", d.addr, "nexgo_ct20")
	t.Logf("cashless discover:\n%s", r.stdout)

	r = runCLI(t, nil, "discover", "--wait", "4s", "--json").want(t, exitOK)
	var found []discovery.Terminal
	if err := json.Unmarshal([]byte(r.stdout), &found); err != nil || len(found) != 1 {
		t.Fatalf("discover --json: %v %q", err, r.stdout)
	}
	pem, _ := os.ReadFile(filepath.Join(filepath.Dir(d.ca), "terminal.pem"))
	leaf := parsePEM(t, pem)
	sum := sha256.Sum256(leaf.Raw)
	if f := found[0]; f.TerminalID != "term_CT20_0042" || f.Address != d.addr || f.CertSHA256 != hex.EncodeToString(sum[:]) || f.Version == "" {
		t.Errorf("announced %+v; daemon at %s", f, d.addr)
	}

	env := map[string]string{"CASHLESS_CA": d.ca, "CASHLESS_KEY": simKey, "CASHLESS_ADDR": "https://192.0.2.1:1"}
	runCLI(t, env, "--terminal", "term_CT20_0042", "status").want(t, exitOK, "READY", "term_CT20_0042")
	runCLI(t, env, "--terminal", "term_CT20_0042", "sale", "--amount", "1250", "--currency", "USD", "--reference", "DISC-1").
		want(t, exitOK, "APPROVED")
	runCLI(t, env, "--terminal", "term_NOPE_0001", "status").want(t, exitTransport, "term_NOPE_0001 not found", "term_CT20_0042")
}

// Without discovery (the simulator's default) nothing answers.
func TestDiscoverSimulatorDefaultsOff(t *testing.T) {
	t.Parallel()
	if !inPrivateNetwork(t) {
		return
	}
	startDaemon(t)
	runCLI(t, nil, "discover", "--wait", "2s").want(t, exitTransport, "no terminal answered")
}

func parsePEM(t *testing.T, raw []byte) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(raw)
	if b == nil {
		t.Fatal("no certificate")
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
