package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	apiclient "github.com/vinr/cashlessd/client"
)

// The CLI is tested in-process against a real cashlessd: the daemon's
// package is a main package, so TestMain builds its binary once and each
// test runs it in simulator mode on a random loopback port.

// daemonBinary is the cashlessd built by TestMain; empty when the go tool
// is missing (the tests that need it skip).
var daemonBinary string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	// A test re-run in another network namespace (discover_test.go) gets
	// the binary its parent built.
	if bin := os.Getenv(envDaemonBinary); bin != "" {
		daemonBinary = bin
		return m.Run()
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "cashless-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "cashlessd")
	build := exec.Command(goTool, "build", "-o", bin, "../cashlessd")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building cashlessd for the tests:", err)
		return 1
	}
	daemonBinary = bin
	return m.Run()
}

const simKey = "ck_test_simulator"

// testDaemon is a running `cashlessd serve --simulator`.
type testDaemon struct {
	dataDir string
	addr    string // https://127.0.0.1:PORT
	ca      string // the development CA bundle
	logs    *lines
	client  *apiclient.Client
}

// lines collects the daemon's log lines.
type lines struct {
	mu  sync.Mutex
	all []string
}

func (l *lines) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = append(l.all, s)
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.all, "\n")
}

// startDaemon runs cashlessd in simulator mode until the test ends.
func startDaemon(t *testing.T, args ...string) *testDaemon {
	t.Helper()
	if daemonBinary == "" {
		t.Skip("the go tool is not installed, so cashlessd cannot be built")
	}
	dataDir := t.TempDir()
	cmd := exec.Command(daemonBinary, append([]string{"serve", "--simulator", "--listen", "127.0.0.1:0", "--data-dir", dataDir}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := &lines{}
	ready := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			logs.add(sc.Text())
			var l struct {
				Message string `json:"message"`
				Listen  string `json:"listen"`
			}
			if json.Unmarshal(sc.Bytes(), &l) == nil && l.Message == "cashlessd ready" && l.Listen != "" {
				select {
				case ready <- l.Listen:
				default:
				}
			}
		}
	}()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-scanned:
		case <-time.After(45 * time.Second):
			_ = cmd.Process.Kill()
			<-scanned
			t.Errorf("cashlessd did not stop on SIGTERM\n%s", logs)
		}
		_ = cmd.Wait()
	}
	var listen string
	select {
	case listen = <-ready:
	case <-scanned:
		_ = cmd.Wait()
		t.Fatalf("cashlessd exited before it was ready\n%s", logs)
	case <-time.After(30 * time.Second):
		stop()
		t.Fatalf("cashlessd was not ready in time\n%s", logs)
	}
	t.Cleanup(stop)

	d := &testDaemon{dataDir: dataDir, addr: "https://" + listen, ca: filepath.Join(dataDir, "certs", "ca.pem"), logs: logs}
	pem, err := os.ReadFile(d.ca)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	d.client = apiclient.New(apiclient.Config{BaseURL: d.addr, Key: simKey, RootCAs: pool})
	t.Cleanup(d.client.CloseIdleConnections)
	return d
}

// post calls the daemon directly (the simulator controls, status polls).
func (d *testDaemon) post(t *testing.T, path, body string) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := d.client.Post(ctx, path, body)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	var out map[string]any
	if err := json.Unmarshal(res.Body, &out); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("POST %s %s: %d %s", path, body, res.StatusCode, res.Body)
	}
	return out
}

// card chooses the simulated card.
func (d *testDaemon) card(t *testing.T, body string) {
	t.Helper()
	d.post(t, "/simulator/v1/card", body)
}

// waitReady polls status until no transaction is active.
func (d *testDaemon) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if d.post(t, "/cashless/v1/status", "{}")["status"] == "ready" {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the terminal stayed busy")
}

// waitStage polls status until a transaction is active at the stage.
func (d *testDaemon) waitStage(t *testing.T, stage string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		st := d.post(t, "/cashless/v1/status", "{}")
		if a, _ := st["activeTransaction"].(map[string]any); a != nil && a["stage"] == stage {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no transaction reached the stage %s", stage)
}

// env is the CLI's environment pointing at d.
func (d *testDaemon) env() map[string]string {
	return map[string]string{"CASHLESS_ADDR": d.addr, "CASHLESS_CA": d.ca, "CASHLESS_KEY": simKey}
}

// cli runs cashless against d.
func (d *testDaemon) cli(t *testing.T, args ...string) result {
	t.Helper()
	return runCLI(t, d.env(), args...)
}

// result is one CLI run.
type result struct {
	code   int
	stdout string
	stderr string
}

// runCLI runs cashless in-process with env as its whole environment.
func runCLI(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errOut, Version: "test", LookupEnv: func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}}
	err := m.Run(context.Background(), args)
	return result{code: exitCode(err), stdout: out.String(), stderr: errOut.String()}
}

// want checks the exit code and that stdout (or stderr) contains each text.
func (r result) want(t *testing.T, code int, texts ...string) result {
	t.Helper()
	if r.code != code {
		t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	for _, s := range texts {
		if !strings.Contains(r.stdout, s) && !strings.Contains(r.stderr, s) {
			t.Errorf("output lacks %q\nstdout:\n%s\nstderr:\n%s", s, r.stdout, r.stderr)
		}
	}
	return r
}
