package cloudlink_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/api"
	"github.com/vinr/cashlessd/daemon/cloudlink"
	"github.com/vinr/cashlessd/internal/logbuf"
	"github.com/vinr/cashlessd/internal/natstest"
	"github.com/vinr/cashlessd/relaylink"
)

const terminalID = "term_TEST_0001"

// fakeAPI answers every call with its endpoint, body and caller, or holds
// it until released.
type fakeAPI struct {
	mu       sync.Mutex
	hold     chan struct{}
	started  chan struct{}
	ctxAlive []bool
}

func (f *fakeAPI) ServeRelayed(ctx context.Context, endpoint string, body []byte, caller string) api.RelayedAnswer {
	if endpoint == "slow" {
		f.started <- struct{}{}
		<-f.hold
		f.mu.Lock()
		f.ctxAlive = append(f.ctxAlive, ctx.Err() == nil)
		f.mu.Unlock()
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Idempotent-Replayed", "true")
	h.Set("Connection", "close")
	return api.RelayedAnswer{Status: 402, Header: h, Body: []byte(endpoint + "|" + string(body) + "|" + caller)}
}

type busy bool

func (b busy) Busy() bool { return bool(b) }

func newLink(t *testing.T, srv *natstest.Server, dataDir string, simulator bool, logs *logbuf.Buffer) *cloudlink.Link {
	t.Helper()
	l, err := cloudlink.New(cloudlink.Config{URL: srv.URL, CAFile: srv.CAFile, DataDir: dataDir, TerminalID: terminalID,
		Model: "nexgo_ct20", SoftwareVersion: "9.9.9", Simulator: simulator}, zerolog.New(logs))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func waitState(t *testing.T, l *cloudlink.Link, want daemon.CloudState) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for l.CloudHealth().State != want {
		if time.Now().After(deadline) {
			t.Fatalf("cloud state %s, want %s", l.CloudHealth().State, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("never happened: " + what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestKeyIsMadeOncePrivateAndNeverLogged(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	dir := t.TempDir()
	logs := &logbuf.Buffer{}
	first := newLink(t, srv, dir, false, logs)
	path := filepath.Join(dir, cloudlink.KeyFileName)
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v %v", info, err)
	}
	if !strings.HasPrefix(first.PublicKey(), "U") || !strings.Contains(logs.String(), first.PublicKey()) {
		t.Fatalf("public key %q not logged: %s", first.PublicKey(), logs)
	}
	seed, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(seed), "SU") || strings.Contains(logs.String(), strings.TrimSpace(string(seed))) {
		t.Fatal("seed missing from the file, or logged")
	}
	// Loaded again, the same key; a file others could read is narrowed.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	again := newLink(t, srv, dir, false, logs)
	if again.PublicKey() != first.PublicKey() {
		t.Fatal("a second start made another key")
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Fatalf("key file left %v", info.Mode())
	}
	// A file that holds no seed is refused, never replaced.
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, cloudlink.KeyFileName), []byte("not a seed"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := cloudlink.New(cloudlink.Config{URL: srv.URL, DataDir: bad, TerminalID: terminalID}, zerolog.Nop()); err == nil {
		t.Fatal("a broken key file was accepted")
	}
}

func TestConnectsWithItsKeyAndAnswersCalls(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	relay := natstest.StartRelay(t, srv)
	logs := &logbuf.Buffer{}
	l := newLink(t, srv, t.TempDir(), false, logs)
	srv.Accept(l.PublicKey(), terminalID)
	if err := l.Start(context.Background(), &fakeAPI{}, busy(true)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	waitState(t, l, daemon.CloudConnected)

	ans, err := relay.Call(terminalID, "preauth/complete", []byte(`{"a":1}`), 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if ans.Status != 402 || string(ans.Body) != `preauth/complete|{"a":1}|natstest` {
		t.Fatalf("answer %d %s", ans.Status, ans.Body)
	}
	if ans.Header.Get(relaylink.HeaderResponsePrefix+"Idempotent-Replayed") != "true" ||
		ans.Header.Get(relaylink.HeaderResponsePrefix+"Content-Type") != "application/json" ||
		ans.Header.Get(relaylink.HeaderResponsePrefix+"Connection") != "" {
		t.Fatalf("headers %v", ans.Header)
	}
	waitFor(t, "hello", func() bool {
		h, ok := relay.Hello(terminalID)
		return ok && h.PublicKey == l.PublicKey() && h.Busy && h.Model == "nexgo_ct20" && !h.Simulator
	})
	// Bind and unbind go to the relay and reconnect.
	if a, err := l.Bind(context.Background(), "good-key"); err != nil || !a.Bound || a.MerchantID != "merch1" {
		t.Fatalf("bind %+v %v", a, err)
	}
	if a, err := l.Bind(context.Background(), "used-key"); err != nil || a.Bound || a.Error != "key_used" {
		t.Fatalf("bind with a used key %+v %v", a, err)
	}
}

func TestAnUnboundTerminalBindsAndBecomesReachable(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t, natstest.AdmitUnbound())
	relay := natstest.StartRelay(t, srv)
	logs := &logbuf.Buffer{}
	l := newLink(t, srv, t.TempDir(), false, logs)
	if err := l.Start(context.Background(), &fakeAPI{}, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	// Connected for binding only: no call reaches it yet.
	waitState(t, l, daemon.CloudConnected)
	if _, err := relay.Call(terminalID, "status", nil, 5*time.Second); err == nil {
		t.Fatal("a call reached an unbound terminal")
	}
	reachable := func() bool {
		a, err := relay.Call(terminalID, "status", []byte(`{}`), 5*time.Second)
		return err == nil && a.Status == 402
	}
	if a, err := l.Bind(context.Background(), "good-key"); err != nil || !a.Bound {
		t.Fatalf("bind %+v %v", a, err)
	}
	waitFor(t, "the bound terminal to be reachable", reachable)
	waitFor(t, "a hello from the bound terminal", func() bool { _, ok := relay.Hello(terminalID); return ok })

	// Unbound, it is connected again for binding only.
	if a, err := l.Unbind(context.Background()); err != nil || a.Error != "" {
		t.Fatalf("unbind %+v %v", a, err)
	}
	waitFor(t, "the unbound terminal to be out of reach", func() bool {
		_, err := relay.Call(terminalID, "status", nil, 2*time.Second)
		return err != nil
	})
	waitState(t, l, daemon.CloudConnected)
	relay.Prebind(terminalID)
	if a, err := l.Bind(context.Background(), ""); err != nil || !a.Bound {
		t.Fatalf("express bind %+v %v", a, err)
	}
	waitFor(t, "the terminal bound again to be reachable", reachable)
}

func TestAnUnknownKeyKeepsTrying(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	logs := &logbuf.Buffer{}
	l := newLink(t, srv, t.TempDir(), false, logs)
	if err := l.Start(context.Background(), &fakeAPI{}, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	waitFor(t, "an authorization error", func() bool { return strings.Contains(strings.ToLower(logs.String()), "authorization") })
	if s := l.CloudHealth().State; s != daemon.CloudConnecting {
		t.Fatalf("state %s with a key the relay does not know", s)
	}
	// Once the relay knows the key, the same link gets in.
	srv.Accept(l.PublicKey(), terminalID)
	waitState(t, l, daemon.CloudConnected)
	l.Close()
	if s := l.CloudHealth().State; s != daemon.CloudOff {
		t.Fatalf("state %s after Close", s)
	}
}

func TestCallRunningWhenTheLinkDropsFinishes(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t, natstest.AcceptSimulator())
	relay := natstest.StartRelay(t, srv)
	l := newLink(t, srv, t.TempDir(), true, &logbuf.Buffer{})
	f := &fakeAPI{hold: make(chan struct{}), started: make(chan struct{}, 1)}
	if err := l.Start(context.Background(), f, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	waitState(t, l, daemon.CloudConnected)
	go func() { _, _ = relay.Call(terminalID, "slow", nil, 5*time.Second) }()
	<-f.started
	srv.Shutdown()
	waitState(t, l, daemon.CloudConnecting)
	close(f.hold)
	waitFor(t, "the call to finish", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.ctxAlive) == 1
	})
	if !f.ctxAlive[0] {
		t.Fatal("the dropped link cancelled the running call")
	}
}

func TestOutcomesSurviveARestartAndADownLink(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t, natstest.AcceptSimulator())
	relay := natstest.StartRelay(t, srv)
	dir := t.TempDir()

	// Queued by a daemon that never connected (it stopped first)...
	before := newLink(t, srv, dir, true, &logbuf.Buffer{})
	before.Outcome(api.Outcome{Endpoint: "sale", Reference: "R-1", TransactionID: "tpay_1", Status: 200, Body: []byte("{\"a\":1}\n")})
	before.Close()
	if names, _ := os.ReadDir(filepath.Join(dir, cloudlink.OutboxDir)); len(names) != 1 {
		t.Fatalf("outbox holds %d files", len(names))
	}

	// ...published by the next start.
	l := newLink(t, srv, dir, true, &logbuf.Buffer{})
	if err := l.Start(context.Background(), &fakeAPI{}, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	waitState(t, l, daemon.CloudConnected)
	waitFor(t, "the queued outcome", func() bool {
		outs, _ := relay.Outcomes(terminalID)
		return len(outs) == 1 && outs[0].Reference == "R-1" && outs[0].TransactionID == "tpay_1" &&
			outs[0].HTTPStatus == 200 && string(outs[0].Body) == "{\"a\":1}\n"
	})

	// One reached while the link is down arrives when it comes back.
	srv.Shutdown()
	waitState(t, l, daemon.CloudConnecting)
	l.Outcome(api.Outcome{Endpoint: "refund", Reference: "R-2", TransactionID: "tpay_2", Status: 402, Body: []byte("{}\n")})
	srv.Restart()
	waitState(t, l, daemon.CloudConnected)
	waitFor(t, "the outcome after the link came back", func() bool {
		outs, _ := relay.Outcomes(terminalID)
		return len(outs) == 2 && outs[1].Reference == "R-2" && outs[1].HTTPStatus == 402
	})
	waitFor(t, "an empty outbox", func() bool {
		names, _ := os.ReadDir(filepath.Join(dir, cloudlink.OutboxDir))
		return len(names) == 0
	})
	info, err := os.Stat(filepath.Join(dir, cloudlink.OutboxDir))
	if err != nil || info.Mode().Perm() != 0o700 {
		t.Fatalf("outbox directory %v %v", info, err)
	}
}
