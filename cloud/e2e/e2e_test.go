package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/certs"
	"github.com/vinr/cashlessd/cloud/fiuu"
	"github.com/vinr/cashlessd/cloud/relay"
	"github.com/vinr/cashlessd/cloud/server"
	"github.com/vinr/cashlessd/cloud/store"
)

// daemonBin and cloudBin are cashlessd and cashless-cloud, built once.
var daemonBin, cloudBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cloud-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	daemonBin, cloudBin = filepath.Join(dir, "cashlessd"), filepath.Join(dir, "cashless-cloud")
	build := exec.Command("go", "build", "-o", dir+string(filepath.Separator),
		"github.com/vinr/cashlessd/cmd/cashlessd", "github.com/vinr/cashlessd/cmd/cashless-cloud")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building cashlessd and cashless-cloud:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// client is an HTTPS client trusting one CA.
type client struct {
	t       *testing.T
	base    string
	http    *http.Client
	headers map[string]string
	skew    time.Duration
}

func newClient(t *testing.T, base, caFile string) *client {
	pool, err := certs.Pool(caFile)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	t.Cleanup(tr.CloseIdleConnections)
	return &client{t: t, base: base, http: &http.Client{Transport: tr, Timeout: 3 * time.Minute}, headers: map[string]string{}}
}

func (c *client) call(method, path string, body any) (int, map[string]any, []byte) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, m, raw
}

func (c *client) login(posID, password string) {
	c.t.Helper()
	status, m, raw := c.call("POST", "/auth/login", map[string]string{"posId": posID, "password": password})
	if status != 200 {
		c.t.Fatalf("login %s: %d %s", posID, status, raw)
	}
	c.headers["Authorization"] = "Bearer " + m["access"].(map[string]any)["token"].(string)
}

func (c *client) transfer(secret string, body map[string]any) (int, map[string]any) {
	c.t.Helper()
	if _, set := body["datetime"]; !set {
		body["datetime"] = time.Now().Add(c.skew).UTC().Format("20060102150405")
	}
	body["apiVersion"] = "v1"
	body["signature"] = fiuu.Sign(body, []byte(secret))
	status, m, _ := c.call("POST", "/api/transfer", body)
	return status, m
}

