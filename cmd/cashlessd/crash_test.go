package main

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vinr/cashlessd/certs"
	"github.com/vinr/cashlessd/daemon/host/hostsim"
)

// process is this test binary running as cashlessd in a child process.
type process struct {
	cmd  *exec.Cmd
	logs *syncBuffer
}

// spawn runs `cashlessd args…` as a child process.
func spawn(t *testing.T, args ...string) *process {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: exec.Command(self, args...), logs: &syncBuffer{}}
	p.cmd.Env = append(os.Environ(), "CASHLESSD_AS_MAIN=1")
	p.cmd.Stderr = p.logs
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
	})
	return p
}

// startHostProcess runs the host simulator as its own process.
func startHostProcess(t *testing.T, ledger string, extra ...string) (string, *process) {
	t.Helper()
	p := spawn(t, append([]string{"hostsim", "--listen", "127.0.0.1:0", "--ledger", ledger}, extra...)...)
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("hostsim: %v\n%s", err, p.logs.String())
	}
	return strings.TrimSpace(addr), p
}

// startDaemonProcess runs serve as its own process and returns a client
// for it.
func startDaemonProcess(t *testing.T, dataDir, cfg string) (*daemonUnderTest, *process) {
	t.Helper()
	p := spawn(t, "serve", "--simulator", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--config", cfg)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(p.logs.String(), "\n") {
			var rec struct{ Message, Listen string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Message == "cashlessd ready" {
				pool, err := certs.Pool(filepath.Join(dataDir, "certs", certs.CAFile))
				if err != nil {
					t.Fatal(err)
				}
				d := &daemonUnderTest{t: t, dataDir: dataDir, key: simKey, logs: p.logs, base: "https://" + rec.Listen,
					client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
				return d, p
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("daemon did not start:\n%s", p.logs.String())
	return nil, nil
}

func TestKillDuringAuthorisationIsReversedAtRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ledger := filepath.Join(dir, "host-ledger.json")
	addr, _ := startHostProcess(t, ledger, "--latency", "2s")
	cfg := writeConfig(t, fmt.Sprintf("[host]\naddress = %q\ntimeout = \"10s\"\n", addr))
	data := filepath.Join(dir, "data")

	d, p := startDaemonProcess(t, data, cfg)
	d.card(map[string]any{"presentAfterMs": 0})
	sale := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, d.base+"/cashless/v1/sale", strings.NewReader(`{"amount":4321,"currency":"USD","reference":"KILL-1"}`))
		req.Header.Set("X-VINR-Cashless-Key", simKey)
		_, err := d.client.Do(req)
		sale <- err
	}()
	// Wait until the host has booked the authorisation, then pull the plug.
	deadline := time.Now().Add(20 * time.Second)
	for {
		l, _ := hostsim.ReadLedger(ledger)
		if len(l.Approvals) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the host never saw the sale:\n%s", p.logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
	if err := <-sale; err == nil {
		t.Fatal("the ECR got an answer from a killed daemon")
	}

	d2, _ := startDaemonProcess(t, data, cfg)
	st := d2.post("/cashless/v1/status", "{}").expect(t, 200, "")
	lt := st.obj("lastTransaction")
	if lt["reference"] != "KILL-1" || lt["status"] != "failed" || st.num("pendingReversals") != 0 {
		t.Fatalf("after restart: %s", st.raw)
	}
	l, err := hostsim.ReadLedger(ledger)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Approvals) != 1 || !l.Approvals[0].Reversed {
		t.Fatalf("the host still holds the money: %+v", l.Approvals)
	}
	// The ECR retries the reference: one approval stands at the end.
	d2.card(map[string]any{"presentAfterMs": 0})
	d2.sale("KILL-1", 4321).expect(t, 200, "")
}

func TestSettlementTotalsMatchTheHostLedger(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := startDaemon(t, dir)
	d.card(map[string]any{"presentAfterMs": 0})
	d.sale("L-1", 1000).expect(t, 200, "")
	d.sale("L-2", 2500).expect(t, 200, "")
	d.post("/cashless/v1/refund", map[string]any{"originalReference": "L-2", "amount": 500, "currency": "USD", "reference": "L-R"}).expect(t, 200, "")
	d.post("/cashless/v1/preauth", map[string]any{"amount": 7000, "currency": "USD", "reference": "L-P"}).expect(t, 200, "")
	d.post("/cashless/v1/preauth/complete", map[string]any{"originalReference": "L-P", "captureAmount": 6000, "currency": "USD", "reference": "L-C"}).expect(t, 200, "")
	b := d.post("/cashless/v1/batch/close", map[string]any{"reference": "EOD-L"}).expect(t, 200, "")
	again := d.post("/cashless/v1/batch/close", map[string]any{"reference": "EOD-L"}).expect(t, 200, "")
	if again.str("batchId") != b.str("batchId") {
		t.Fatal("repeat close returned another batch")
	}
	l, err := hostsim.ReadLedger(filepath.Join(dir, "hostsim", "ledger.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Settlements) != 1 {
		t.Fatalf("settled %d times: %+v", len(l.Settlements), l.Settlements)
	}
	s := l.Settlements[0]
	if s.ResponseCode != "00" || s.Host != s.Terminal {
		t.Fatalf("%+v", s)
	}
	if s.Host.CaptureCount != 3 || s.Host.CaptureAmount != 9500 || s.Host.RefundCount != 1 || s.Host.RefundAmount != 500 {
		t.Fatalf("host totals %+v", s.Host)
	}
	if b.num("totalAmount") != s.Host.CaptureAmount-s.Host.RefundAmount || b.num("transactionCount") != s.Host.CaptureCount+s.Host.RefundCount {
		t.Fatalf("terminal %s vs host %+v", b.raw, s.Host)
	}
}

func TestMismatchedBatchIsUploadedAndSettledOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := startDaemon(t, dir)
	d.card(map[string]any{"presentAfterMs": 0})
	lost := d.sale("M-1", 1000).expect(t, 200, "")
	d.sale("M-2", 2000).expect(t, 200, "")
	// The host "loses" the first approval: its totals now differ.
	d.host(map[string]any{"forgetTransaction": lost.str("transactionId")})
	b := d.post("/cashless/v1/batch/close", map[string]any{"reference": "EOD-M"}).expect(t, 200, "")
	if b.num("totalAmount") != 3000 || b.num("transactionCount") != 2 {
		t.Fatalf("%s", b.raw)
	}
	l, err := hostsim.ReadLedger(filepath.Join(dir, "hostsim", "ledger.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ok []hostsim.Settlement
	for _, s := range l.Settlements {
		if s.ResponseCode == "00" {
			ok = append(ok, s)
		}
	}
	if len(ok) != 1 || ok[0].Host.CaptureAmount != 3000 || !ok[0].AfterUpload {
		t.Fatalf("settlements: %+v", l.Settlements)
	}
	d.post("/cashless/v1/batch/close", map[string]any{"reference": "EOD-M"}).expect(t, 200, "")
}
