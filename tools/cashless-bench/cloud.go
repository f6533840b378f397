package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vinr/cashlessd/certs"
	"github.com/vinr/cashlessd/cloud/faketerm"
	"github.com/vinr/cashlessd/daemon/api/wire"
)

// relayProc is cashless-cloud running as its own process.
type relayProc struct {
	proc
	nats, ca string
}

var relayReady = regexp.MustCompile(`cashless-cloud on https://(\S+), terminals connect to (tls://\S+) \(development CA (\S+)\)`)

// startRelay runs `cashless-cloud serve --simulator` and waits for its line.
func startRelay(ctx context.Context, bin, dataDir string) (*relayProc, error) {
	cmd := exec.CommandContext(ctx, bin, "serve", "--simulator", "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	m := relayReady.FindStringSubmatch(line)
	if err != nil || m == nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("cashless-cloud did not start: %q %v", line, err)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	p := &relayProc{proc: proc{cmd: cmd, base: "https://" + m[1]}, nats: m[2], ca: m[3]}
	p.pool, err = certs.Pool(p.ca)
	return p, err
}

// relayClient calls the relay with a POS access token.
type relayClient struct {
	http  *http.Client
	base  string
	token string
}

func (c *relayClient) do(ctx context.Context, method, path, body string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader([]byte(body)))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

// meanCall times n sequential calls and returns the mean in milliseconds.
func meanCall(n int, call func(i int) error) (float64, error) {
	start := time.Now()
	for i := range n {
		if err := call(i); err != nil {
			return 0, err
		}
	}
	return float64(time.Since(start).Microseconds()) / 1000 / float64(n), nil
}

// The simulator terminal's ID and shared key.
const (
	simTerminal  = "term_SIM_0001"
	simulatorKey = "ck_test_simulator"
)

func benchCloud(ctx context.Context, s settings, r *report) error {
	if s.cloud == "" {
		r.note("cloud relay figures skipped (no -cloud binary)")
		return nil
	}
	dir, err := os.MkdirTemp("", "cashless-bench-cloud-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	rp, err := startRelay(ctx, s.cloud, filepath.Join(dir, "relay"))
	if err != nil {
		return err
	}
	defer rp.stop()
	cfg := filepath.Join(dir, "terminal.toml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("simulator = true\ncurrency = \"USD\"\n[metrics]\nlisten = \"127.0.0.1:0\"\n"+
		"[settlement]\nauto = false\n[log]\nlevel = \"warn\"\n[cloud]\nurl = %q\nca_file = %q\n", rp.nats, rp.ca)), 0o600); err != nil {
		return err
	}
	term, err := startCashlessd(ctx, s.daemon, filepath.Join(dir, "terminal"), cfg)
	if err != nil {
		return err
	}
	defer term.stop()
	term.key = simulatorKey
	rc := &relayClient{base: rp.base, http: &http.Client{Timeout: 150 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: rp.pool, MinVersion: tls.VersionTLS12}, MaxIdleConnsPerHost: 100}}}
	status, body, err := rc.do(ctx, "POST", "/auth/login", `{"posId":"fiuuPos1","password":"ck_test_simulator"}`)
	if err != nil || status != 200 {
		return fmt.Errorf("login: %d %s %v", status, body, err)
	}
	var tok struct {
		Access struct{ Token string } `json:"access"`
	}
	if err := json.Unmarshal(body, &tok); err != nil {
		return err
	}
	rc.token = tok.Access.Token
	statusPath := "/cashless/v1/terminals/" + simTerminal + "/status"
	for deadline := time.Now().Add(60 * time.Second); ; {
		if st, _, err := rc.do(ctx, "POST", statusPath, "{}"); err == nil && st == 200 {
			break
		}
		if time.Now().After(deadline) {
			return errors.New("the terminal never answered through the relay")
		}
		time.Sleep(100 * time.Millisecond)
	}
	lan := term.client(true)
	if st, raw, err := post(ctx, lan, wire.PathSimCard, `{"presentAfterMs":0}`); err != nil || st != 200 {
		return fmt.Errorf("card: %d %s %v", st, raw, err)
	}

	// Status and sale: the same calls on the LAN port and through the relay.
	n := s.cloudCalls
	lanStatus, err := meanCall(n, func(int) error { return okStatus(post(ctx, lan, wire.PathStatus, "{}")) })
	if err != nil {
		return err
	}
	relayStatus, err := meanCall(n, func(int) error { return okStatus(rc.do(ctx, "POST", statusPath, "{}")) })
	if err != nil {
		return err
	}
	r.compare("cloud: status latency through the relay (floor: LAN port)", "ms", relayStatus, lanStatus, "-", true)
	sale := func(prefix string, i int) string {
		return fmt.Sprintf(`{"amount":%d,"currency":"USD","reference":"%s-%d"}`, 100+i%900, prefix, i)
	}
	lanSale, err := meanCall(n, func(i int) error { return okStatus(post(ctx, lan, wire.PathSale, sale("LAN", i))) })
	if err != nil {
		return err
	}
	salePath := "/cashless/v1/terminals/" + simTerminal + "/sale"
	relaySale, err := meanCall(n, func(i int) error { return okStatus(rc.do(ctx, "POST", salePath, sale("CLOUD", i))) })
	if err != nil {
		return err
	}
	r.compare("cloud: sale latency through the relay (floor: LAN port)", "ms", relaySale, lanSale, "-", true)

	// Requests per second through one relay (status, 50 keep-alive clients).
	var done atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	lctx, cancel := context.WithTimeout(ctx, s.window)
	for range s.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lctx.Err() == nil {
				st, _, err := rc.do(lctx, "POST", statusPath, "{}")
				if lctx.Err() != nil {
					return
				}
				if err != nil || st != 200 {
					firstErr.CompareAndSwap(nil, fmt.Sprintf("status through the relay: %d %v", st, err))
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	cancel()
	if e := firstErr.Load(); e != nil {
		return errors.New(e.(string))
	}
	r.figure(fmt.Sprintf("cloud: status requests/s through one relay (%d clients, one terminal)", s.clients),
		fmt.Sprintf("%.0f /s", float64(done.Load())/s.window.Seconds()), "-", true)

	// Idle terminal connections: the relay's resident memory per connection.
	before, err := rp.memory()
	if err != nil {
		return err
	}
	var terms []*faketerm.Terminal
	defer func() {
		for _, t := range terms {
			t.Close()
		}
	}()
	idle := func(string, []byte) (int, []byte) { return 200, []byte(`{}`) }
	for i := range s.idleTerminals {
		t, err := faketerm.Connect(fmt.Sprintf("term_IDLE_%05d", i), faketerm.Options{URL: rp.nats, CAFile: rp.ca, Simulator: true, Handler: idle})
		if err != nil {
			return fmt.Errorf("idle terminal %d: %w", i, err)
		}
		terms = append(terms, t)
	}
	time.Sleep(2 * time.Second)
	after, err := rp.memory()
	if err != nil {
		return err
	}
	per := float64(after.anon-before.anon) / float64(len(terms))
	r.figure(fmt.Sprintf("cloud: relay memory per idle terminal connection (%d held, TLS, bound; anonymous memory)", len(terms)),
		fmt.Sprintf("%.1f KiB (RSS %d → %d MiB)", per/1024, before.rss>>20, after.rss>>20), "-", true)
	return nil
}

func okStatus(status int, body []byte, err error) error {
	if err != nil {
		return err
	}
	if status != 200 {
		return fmt.Errorf("status %d: %s", status, body)
	}
	return nil
}
