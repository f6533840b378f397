package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"github.com/vinr/cashlessd/internal/logbuf"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vinr/cashlessd/certs"
	"github.com/vinr/cashlessd/client"
)

const simKey = "ck_test_simulator"

// daemonUnderTest is a real cashlessd serving real TLS on a random loopback
// port, with its data in a real directory.
type daemonUnderTest struct {
	t       testing.TB
	dataDir string
	base    string
	client  *http.Client
	key     string
	logs    *logbuf.Buffer
	cancel  context.CancelFunc
	done    chan error
}

// startDaemon runs `cashlessd serve --simulator` on dataDir with extra
// arguments, and stops it when the test ends.
func startDaemon(t testing.TB, dataDir string, args ...string) *daemonUnderTest {
	t.Helper()
	return startDaemonWith(t, nil, dataDir, args...)
}

// startDaemonWith is startDaemon with a chance to adjust Main first.
func startDaemonWith(t testing.TB, adjust func(*Main), dataDir string, args ...string) *daemonUnderTest {
	t.Helper()
	logs := &logbuf.Buffer{}
	ready := make(chan net.Addr, 1)
	m := &Main{Stdout: io.Discard, Stderr: logs, Version: "1.2.3-test", Ready: func(a net.Addr) { ready <- a }}
	if adjust != nil {
		adjust(m)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &daemonUnderTest{t: t, dataDir: dataDir, key: simKey, logs: logs, cancel: cancel, done: make(chan error, 1)}
	full := append([]string{"serve", "--simulator", "--listen", "127.0.0.1:0", "--data-dir", dataDir}, args...)
	go func() { d.done <- m.Run(ctx, full) }()
	select {
	case addr := <-ready:
		d.base = "https://" + addr.String()
	case err := <-d.done:
		cancel()
		t.Fatalf("daemon did not start: %v\n%s", err, logs.String())
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatalf("daemon did not start in time\n%s", logs.String())
	}
	pool, err := certs.Pool(filepath.Join(dataDir, "certs", certs.CAFile))
	if err != nil {
		t.Fatal(err)
	}
	d.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
	}}
	t.Cleanup(d.stop)
	return d
}

// stop shuts the daemon down gracefully and waits for it.
func (d *daemonUnderTest) stop() {
	if d.cancel == nil {
		return
	}
	d.cancel()
	d.cancel = nil
	select {
	case err := <-d.done:
		if err != nil {
			d.t.Errorf("daemon exited with %v", err)
		}
	case <-time.After(60 * time.Second):
		d.t.Error("daemon did not stop")
	}
	d.client.CloseIdleConnections()
}

// response is a decoded answer.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

// post sends a JSON body (a string is sent as is) with the daemon's key.
func (d *daemonUnderTest) post(path string, body any) response {
	d.t.Helper()
	return d.postKey(path, body, d.key)
}

// postKey sends a JSON body (a string is sent as is) with key; an empty
// key sends no key header.
func (d *daemonUnderTest) postKey(path string, body any, key string) response {
	d.t.Helper()
	api := client.New(client.Config{BaseURL: d.base, Key: key, HTTPClient: d.client})
	res, err := api.Post(context.Background(), path, body)
	if err != nil {
		d.t.Fatalf("POST %s: %v", path, err)
	}
	r := response{status: res.StatusCode, header: res.Header, raw: res.Body}
	if len(res.Body) > 0 {
		if err := json.Unmarshal(res.Body, &r.body); err != nil {
			d.t.Fatalf("POST %s: body is not JSON: %q", path, res.Body)
		}
	}
	return r
}

// expect checks status and, for errors, the error code.
func (r response) expect(t testing.TB, status int, code string) response {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	if code != "" {
		e, _ := r.body["error"].(map[string]any)
		if e == nil || e["code"] != code {
			t.Fatalf("error code %v, want %s: %s", e, code, r.raw)
		}
		if msg, _ := e["message"].(string); msg == "" {
			t.Fatalf("error without message: %s", r.raw)
		}
	}
	return r
}

func (r response) str(key string) string {
	v, _ := r.body[key].(string)
	return v
}

func (r response) num(key string) int64 {
	v, ok := r.body[key].(float64)
	if !ok {
		return -1
	}
	return int64(v)
}

func (r response) obj(key string) map[string]any {
	v, _ := r.body[key].(map[string]any)
	return v
}

// card sets the simulated card.
func (d *daemonUnderTest) card(body map[string]any) {
	d.t.Helper()
	d.post("/simulator/v1/card", body).expect(d.t, 200, "")
}

// host sets the simulated host.
func (d *daemonUnderTest) host(body map[string]any) {
	d.t.Helper()
	d.post("/simulator/v1/host", body).expect(d.t, 200, "")
}

// sale runs a sale with an instant card.
func (d *daemonUnderTest) sale(ref string, amount int64) response {
	d.t.Helper()
	return d.post("/cashless/v1/sale", map[string]any{"amount": amount, "currency": "USD", "reference": ref})
}

// waitIdle polls status until the terminal is ready.
func (d *daemonUnderTest) waitIdle() response {
	d.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		r := d.post("/cashless/v1/status", map[string]any{})
		if r.str("status") == "ready" {
			return r
		}
		time.Sleep(20 * time.Millisecond)
	}
	d.t.Fatal("terminal stayed busy")
	return response{}
}

// waitBusy polls status until the terminal reports an active transaction
// at the stage.
func (d *daemonUnderTest) waitBusy(stage string) response {
	d.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		r := d.post("/cashless/v1/status", map[string]any{})
		if a := r.obj("activeTransaction"); a != nil && (stage == "" || a["stage"] == stage) {
			return r
		}
		time.Sleep(5 * time.Millisecond)
	}
	d.t.Fatalf("terminal never reached stage %q", stage)
	return response{}
}

// writeConfig writes a TOML file into the test's temp dir.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "cashlessd.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
