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

	"github.com/vinr/cashlessd/internal/natstest"
	"github.com/vinr/cashlessd/relaylink"
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
	srv := natstest.Start(t, natstest.AdmitUnbound())
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
	if again.Header.Get(relaylink.HeaderResponsePrefix+"Idempotent-Replayed") != "true" {
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
	// Unbound, the terminal is out of reach until it binds again.
	deadline = time.Now().Add(60 * time.Second)
	for {
		if _, err := relay.Call(simTerminalID, "status", []byte(`{}`), 2*time.Second); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("an unbound terminal stayed reachable")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if out, err := run("cloud", "bind", "--data-dir", dir, "good-key"); err != nil || !strings.Contains(out, "merch1") {
		t.Fatalf("cloud bind again: %q %v", out, err)
	}
	for _, req := range relay.Binds() {
		if req.PublicKey != pub || req.TerminalID != simTerminalID || req.Model == "" {
			t.Fatalf("bind request %+v", req)
		}
	}
	// A relay-side unbind: the terminal reconnects and stays reachable.
	if err := relay.Control(simTerminalID, relaylink.ControlMessage{Action: "unbound", MerchantID: "merch1"}); err != nil {
		t.Fatal(err)
	}
	d.waitCloud("connected")
	deadline = time.Now().Add(60 * time.Second)
	for {
		if _, err := relay.Call(simTerminalID, "status", []byte(`{}`), 2*time.Second); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the terminal did not come back after a control message")
		}
		time.Sleep(20 * time.Millisecond)
	}
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
	d := startDaemon(t, dir, "--cloud", srv.URL, "--cloud-ca", srv.CAFile,
		"--config", writeConfig(t, "[metrics]\nlisten = \"127.0.0.1:0\"\n"))
	d.waitCloud("connected")

	// A relayed sale waits for a card; the link drops under it; then the
	// shop cancels it on the terminal's LAN.
	d.card(map[string]any{"pan": "4242424242424242", "presentAfterMs": 0, "present": false})
	dropped := `{"amount":650,"currency":"USD","reference":"LINK-DROP-1"}`
	go func() { _, _ = relay.Call(simTerminalID, "sale", []byte(dropped), 60*time.Second) }()
	if busy := d.waitBusy("waiting_for_card"); busy.obj("activeTransaction")["ecrId"] != "cloud" {
		t.Fatalf("a relayed sale runs for the credential %v, want cloud", busy.obj("activeTransaction")["ecrId"])
	}
	srv.Shutdown()
	d.waitCloud("connecting")
	d.post("/cashless/v1/cancel", `{"reference":"LINK-DROP-1"}`).expect(t, 200, "")
	d.waitIdle()
	// A sale while the link is down finishes on the terminal.
	d.card(map[string]any{"presentAfterMs": 0, "present": true})
	sale := d.sale("OFFLINE-LINK-1", 700).expect(t, 200, "")
	if c, w := d.metricValue("cashless_cloud_connected"), d.metricValue("cashless_cloud_outbox"); c != 0 || w < 1 {
		t.Fatalf("metrics while the link is down: connected %v, outbox %v", c, w)
	}

	srv.Restart()
	d.waitCloud("connected")
	deadline := time.Now().Add(90 * time.Second)
	for {
		outs, _ := relay.Outcomes(simTerminalID)
		if len(outs) == 2 && outs[0].Reference == "LINK-DROP-1" && outs[0].HTTPStatus == 409 &&
			bytes.Contains(outs[0].Body, []byte(`"transaction_cancelled"`)) &&
			outs[1].Reference == "OFFLINE-LINK-1" && bytes.Equal(outs[1].Body, sale.raw) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the outcome did not reach the relay after the link came back: %+v", outs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	relayedMatches(t, relay, d, "transaction", `{"reference":"OFFLINE-LINK-1"}`)
	deadline = time.Now().Add(60 * time.Second)
	for d.metricValue("cashless_cloud_outbox") != 0 || d.metricValue("cashless_cloud_connected") != 1 {
		if time.Now().After(deadline) {
			t.Fatal("metrics never showed the link up with an empty outbox")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDiagChecksTheCloudLink(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	dir := t.TempDir()
	args := []string{"--simulator", "--data-dir", dir}
	cfg := writeConfig(t, "[cloud]\nurl = \""+srv.URL+"\"\nca_file = \""+srv.CAFile+"\"\n")
	// No key yet: a warning, made at first start.
	_, checks, _ := diagJSON(t, append(args, "--config", cfg)...)
	if c := checks["cloud"]; c.Status != "warn" || !strings.Contains(c.Detail, "first start") {
		t.Fatalf("cloud before the first start: %+v", c)
	}
	pub := withCloudKey(t, srv, dir)
	_, checks, _ = diagJSON(t, append(args, "--config", cfg)...)
	if c := checks["cloud"]; c.Status != "ok" || !strings.Contains(c.Detail, pub) {
		t.Fatalf("cloud with a known key: %+v", c)
	}
	// The running daemon's own view.
	startDaemon(t, dir, "--config", cfg).waitCloud("connected")
	_, checks, _ = diagJSON(t, append(args, "--config", cfg)...)
	if c := checks["cloud"]; c.Status != "ok" || !strings.Contains(c.Detail, "running daemon: connected") {
		t.Fatalf("cloud of the running daemon: %+v", c)
	}
	srv.Shutdown()
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, checks, _ = diagJSON(t, append(args, "--config", cfg)...)
		if c := checks["cloud"]; c.Status == "warn" && strings.Contains(c.Detail, "connecting") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cloud of a daemon whose relay went away: %+v", checks["cloud"])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestCloudLinkThatCannotStartLeavesTheLAN(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir(), "--cloud", "tls://127.0.0.1:1", "--cloud-ca", filepath.Join(t.TempDir(), "missing.pem"))
	if st := d.post("/cashless/v1/status", map[string]any{}); st.status != 200 || st.obj("cloud")["state"] != "off" {
		t.Fatalf("status %d %s", st.status, st.raw)
	}
	d.sale("LAN-ONLY-1", 500).expect(t, 200, "")
	if !strings.Contains(d.logs.String(), "no cloud link") {
		t.Fatal("the broken cloud link was not logged")
	}
}

func TestCloudCommandsSayWhatIsWrong(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	run := func(args ...string) error {
		m := &Main{Stdout: io.Discard, Stderr: io.Discard, Version: "test"}
		return m.Run(context.Background(), args)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"cloud", "bind", "--data-dir", dir}, "give the one-time key"},
		{[]string{"cloud", "bind", "--data-dir", dir, "--express", "K"}, "--express takes no key"},
		{[]string{"cloud", "bind", "K1", "K2", "--data-dir", dir}, "give the one-time key"},
		{[]string{"cloud", "unbind", "--data-dir", dir, "K"}, "unexpected argument"},
		{[]string{"cloud", "bind", "K"}, "say which terminal"},
		{[]string{"cloud", "rebind"}, "usage"},
		{[]string{"cloud", "bind", "--data-dir", dir, "K"}, "no cashlessd runs"},
		{[]string{"cloud", "unbind", "--data-dir=" + dir}, "no cashlessd runs"},
	} {
		if err := run(tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
	// A daemon without a relay says so.
	startDaemon(t, dir)
	if err := run("cloud", "bind", "--data-dir", dir, "K"); err == nil || !strings.Contains(err.Error(), "no cloud relay is configured") {
		t.Errorf("bind on a daemon without a relay: %v", err)
	}
	if err := run("cloud", "--help"); err != nil {
		t.Errorf("cloud --help: %v", err)
	}
}