// terminal is a cashlessd simulator daemon process connected to the relay.
type terminal struct {
	id  string
	dir string
	lan *client
	cmd *exec.Cmd
	out *bytes.Buffer
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startTerminal starts a simulator daemon connected to the relay p.
func startTerminal(t *testing.T, p *server.Process, id string) *terminal {
	t.Helper()
	return startDaemon(t, id, "tls://"+p.NATSAddr.String(), p.CAFile)
}

// startDaemon starts a simulator daemon whose cloud link goes to cloudURL
// (one NATS URL or several, comma-separated), trusting the CAs in caFile.
func startDaemon(t *testing.T, id, cloudURL, caFile string) *terminal {
	t.Helper()
	dir := t.TempDir()
	addr := freePort(t)
	var out bytes.Buffer
	cmd := exec.Command(daemonBin, "serve", "--simulator", "--listen", addr, "--data-dir", dir, "--terminal-id", id,
		"--cloud", cloudURL, "--cloud-ca", caFile)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	term := &terminal{id: id, dir: dir, cmd: cmd, out: &out}
	t.Cleanup(func() {
		term.stop()
		if t.Failed() {
			t.Logf("%s output:\n%s", id, out.String())
		}
	})
	ca := filepath.Join(dir, "certs", "ca.pem")
	eventually(t, id+" serving", func() bool {
		_, err := os.Stat(ca)
		return err == nil
	})
	term.lan = newClient(t, "https://"+addr, ca)
	term.lan.headers["X-VINR-Cashless-Key"] = "ck_test_simulator"
	eventually(t, id+" answering on its LAN port", func() bool {
		req, _ := http.NewRequest("POST", term.lan.base+"/cashless/v1/status", strings.NewReader("{}"))
		req.Header.Set("X-VINR-Cashless-Key", "ck_test_simulator")
		req.Header.Set("Content-Type", "application/json")
		resp, err := term.lan.http.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return term
}

func (term *terminal) stop() {
	if term.cmd.Process != nil && term.cmd.ProcessState == nil {
		_ = term.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = term.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = term.cmd.Process.Kill()
			<-done
		}
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("never: %s", what)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func connected(p *server.Process, id string) func() bool {
	return func() bool {
		_, live := p.Relay.Presence(id)
		return live
	}
}

func code(m map[string]any) int {
	c, _ := m["code"].(float64)
	return int(c)
}

func sale(pos, merchant, device, ref, amount string) map[string]any {
	return map[string]any{"transType": "sale", "posId": pos, "merchantId": merchant, "deviceId": device, "referenceId": ref,
		"transData": map[string]any{"transAmt": amount, "paymentMethod": "bankCard"}}
}

// The end-to-end run: a relay with embedded NATS and two simulator
// daemons of different merchants, the whole cloudECR flow, the native
// passthrough and the merchants kept apart.
func TestRelayWithTwoSimulatorDaemons(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	p, err := server.Start(ctx, server.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), NATSListen: "127.0.0.1:0",
		NATSName: "e2e", Simulator: true, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	base := "https://" + p.HTTPAddr.String()
	const (
		pos1, pw1, mer1, secret1 = server.SimulatorPosID, server.SimulatorPassword, server.SimulatorMerchantID, server.SimulatorSecret
	)
	if _, err := p.Accounts.AddAccount(ctx, "shop2", store.KindMerchant, "", "Shop 2"); err != nil {
		t.Fatal(err)
	}
	sec2, err := p.Accounts.AddPOS(ctx, "pos2", "shop2", nil)
	if err != nil {
		t.Fatal(err)
	}

	a := startTerminal(t, p, "term_SIM_A001")
	b := startTerminal(t, p, "term_SIM_B001")
	// Both present the simulator credential: enrolled under the simulator merchant.
	eventually(t, "A connected", connected(p, a.id))
	eventually(t, "B connected", connected(p, b.id))

	ecr1 := newClient(t, base, p.CAFile)
	ecr1.login(pos1, pw1)
	ecr2 := newClient(t, base, p.CAFile)
	ecr2.login("pos2", sec2.Password)

	// Refresh keeps the old access token valid.
	ref := newClient(t, base, p.CAFile)
	_, m, _ := ref.call("POST", "/auth/login", map[string]string{"posId": pos1, "password": pw1})
	oldAccess := "Bearer " + m["access"].(map[string]any)["token"].(string)
	ref.headers["Authorization"] = "Bearer " + m["refresh"].(map[string]any)["token"].(string)
	if status, _, raw := ref.call("POST", "/auth/refresh", nil); status != 200 {
		t.Fatalf("refresh: %d %s", status, raw)
	}
	ref.headers["Authorization"] = oldAccess
	if status, _, raw := ref.call("GET", "/api/terminals", nil); status != 200 {
		t.Fatalf("the old access token after a refresh: %d %s", status, raw)
	}

	// B moves to shop2: the operator unbinds it, shop2's bind key binds it
	// on the terminal (the simulator's bind control).
	if err := p.Relay.Unbind(ctx, b.id, "operator"); err != nil {
		t.Fatal(err)
	}
	status, k, raw := ecr2.call("GET", "/api/bind-terminal-key", nil)
	if status != 200 {
		t.Fatalf("bind key: %d %s", status, raw)
	}
	req, _ := http.NewRequest("GET", base+"/api/bind-terminal-key?option=image", nil)
	req.Header.Set("Authorization", ecr2.headers["Authorization"])
	resp, err := ecr2.http.Do(req)
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("QR: %v %v", err, resp)
	}
	resp.Body.Close()
	eventually(t, "B bound to shop2", func() bool {
		status, m, _ := b.lan.call("POST", "/simulator/v1/bind", map[string]any{"key": k["key"]})
		return status == 200 && m["bound"] == true && m["merchantId"] == "shop2"
	})
	eventually(t, "B connected again", connected(p, b.id))
	// The key is single-use.
	if _, m, _ := b.lan.call("POST", "/simulator/v1/bind", map[string]any{"key": k["key"]}); m["bound"] == true {
		t.Fatalf("a used key bound again: %v", m)
	}

	// Express binding: unbind B, prebind it for shop2, and it binds without a key.
	if err := p.Relay.Unbind(ctx, b.id, "operator"); err != nil {
		t.Fatal(err)
	}
	if status, m, _ := ecr2.call("POST", "/api/prebind-terminals", map[string]any{"uniqueIds": []string{b.id}}); status != 200 || code(m) != 20000 {
		t.Fatalf("prebind: %d %v", status, m)
	}
	eventually(t, "B express-bound to shop2", func() bool {
		status, m, _ := b.lan.call("POST", "/simulator/v1/bind", map[string]any{})
		return status == 200 && m["bound"] == true && m["merchantId"] == "shop2"
	})
	eventually(t, "B connected after express bind", connected(p, b.id))

	// Each merchant sees only its own terminal.
	for _, c := range []struct {
		ecr  *client
		want string
	}{{ecr1, a.id}, {ecr2, b.id}} {
		eventually(t, c.want+" listed and connected", func() bool {
			_, m, _ := c.ecr.call("GET", "/api/terminals", nil)
			d, _ := m["data"].([]any)
			return len(d) == 1 && d[0].(map[string]any)["terminalId"] == c.want && d[0].(map[string]any)["connected"] == true
		})
	}

	// Signed sale on A through cloudECR.
	status, s1 := ecr1.transfer(secret1, sale(pos1, mer1, a.id, "E2E-1", "25.00"))
	if status != 200 || s1["statusCode"] != "00" {
		t.Fatalf("sale: %d %v", status, s1)
	}
	td := s1["transData"].(map[string]any)
	if td["transAmt"] != "25.00" || td["currency"] != "USD" || !fiuu.Verify(s1, []byte(secret1), s1["signature"].(string)) {
		t.Fatalf("sale answer: %v", s1)
	}
	transID := td["transId"].(string)
	// The terminal's own record agrees: 2500 minor units under the referenceId.
	if status, m, _ := a.lan.call("POST", "/cashless/v1/transaction", map[string]any{"reference": "E2E-1"}); status != 200 ||
		m["transactionId"] != transID || m["amount"] != float64(2500) {
		t.Fatalf("LAN lookup: %d %v", status, m)
	}
	// Repeated referenceId: the stored answer, same transId.
	if status, again := ecr1.transfer(secret1, sale(pos1, mer1, a.id, "E2E-1", "25.00")); status != 200 ||
		again["transData"].(map[string]any)["transId"] != transID {
		t.Fatalf("replay: %d %v", status, again)
	}
	if status, m := ecr1.transfer(secret1, sale(pos1, mer1, a.id, "E2E-1", "26.00")); status != 429 || code(m) != 42920 {
		t.Fatalf("reused referenceId: %d %v", status, m)
	}
	// getLast, then void by transId.
	if status, m := ecr1.transfer(secret1, map[string]any{"transType": "getLast", "posId": pos1, "merchantId": mer1, "deviceId": a.id,
		"referenceId": "E2E-GL"}); status != 200 || m["referenceId"] != "E2E-1" || m["statusCode"] != "00" {
		t.Fatalf("getLast: %d %v", status, m)
	}
	if status, m := ecr1.transfer(secret1, map[string]any{"transType": "void", "posId": pos1, "merchantId": mer1, "deviceId": a.id,
		"referenceId": "E2E-1", "transData": map[string]any{"transId": transID}}); status != 200 || m["statusCode"] != "00" {
		t.Fatalf("void: %d %v", status, m)
	}
	// A decline (the simulator's 900.51 test amount) is statusCode 11, responseCode 51.
	if status, m := ecr1.transfer(secret1, sale(pos1, mer1, a.id, "E2E-2", "900.51")); status != 200 || m["statusCode"] != "11" || m["responseCode"] != "51" {
		t.Fatalf("decline: %d %v", status, m)
	}
	// Bad signature and stale datetime.
	bad := sale(pos1, mer1, a.id, "E2E-3", "1.00")
	bad["datetime"] = time.Now().UTC().Format("20060102150405")
	bad["apiVersion"] = "v1"
	bad["signature"] = fiuu.Sign(bad, []byte("not the secret"))
	if status, m, _ := ecr1.call("POST", "/api/transfer", bad); status != 400 || code(m) != 40026 {
		t.Fatalf("bad signature: %d %v", status, m)
	}
	stale := sale(pos1, mer1, a.id, "E2E-4", "1.00")
	stale["datetime"] = time.Now().Add(-2 * time.Hour).UTC().Format("20060102150405")
	if status, m := ecr1.transfer(secret1, stale); status != 400 || code(m) != 40027 {
		t.Fatalf("stale datetime: %d %v", status, m)
	}

	// Native passthrough: the terminal's own answer, through the relay.
	status, n, _ := ecr2.call("POST", "/cashless/v1/terminals/"+b.id+"/sale", map[string]any{"amount": 1200, "currency": "USD", "reference": "NAT-1"})
	if status != 200 || n["status"] != "approved" || n["reference"] != "NAT-1" {
		t.Fatalf("native sale: %d %v", status, n)
	}
	if status, m, _ := b.lan.call("POST", "/cashless/v1/transaction", map[string]any{"reference": "NAT-1"}); status != 200 || m["transactionId"] != n["transactionId"] {
		t.Fatalf("LAN lookup of the native sale: %d %v", status, m)
	}
	status, again, _ := ecr2.call("POST", "/cashless/v1/terminals/"+b.id+"/sale", map[string]any{"amount": 1200, "currency": "USD", "reference": "NAT-1"})
	if status != 200 || again["transactionId"] != n["transactionId"] {
		t.Fatalf("native replay: %d %v", status, again)
	}

	// Merchants cannot see or drive each other's terminals.
	if status, m, _ := ecr2.call("POST", "/cashless/v1/terminals/"+a.id+"/status", map[string]any{}); status != 403 {
		t.Fatalf("shop2 reached A natively: %d %v", status, m)
	}
	if status, m := ecr2.transfer(sec2.Secret, sale("pos2", "shop2", a.id, "X-1", "1.00")); status != 403 || code(m) != 40317 {
		t.Fatalf("shop2 reached A through cloudECR: %d %v", status, m)
	}
	if status, m := ecr1.transfer(secret1, sale(pos1, mer1, b.id, "X-2", "1.00")); status != 403 || code(m) != 40317 {
		t.Fatalf("the simulator merchant reached B: %d %v", status, m)
	}

	// A terminal that is not connected.
	b.stop()
	eventually(t, "the server dropped B's connection", func() bool {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		_, err := p.Relay.Call(ctx, b.id, "status", []byte("{}"), "")
		return errors.Is(err, relay.ErrNotConnected)
	})
	if status, m := ecr2.transfer(sec2.Secret, sale("pos2", "shop2", b.id, "OFF-1", "1.00")); status != 503 || code(m) != 50310 {
		t.Fatalf("terminal not connected: %d %v", status, m)
	}
}
