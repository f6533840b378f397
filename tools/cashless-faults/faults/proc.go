package faults

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vinr/cashlessd/certs"
)

// Launcher starts cashlessd processes: the real binary, or a test binary
// that acts as cashlessd when Env says so (CASHLESSD_AS_MAIN=1).
type Launcher struct {
	Binary string
	Env    []string
}

func (l Launcher) command(args ...string) *exec.Cmd {
	cmd := exec.Command(l.Binary, args...)
	cmd.Env = append(os.Environ(), l.Env...)
	return cmd
}

// Proc is one child process with its stderr kept in a log file.
type Proc struct {
	cmd     *exec.Cmd
	log     *lineLog
	done    chan struct{}
	waitErr error
	started time.Time
	exited  time.Time
}

// Pid is the process ID.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// ExitErr is what Wait returned; valid after Done.
func (p *Proc) ExitErr() error { return p.waitErr }

// ExitedAt is when the exit was seen; valid after Done.
func (p *Proc) ExitedAt() time.Time { return p.exited }

// Signal sends sig to the process.
func (p *Proc) Signal(sig syscall.Signal) error { return p.cmd.Process.Signal(sig) }

// Kill sends SIGKILL and waits for the exit.
func (p *Proc) Kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Wait waits up to d for the exit.
func (p *Proc) Wait(d time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(d):
		return false
	}
}

// Log is everything the process wrote to stderr so far.
func (p *Proc) Log() string { return p.log.String() }

// start runs cmd with stderr appended to logPath; onLine sees every line.
func start(cmd *exec.Cmd, logPath string, onLine func(string)) (*Proc, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	ll := &lineLog{file: f, onLine: onLine}
	cmd.Stderr = ll
	p := &Proc{cmd: cmd, log: ll, done: make(chan struct{}), started: time.Now()}
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return nil, err
	}
	go func() {
		p.waitErr = cmd.Wait()
		p.exited = time.Now()
		ll.flush()
		_ = f.Close()
		close(p.done)
	}()
	return p, nil
}

// lineLog writes a process's stderr to a file, keeps this run's part in
// memory and hands every complete line to onLine.
type lineLog struct {
	mu     sync.Mutex
	file   *os.File
	mem    bytes.Buffer
	part   []byte
	onLine func(string)
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.file.Write(p)
	l.mem.Write(p)
	if l.onLine == nil {
		return len(p), nil
	}
	l.part = append(l.part, p...)
	for {
		i := bytes.IndexByte(l.part, '\n')
		if i < 0 {
			break
		}
		l.onLine(string(l.part[:i]))
		l.part = l.part[i+1:]
	}
	return len(p), nil
}

func (l *lineLog) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.part) > 0 && l.onLine != nil {
		l.onLine(string(l.part))
	}
	l.part = nil
}

func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mem.String()
}

// StartHost runs `cashlessd hostsim` and returns its address.
func (l Launcher) StartHost(ledger, logPath string, extra ...string) (string, *Proc, error) {
	cmd := l.command(append([]string{"hostsim", "--listen", "127.0.0.1:0", "--ledger", ledger}, extra...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	p, err := start(cmd, logPath, nil)
	if err != nil {
		return "", nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		p.Kill()
		return "", nil, fmt.Errorf("hostsim did not start: %v\n%s", err, p.Log())
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	return strings.TrimSpace(line), p, nil
}

// Daemon is a running `cashlessd serve --simulator`.
type Daemon struct {
	*Proc
	DataDir string
	Listen  string // host:port of the API
	Metrics string // host:port of /metrics, when configured
	ready   chan struct{}
}

// StartDaemon starts serve on dataDir with the config file and does not
// wait: Ready is closed when the daemon logs that it listens.
func (l Launcher) StartDaemon(dataDir, cfg, logPath string) (*Daemon, error) {
	d := &Daemon{DataDir: dataDir, ready: make(chan struct{})}
	var once sync.Once
	var mu sync.Mutex
	onLine := func(line string) {
		var rec struct{ Message, Listen, Metrics string }
		if json.Unmarshal([]byte(line), &rec) != nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		switch rec.Message {
		case "metrics listening":
			d.Metrics = rec.Metrics
		case "cashlessd ready":
			d.Listen = rec.Listen
			once.Do(func() { close(d.ready) })
		}
	}
	args := []string{"serve", "--simulator", "--listen", "127.0.0.1:0", "--data-dir", dataDir}
	if cfg != "" {
		args = append(args, "--config", cfg)
	}
	p, err := start(l.command(args...), logPath, onLine)
	if err != nil {
		return nil, err
	}
	d.Proc = p
	return d, nil
}

// Ready is closed once the daemon listens.
func (d *Daemon) Ready() <-chan struct{} { return d.ready }

// errExited means the daemon exited before it was ready.
var errExited = errors.New("cashlessd exited before it was ready")

// WaitReady waits until the daemon listens, exits, or the timeout passes.
func (d *Daemon) WaitReady(ctx context.Context, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-d.ready:
		return nil
	case <-d.done:
		return fmt.Errorf("%w (%v):\n%s", errExited, d.waitErr, tail(d.Log(), 2000))
	case <-t.C:
		d.Kill()
		return fmt.Errorf("cashlessd not ready after %s:\n%s", timeout, tail(d.Log(), 2000))
	case <-ctx.Done():
		d.Kill()
		return ctx.Err()
	}
}

// ECR returns a client for the daemon's API.
func (d *Daemon) ECR() (*ECR, error) {
	return NewECR("https://"+d.Listen, filepath.Join(d.DataDir, "certs", certs.CAFile))
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
