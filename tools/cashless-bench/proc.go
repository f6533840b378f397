package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vinr/cashlessd/certs"
	"github.com/vinr/cashlessd/client"
)

const simKey = "ck_test_simulator"

// proc is a server under measurement, running as its own process.
type proc struct {
	cmd     *exec.Cmd
	base    string // https://addr
	metrics string // http://addr/metrics, cashlessd only
	pool    *x509.CertPool
	started time.Duration
}

// startCashlessd runs `cashlessd serve --simulator` on dataDir with metrics
// on, and waits until it is ready.
func startCashlessd(ctx context.Context, bin, dataDir string, extra ...string) (*proc, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	cfg := filepath.Join(dataDir, "bench.toml")
	if err := os.WriteFile(cfg, []byte("[metrics]\nlisten = \"127.0.0.1:0\"\n[settlement]\nauto = false\n[simulator_devices]\nhost_ledger = false\n[log]\nlevel = \"warn\"\n"), 0o600); err != nil {
		return nil, err
	}
	logPath := filepath.Join(dataDir, "bench.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.CommandContext(ctx, bin, append([]string{"serve", "--simulator", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--config", cfg}, extra...)...)
	cmd.Stderr = logFile
	cmd.Stdout = logFile
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd}
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		raw, _ := os.ReadFile(logPath)
		for _, line := range strings.Split(string(raw), "\n") {
			var rec struct{ Message, Listen, Metrics string }
			if json.Unmarshal([]byte(line), &rec) != nil {
				continue
			}
			switch rec.Message {
			case "metrics listening":
				p.metrics = "http://" + rec.Metrics + "/metrics"
			case "cashlessd ready":
				p.base = "https://" + rec.Listen
			}
		}
		if p.base != "" && p.metrics != "" {
			p.started = time.Since(begin)
			p.pool, err = certs.Pool(filepath.Join(dataDir, "certs", certs.CAFile))
			return p, err
		}
		if cmd.ProcessState != nil {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	p.stop()
	raw, _ := os.ReadFile(logPath)
	return nil, fmt.Errorf("cashlessd did not start:\n%s", raw)
}

// startBaseline re-runs this program as the baseline server for dir.
func startBaseline(ctx context.Context, dir string) (*proc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self, "-serve-baseline", dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("baseline did not start: %w", err)
	}
	p := &proc{cmd: cmd, base: "https://" + strings.TrimSpace(strings.TrimPrefix(line, "ready "))}
	p.pool, err = certs.Pool(filepath.Join(dir, "certs", certs.CAFile))
	return p, err
}

// stop ends the process gracefully.
func (p *proc) stop() {
	if p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(40 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// rss is the process's resident set size in bytes.
func (p *proc) rss() (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS")
}

// client makes an API client for the process with the simulator key;
// keepAlive false forces a full TLS handshake per request (no session
// resumption).
func (p *proc) client(keepAlive bool) *client.Client {
	return client.New(client.Config{BaseURL: p.base, Key: simKey, HTTPClient: &http.Client{Timeout: 150 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{RootCAs: p.pool, MinVersion: tls.VersionTLS12},
			DisableKeepAlives:   !keepAlive,
			MaxIdleConnsPerHost: 1,
		}}})
}

// metric reads one un-labelled value from the metrics endpoint.
func (p *proc) metric(name string) (float64, error) {
	resp, err := http.Get(p.metrics)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == name {
			return strconv.ParseFloat(f[1], 64)
		}
	}
	return 0, fmt.Errorf("metric %s not found", name)
}
