package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vinr/cashlessd/diag"
	"github.com/vinr/cashlessd/tools/cashless-faults/faults"
)

// health is status's device and payment view.
type health struct {
	r response
}

func (d *daemonUnderTest) health() health {
	d.t.Helper()
	return health{d.post("/cashless/v1/status", map[string]any{}).expect(d.t, 200, "")}
}

// device is one device's state in status.
func (h health) device(name string) string {
	dev, _ := h.r.obj("devices")[name].(map[string]any)
	s, _ := dev["state"].(string)
	return s
}

// reasons are the codes of status's reasons.
func (h health) reasons() []string {
	var codes []string
	list, _ := h.r.body["reasons"].([]any)
	for _, r := range list {
		m, _ := r.(map[string]any)
		codes = append(codes, fmt.Sprint(m["code"]))
	}
	return codes
}

func (h health) canTransact() bool { return h.r.body["canTransact"] == true }

// waitHealth polls status until ok holds; the deadline only keeps a broken
// daemon from hanging the test.
func (d *daemonUnderTest) waitHealth(what string, ok func(health) bool) health {
	d.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var h health
	for time.Now().Before(deadline) {
		if h = d.health(); ok(h) {
			return h
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.t.Fatalf("status never showed %s: %s", what, h.r.raw)
	return h
}

// healthy is a terminal whose devices are all ok and that can take a
// payment.
func healthy(h health) bool {
	return h.canTransact() && len(h.reasons()) == 0 && h.device("reader") == "ok" &&
		h.device("printer") == "ok" && h.device("host") == "ok"
}

// checkSince checks every device's since is an RFC 3339 time.
func checkSince(t *testing.T, h health) {
	t.Helper()
	for _, name := range []string{"reader", "printer", "host"} {
		dev, _ := h.r.obj("devices")[name].(map[string]any)
		s, _ := dev["since"].(string)
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			t.Errorf("%s since %q: %v", name, s, err)
		}
	}
}

// runningDiag runs diag --json beside the running daemon d.
func runningDiag(t *testing.T, d *daemonUnderTest, args ...string) (diag.Report, map[string]diag.Check, error) {
	t.Helper()
	return diagJSON(t, append([]string{"--simulator", "--data-dir", d.dataDir}, args...)...)
}

func TestHealthOfAWorkingTerminal(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	h := d.waitHealth("every device ok", healthy)
	checkSince(t, h)
	if h.r.str("status") != "ready" {
		t.Errorf("%s", h.r.raw)
	}

	r, checks, err := runningDiag(t, d, "--key", simKey)
	if err != nil || !r.OK || r.Daemon == nil {
		t.Fatalf("diag beside a healthy daemon: %v %+v", err, checks)
	}
	for _, name := range []string{"reader", "printer", "host", "api", "payments"} {
		if c := checks[name]; c.Status != diag.OK {
			t.Errorf("%s: %+v", name, c)
		}
	}
	for _, name := range []string{"reader", "printer", "host"} {
		if c := checks[name]; !strings.Contains(c.Detail, "running daemon: ok") {
			t.Errorf("%s is not the running daemon's view: %+v", name, c)
		}
	}
	api := checks["api"].Detail
	for _, want := range []string{"answers TLS", "localhost", "chains to", "a wrong key gets 401", "--key is accepted"} {
		if !strings.Contains(api, want) {
			t.Errorf("api check lacks %q: %s", want, api)
		}
	}
	_, checks, err = runningDiag(t, d, "--key", "ck_live_not_this_one")
	if err == nil || checks["api"].Status != diag.Fail || !strings.Contains(checks["api"].Detail, "--key is refused (HTTP 401)") {
		t.Errorf("a wrong --key: %v %+v", err, checks["api"])
	}
}

func TestHealthReaderUnpluggedAndBack(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	d.waitHealth("every device ok", healthy)
	d.post("/simulator/v1/reader", map[string]any{"unplugged": true}).expect(t, 200, "")
	// The link's end is seen first (offline), then the reopen that finds
	// no device node (absent).
	h := d.waitHealth("the reader absent", func(h health) bool { return h.device("reader") == "absent" })
	if h.canTransact() || strings.Join(h.reasons(), ",") != "reader_offline" || h.r.str("status") != "ready" {
		t.Errorf("%s", h.r.raw)
	}
	checkSince(t, h)
	_, checks, err := runningDiag(t, d)
	if err == nil || checks["reader"].Status != diag.Fail || !strings.Contains(checks["reader"].Detail, "absent") ||
		checks["payments"].Status != diag.Fail || !strings.Contains(checks["payments"].Detail, "reader_offline") {
		t.Errorf("diag with the reader unplugged: %v %+v", err, checks)
	}
	if c := checks["host"]; c.Status != diag.OK {
		t.Errorf("host: %+v", c)
	}

	d.post("/simulator/v1/reader", map[string]any{"unplugged": false}).expect(t, 200, "")
	d.waitHealth("the reader back", healthy)
	d.card(map[string]any{"pan": "4242424242424242", "presentAfterMs": 0})
	d.sale("HEALTH-R1", 100).expect(t, 200, "")
}

func TestHealthDeadHost(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir(), "--config", writeConfig(t, "[host]\ntimeout = \"2s\"\necho_interval = \"1s\"\n"))
	d.waitHealth("every device ok", healthy)
	d.host(map[string]any{"offline": true})
	h := d.waitHealth("the host unreachable", func(h health) bool { return !h.canTransact() })
	if h.device("host") != "offline" || strings.Join(h.reasons(), ",") != "host_unreachable" || h.device("reader") != "ok" {
		t.Errorf("%s", h.r.raw)
	}
	_, checks, err := runningDiag(t, d)
	if err == nil || checks["host"].Status != diag.Fail || !strings.Contains(checks["host"].Detail, "offline") ||
		!strings.Contains(checks["payments"].Detail, "host_unreachable") {
		t.Errorf("diag with the host down: %v %+v", err, checks)
	}

	d.host(map[string]any{"offline": false})
	d.waitHealth("the host back", healthy)
	d.card(map[string]any{"pan": "4242424242424242", "presentAfterMs": 0})
	d.sale("HEALTH-H1", 100).expect(t, 200, "")
}

