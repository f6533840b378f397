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

// proc is a server under measurement, running as its own process.
type proc struct {
	cmd     *exec.Cmd
	base    string // https://addr
	metrics string // http://addr/metrics, cashlessd only
	pool    *x509.CertPool
	key     string // the shared key clients present
	started time.Duration
}

// startCashlessd runs `cashlessd serve` (production mode) on dataDir with
// the configuration file cfg, and waits until it is ready. cfg must turn
// metrics on.
func startCashlessd(ctx context.Context, bin, dataDir, cfg string) (*proc, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	logPath := filepath.Join(dataDir, "bench.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.CommandContext(ctx, bin, "serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--config", cfg)
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

// startBaseline re-runs this program as the baseline server for dir
// (which holds body.json), checking key.
func startBaseline(ctx context.Context, dir, key string) (*proc, error) {
	if err := os.WriteFile(filepath.Join(dir, "key"), []byte(key), 0o600); err != nil {
		return nil, err
	}
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
	p := &proc{cmd: cmd, key: key, base: "https://" + strings.TrimSpace(strings.TrimPrefix(line, "ready "))}
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

// cpu is the CPU time (user and system) the process has used so far,
// from /proc/<pid>/stat (in clock ticks of 10 ms).
func (p *proc) cpu() (time.Duration, error) {
	return procCPU(p.cmd.Process.Pid)
}

// procCPU reads utime and stime of a process from /proc/<pid>/stat.
func procCPU(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces: count from after it.
	end := strings.LastIndexByte(string(raw), ')')
	if end < 0 {
		return 0, errors.New("unreadable /proc stat")
	}
	f := strings.Fields(string(raw[end+1:]))
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// clockTicks is USER_HZ, the unit of /proc's CPU times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// memoryUse is a process's resident memory: all of it, and how much of it
// is anonymous (heap, stacks) and file-backed (the bbolt file mapped in,
// the binary): file pages are the page cache's and can be dropped.
type memoryUse struct {
	rss, anon, file int64
}

// String formats m in MiB.
func (m memoryUse) String() string {
	return fmt.Sprintf("%.1f MiB (anon %.1f, file %.1f)", float64(m.rss)/mib, float64(m.anon)/mib, float64(m.file)/mib)
}

// memory reads VmRSS, RssAnon and RssFile from /proc/<pid>/status.
func (p *proc) memory() (memoryUse, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return memoryUse{}, err
	}
	var m memoryUse
	found := false
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		var dst *int64
		switch f[0] {
		case "VmRSS:":
			dst, found = &m.rss, true
		case "RssAnon:":
			dst = &m.anon
		case "RssFile:":
			dst = &m.file
		default:
			continue
		}
		kb, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return memoryUse{}, err
		}
		*dst = kb << 10
	}
	if !found {
		return memoryUse{}, errors.New("no VmRSS")
	}
	return m, nil
}

// client makes an API client for the process with the simulator key;
// keepAlive false forces a full TLS handshake per request (no session
// resumption).
func (p *proc) client(keepAlive bool) *client.Client {
	return client.New(client.Config{BaseURL: p.base, Key: p.key, HTTPClient: &http.Client{Timeout: 150 * time.Second,
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
