package main

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"github.com/vinr/cashlessd/internal/logbuf"
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
	logs *logbuf.Buffer
}

// spawn runs `cashlessd args…` as a child process.
func spawn(t *testing.T, args ...string) *process {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: exec.Command(self, args...), logs: &logbuf.Buffer{}}
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
