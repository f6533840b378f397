package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/vinr/cashlessd/cloud/link"
	"github.com/vinr/cashlessd/internal/natstest"
)

// simTerminalID is the terminal ID simulator mode takes by default.
const simTerminalID = "term_SIM_0001"

// withCloudKey writes an NKey seed into dataDir (as the daemon would on
// first start) and lets the server accept it for the simulator terminal.
func withCloudKey(t *testing.T, srv *natstest.Server, dataDir string) string {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := kp.Seed()
	pub, _ := kp.PublicKey()
	if err := os.WriteFile(filepath.Join(dataDir, "cloud.nk"), seed, 0o600); err != nil {
		t.Fatal(err)
	}
	srv.Accept(pub, simTerminalID)
	return pub
}

// waitCloud polls status until its cloud state is want.
func (d *daemonUnderTest) waitCloud(want string) response {
	d.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last response
	for time.Now().Before(deadline) {
		last = d.post("/cashless/v1/status", map[string]any{})
		if c := last.obj("cloud"); c != nil && c["state"] == want {
			return last
		}
		time.Sleep(20 * time.Millisecond)
	}
	d.t.Fatalf("cloud state never became %q: %s", want, last.raw)
	return response{}
}

// relayed calls the terminal through the relay and checks the answer is
// byte for byte the LAN's (status and body).
func relayedMatches(t *testing.T, relay *natstest.Relay, d *daemonUnderTest, endpoint, body string) natstest.Answer {
	t.Helper()
	got, err := relay.Call(simTerminalID, endpoint, []byte(body), 60*time.Second)
	if err != nil {
		t.Fatalf("relayed %s: %v", endpoint, err)
	}
	lan := d.post("/cashless/v1/"+endpoint, body)
	if got.Status != lan.status || !bytes.Equal(got.Body, lan.raw) {
		t.Fatalf("relayed %s: %d %s\nLAN: %d %s", endpoint, got.Status, got.Body, lan.status, lan.raw)
	}
	return got
}