// A host that answers sign-on and echo but drops every financial answer
// is degraded, not ok.
func TestHealthBlackHoleHost(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir(), "--config", writeConfig(t, "[host]\ntimeout = \"1s\"\necho_interval = \"1s\"\n"))
	d.waitHealth("every device ok", healthy)
	d.card(map[string]any{"pan": "4242424242424242", "presentAfterMs": 0})
	d.host(map[string]any{"dropResponse": true})
	d.sale("HEALTH-B1", 100).expect(t, 503, "communication_error")
	h := d.health()
	if h.device("host") != "degraded" || h.device("reader") != "ok" {
		t.Fatalf("host after a lost answer: %s", h.r.raw)
	}
	dev, _ := h.r.obj("devices")["host"].(map[string]any)
	if msg, _ := dev["message"].(string); !strings.Contains(msg, "no answer") {
		t.Errorf("host message: %s", h.r.raw)
	}
	_, checks, err := runningDiag(t, d)
	if err == nil || checks["host"].Status != diag.Fail || !strings.Contains(checks["host"].Detail, "degraded") ||
		!strings.Contains(checks["host"].Detail, "unanswered") {
		t.Errorf("diag with a black-holing host: %v %+v", err, checks["host"])
	}

	d.host(map[string]any{"dropResponse": false})
	d.sale("HEALTH-B1", 100).expect(t, 200, "")
	d.waitHealth("the host answering again", healthy)
}

// A daemon started without its card reader says so in its log and its
// status, and takes no payment, instead of saying ready.
func TestHealthDaemonStartsWithoutItsReader(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if err := (&Main{Stdout: &out, Stderr: &errOut}).Run(context.Background(), []string{"key", "rotate", "--data-dir", dir}); err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(out.String())
	cfg := writeConfig(t, fmt.Sprintf(`
terminal_id = "term_HLTH_0001"
model = "nexgo_n86pro"
[reader]
device = %q
[host]
address = %q
tls = false
terminal_id = "HLTH0001"
merchant_id = "HEALTHMERCH0001"
`, filepath.Join(t.TempDir(), "no-such-reader"), startHostSim(t)))
	d := startDaemon(t, dir, "--simulator=false", "--config", cfg)
	d.key = key
	if logs := d.logs.String(); !strings.Contains(logs, "reader is absent") || !strings.Contains(logs, `"level":"warn"`) {
		t.Errorf("no warning about the missing reader:\n%s", logs)
	}
	h := d.health()
	if h.canTransact() || h.device("reader") != "absent" || h.device("printer") != "absent" ||
		strings.Join(h.reasons(), ",") != "reader_offline" {
		t.Errorf("%s", h.r.raw)
	}
	checkSince(t, h)

	_, checks, err := diagJSON(t, "--config", cfg, "--data-dir", dir, "--key", key)
	if err == nil || checks["reader"].Status != diag.Fail || checks["printer"].Status != diag.Skip ||
		checks["api"].Status != diag.OK || checks["payments"].Status != diag.Fail {
		t.Errorf("diag: %v %+v", err, checks)
	}
}

// A daemon on a read-only data directory cannot record a payment: status
// says so. Needs root to mount; skipped otherwise.
func TestHealthReadOnlyStorage(t *testing.T) {
	t.Parallel()
	mnt := filepath.Join(t.TempDir(), "tmpfs")
	if err := faults.MountTmpfs(mnt, 8<<20); err != nil {
		t.Skipf("no tmpfs for a read-only disk: %v", err)
	}
	t.Cleanup(func() { _ = faults.Unmount(mnt) })
	data := filepath.Join(mnt, "data")
	d := startDaemon(t, data)
	d.waitHealth("every device ok", healthy)
	d.stop()
	if err := faults.RemountReadOnly(mnt, true); err != nil {
		t.Fatal(err)
	}
	d = startDaemon(t, data)
	h := d.waitHealth("storage read-only", func(h health) bool { return !h.canTransact() })
	if strings.Join(h.reasons(), ",") != "storage_read_only" {
		t.Errorf("%s", h.r.raw)
	}
}