func TestCloudRelayedCallsAnswerAsTheLAN(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	relay := natstest.StartRelay(t, srv)
	dir := t.TempDir()
	pub := withCloudKey(t, srv, dir)
	d := startDaemon(t, dir, "--cloud", srv.URL, "--cloud-ca", srv.CAFile)
	st := d.waitCloud("connected")
	if since, _ := st.obj("cloud")["since"].(string); since == "" {
		t.Fatalf("connected without since: %s", st.raw)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if h, ok := relay.Hello(simTerminalID); ok {
			if h.PublicKey != pub || !h.Simulator || h.SoftwareVersion != "1.2.3-test" {
				t.Fatalf("hello %+v", h)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no hello reached the relay")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A relayed sale, then the same request on the LAN: the LAN's replay
	// is the relayed answer byte for byte; a relayed replay too, with the
	// replay header.
	sale := `{"amount":1250,"currency":"USD","reference":"CLOUD-1"}`
	first, err := relay.Call(simTerminalID, "sale", []byte(sale), 60*time.Second)
	if err != nil || first.Status != 200 {
		t.Fatalf("relayed sale: %v %d %s", err, first.Status, first.Body)
	}
	lan := d.post("/cashless/v1/sale", sale)
	if lan.status != 200 || !bytes.Equal(lan.raw, first.Body) || lan.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("LAN replay %d %s %v\nrelayed %s", lan.status, lan.raw, lan.header, first.Body)
	}
	again := relayedMatches(t, relay, d, "sale", sale)
	if again.Header.Get(link.HeaderResponsePrefix+"Idempotent-Replayed") != "true" {
		t.Fatalf("relayed replay headers %v", again.Header)
	}
	var tx struct{ TransactionID string }
	_ = json.Unmarshal(first.Body, &tx)

	// The same validation and errors: a bad body, an unknown field, a
	// reference reused with other parameters, an unknown endpoint.
	relayedMatches(t, relay, d, "sale", `{"amount":"12","currency":"USD","reference":"CLOUD-2"}`)
	relayedMatches(t, relay, d, "sale", `{"amount":12,"currency":"USD","reference":"CLOUD-3","tip":1}`)
	relayedMatches(t, relay, d, "sale", `{"amount":999,"currency":"USD","reference":"CLOUD-1"}`)
	relayedMatches(t, relay, d, "no/such/endpoint", `{}`)
	relayedMatches(t, relay, d, "transaction", `{"reference":"CLOUD-1"}`)
	bad, _ := relay.Call(simTerminalID, "sale", []byte(`{"amount":"12"}`), 30*time.Second)
	if bad.Status != 400 {
		t.Fatalf("bad body relayed: %d %s", bad.Status, bad.Body)
	}

	// The sale's outcome reached the relay's stream, with the LAN's body.
	deadline = time.Now().Add(60 * time.Second)
	for {
		outs, err := relay.Outcomes(simTerminalID)
		if err == nil && len(outs) > 0 {
			o := outs[0]
			if o.Reference != "CLOUD-1" || o.Endpoint != "sale" || o.HTTPStatus != 200 || o.TransactionID != tx.TransactionID ||
				!bytes.Equal(o.Body, first.Body) {
				t.Fatalf("outcome %+v", o)
			}
			if len(outs) != 1 {
				t.Fatalf("a replay or a refusal made an outcome: %d outcomes", len(outs))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no outcome reached the relay: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Binding: on the simulator API, and through the admin socket.
	b := d.post("/simulator/v1/bind", `{"key":"good-key"}`)
	if b.status != 200 || b.body["bound"] != true || b.str("merchantId") != "merch1" {
		t.Fatalf("sim bind: %d %s", b.status, b.raw)
	}
	d.waitCloud("connected")
	if b := d.post("/simulator/v1/bind", `{"key":"used-key"}`); b.status != 200 || b.body["bound"] != false || b.str("error") != "key_used" {
		t.Fatalf("sim bind with a used key: %d %s", b.status, b.raw)
	}
	if b := d.post("/simulator/v1/bind", `{}`); b.str("error") != "not_prebound" {
		t.Fatalf("express bind of a terminal not prebound: %s", b.raw)
	}
	relay.Prebind(simTerminalID)
	if b := d.post("/simulator/v1/bind", `{}`); b.body["bound"] != true {
		t.Fatalf("express bind: %s", b.raw)
	}
	d.waitCloud("connected")
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		m := &Main{Stdout: &out, Stderr: io.Discard, Version: "test"}
		err := m.Run(context.Background(), args)
		return out.String(), err
	}
	if out, err := run("cloud", "bind", "good-key", "--data-dir", dir); err != nil || !strings.Contains(out, "merch1") {
		t.Fatalf("cloud bind: %q %v", out, err)
	}
	d.waitCloud("connected")
	if _, err := run("cloud", "bind", "--data-dir", dir, "nope"); err == nil || !strings.Contains(err.Error(), "key_unknown") {
		t.Fatalf("cloud bind with an unknown key: %v", err)
	}
	if out, err := run("cloud", "unbind", "--data-dir", dir); err != nil || !strings.Contains(out, "unbound") {
		t.Fatalf("cloud unbind: %q %v", out, err)
	}
	if u := relay.Unbinds(); len(u) != 1 || u[0] != simTerminalID {
		t.Fatalf("unbinds %v", u)
	}
	for _, req := range relay.Binds() {
		if req.PublicKey != pub || req.TerminalID != simTerminalID || req.Model == "" {
			t.Fatalf("bind request %+v", req)
		}
	}
	// A relay-side unbind: the terminal reconnects and stays reachable.
	if err := relay.Control(simTerminalID, link.ControlMessage{Action: "unbound", MerchantID: "merch1"}); err != nil {
		t.Fatal(err)
	}
	d.waitCloud("connected")
	relayedMatches(t, relay, d, "transaction", `{"reference":"CLOUD-1"}`)

	// The key file stays private and never reaches the log.
	info, err := os.Stat(filepath.Join(dir, "cloud.nk"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", info.Mode(), err)
	}
	seed, _ := os.ReadFile(filepath.Join(dir, "cloud.nk"))
	if strings.Contains(d.logs.String(), strings.TrimSpace(string(seed))) {
		t.Fatal("the NKey seed reached the log")
	}
}

func TestCloudStateOffAndSimulatorCredential(t *testing.T) {
	t.Parallel()
	off := startDaemon(t, t.TempDir())
	if st := off.post("/cashless/v1/status", map[string]any{}); st.obj("cloud")["state"] != "off" {
		t.Fatalf("no relay configured: %s", st.raw)
	}

	// A relay in simulator mode accepts a simulator terminal by the
	// simulator credential; the terminal still makes its own key.
	srv := natstest.Start(t, natstest.AcceptSimulator())
	relay := natstest.StartRelay(t, srv)
	dir := t.TempDir()
	d := startDaemon(t, dir, "--cloud", srv.URL, "--cloud-ca", srv.CAFile)
	d.waitCloud("connected")
	info, err := os.Stat(filepath.Join(dir, "cloud.nk"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file made on first start: %v %v", info, err)
	}
	relayedMatches(t, relay, d, "status", `{"unknown":1}`)
}

func TestCloudLinkComesBackAndDeliversOutcomes(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	relay := natstest.StartRelay(t, srv)
	dir := t.TempDir()
	withCloudKey(t, srv, dir)
	d := startDaemon(t, dir, "--cloud", srv.URL, "--cloud-ca", srv.CAFile)
	d.waitCloud("connected")

	srv.Shutdown()
	d.waitCloud("connecting")
	// A sale while the link is down finishes on the terminal.
	sale := d.sale("OFFLINE-LINK-1", 700).expect(t, 200, "")

	srv.Restart()
	d.waitCloud("connected")
	deadline := time.Now().Add(90 * time.Second)
	for {
		outs, _ := relay.Outcomes(simTerminalID)
		if len(outs) == 1 && outs[0].Reference == "OFFLINE-LINK-1" && bytes.Equal(outs[0].Body, sale.raw) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the outcome did not reach the relay after the link came back: %+v", outs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	relayedMatches(t, relay, d, "transaction", `{"reference":"OFFLINE-LINK-1"}`)
}
