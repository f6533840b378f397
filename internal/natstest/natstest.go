// Package natstest runs, for tests of the terminal's cloud link, an
// embedded NATS server with TLS and JetStream on a loopback port that
// authenticates as a relay would (terminals by their NKey, confined to
// their own subjects; simulator terminals by relaylink.SimulatorToken; the
// test's relay by a token of its own), and a fake relay that answers bind
// requests, relays calls and reads the outcomes stream. Tests only.
package natstest

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/vinr/cashlessd/certs"
	"github.com/vinr/cashlessd/relaylink"
)

// OutcomeStream is the JetStream stream of terminals' outcomes the fake
// relay keeps.
const OutcomeStream = "CASHLESS_OUTCOMES"

// relayToken authenticates the fake relay's own connection.
const relayToken = "natstest-relay"

// Server is an embedded NATS server with TLS and JetStream.
type Server struct {
	t      testing.TB
	dir    string
	files  certs.Files
	port   int
	auth   *authenticator
	simTok bool

	mu sync.Mutex
	ns *server.Server
	// URL is the server's address for terminals (tls://127.0.0.1:port).
	URL string
	// CAFile verifies the server's certificate.
	CAFile string
}

// Option adjusts a Server.
type Option func(*Server)

// AcceptSimulator accepts any terminal that presents relaylink.SimulatorToken,
// as a relay in simulator mode does.
func AcceptSimulator() Option { return func(s *Server) { s.simTok = true } }

// AdmitUnbound lets a terminal whose key is not accepted connect for
// binding only (publish the bind subjects, read its inbox), as
// cashless-cloud does; without it such a terminal is refused.
func AdmitUnbound() Option { return func(s *Server) { s.auth.unbound = true } }

// Start runs a server and stops it when the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	dir := t.TempDir()
	files, err := certs.EnsureDev(filepath.Join(dir, "certs"), []string{"127.0.0.1", "localhost"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, dir: dir, files: files, CAFile: files.CA, auth: &authenticator{keys: map[string]string{}}}
	s.auth.server = s
	for _, o := range opts {
		o(s)
	}
	s.auth.simulator = s.simTok
	s.start()
	t.Cleanup(s.Shutdown)
	return s
}

func (s *Server) start() {
	s.t.Helper()
	tc, err := certs.ServerConfig(s.files)
	if err != nil {
		s.t.Fatal(err)
	}
	port := s.port
	if port == 0 {
		port = server.RANDOM_PORT
	}
	o := &server.Options{
		Host:                       "127.0.0.1",
		Port:                       port,
		NoLog:                      true,
		NoSigs:                     true,
		JetStream:                  true,
		StoreDir:                   filepath.Join(s.dir, "jetstream"),
		TLS:                        true,
		TLSConfig:                  tc,
		TLSTimeout:                 5,
		AlwaysEnableNonce:          true,
		CustomClientAuthentication: s.auth,
		PingInterval:               2 * time.Second,
		MaxPingsOut:                2,
	}
	ns, err := server.NewServer(o)
	if err != nil {
		s.t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(20 * time.Second) {
		s.t.Fatal("nats server not ready")
	}
	addr := ns.Addr().(*net.TCPAddr)
	s.mu.Lock()
	s.ns, s.port = ns, addr.Port
	s.URL = "tls://127.0.0.1:" + strconv.Itoa(addr.Port)
	s.mu.Unlock()
}

// Accept lets a terminal with this public key connect as terminalID (as
// a bound terminal: its own subjects).
func (s *Server) Accept(publicKey, terminalID string) {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	s.auth.keys[publicKey] = terminalID
}

// Forget takes a terminal's key back.
func (s *Server) Forget(publicKey string) {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	delete(s.auth.keys, publicKey)
}

// Shutdown stops the server (idempotent).
func (s *Server) Shutdown() {
	s.mu.Lock()
	ns := s.ns
	s.ns = nil
	s.mu.Unlock()
	if ns != nil {
		ns.Shutdown()
		ns.WaitForShutdown()
	}
}

// Restart stops the server and starts it again on the same port with the
// same JetStream store.
func (s *Server) Restart() {
	s.Shutdown()
	s.start()
}

// connect opens the relay's connection.
func (s *Server) connect() (*nats.Conn, error) {
	pool, err := certs.Pool(s.CAFile)
	if err != nil {
		return nil, err
	}
	return nats.Connect(s.URL, nats.Token(relayToken), nats.Secure(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}),
		nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
}

// authenticator accepts the relay by its token, terminals by their NKey
// (the signature of the server's nonce), and simulator terminals by
// relaylink.SimulatorToken when allowed; a terminal may use only its own
// subjects and the bind subjects.
type authenticator struct {
	simulator bool
	unbound   bool
	server    *Server
	mu        sync.Mutex
	keys      map[string]string // public key -> terminal ID
}

// Check implements server.Authentication.
func (a *authenticator) Check(c server.ClientAuthentication) bool {
	o := c.GetOpts()
	if o.Token == relayToken {
		c.RegisterUser(&server.User{Username: "relay"})
		return true
	}
	id := o.Name
	if relaylink.ValidTerminalID(id) != nil {
		return false
	}
	switch {
	case a.simulator && o.Token == relaylink.SimulatorToken:
	case o.Nkey != "" && a.known(o.Nkey, id) && signed(o.Nkey, o.Sig, c.GetNonce()):
	case a.unbound && o.Nkey != "" && signed(o.Nkey, o.Sig, c.GetNonce()):
		c.RegisterUser(&server.User{Username: id, Permissions: &server.Permissions{
			Publish:   &server.SubjectPermission{Allow: []string{relaylink.Bind, relaylink.ExpressBind}},
			Subscribe: &server.SubjectPermission{Allow: []string{relaylink.Inbox(id) + ".>"}},
		}})
		return true
	default:
		return false
	}
	c.RegisterUser(&server.User{Username: id, Permissions: &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: []string{relaylink.Own(id), relaylink.Bind, relaylink.ExpressBind}},
		Subscribe: &server.SubjectPermission{Allow: []string{relaylink.Own(id)}},
		Response:  &server.ResponsePermission{MaxMsgs: 1, Expires: time.Minute},
	}})
	return true
}

func (a *authenticator) known(key, id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.keys[key] == id
}

func signed(public, sig string, nonce []byte) bool {
	kp, err := nkeys.FromPublicKey(public)
	if err != nil {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		raw, err = base64.StdEncoding.DecodeString(sig)
		if err != nil {
			return false
		}
	}
	return kp.Verify(nonce, raw) == nil
}

// Relay is a fake relay on the server: it keeps the outcomes stream,
// answers bind requests (the key "good-key" binds to merchant "merch1",
// "used-key" is refused as used, an express bind succeeds for prebound
// terminals), records hellos and unbinds, and relays calls.
type Relay struct {
	t   testing.TB
	srv *Server
	nc  *nats.Conn
	js  jetstream.JetStream

	mu       sync.Mutex
	hellos   map[string]relaylink.HelloMessage
	binds    []relaylink.BindRequest
	unbinds  []string
	prebound map[string]bool
	keys     map[string]string // terminal ID -> the key it bound with
}

// StartRelay connects a fake relay to s; it reconnects when s restarts.
func StartRelay(t testing.TB, s *Server) *Relay {
	t.Helper()
	nc, err := s.connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: OutcomeStream,
		Subjects: []string{relaylink.Outcome("*")}, Duplicates: 10 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	r := &Relay{t: t, srv: s, nc: nc, js: js, hellos: map[string]relaylink.HelloMessage{}, prebound: map[string]bool{},
		keys: map[string]string{}}
	sub := func(subject string, h nats.MsgHandler) {
		if _, err := nc.Subscribe(subject, h); err != nil {
			t.Fatal(err)
		}
	}
	sub(relaylink.Hello("*"), func(m *nats.Msg) {
		var h relaylink.HelloMessage
		if json.Unmarshal(m.Data, &h) == nil {
			r.mu.Lock()
			r.hellos[h.TerminalID] = h
			r.mu.Unlock()
		}
	})
	sub(relaylink.Bind, func(m *nats.Msg) { r.bind(m, false) })
	sub(relaylink.ExpressBind, func(m *nats.Msg) { r.bind(m, true) })
	sub(relaylink.Unbind("*"), func(m *nats.Msg) {
		id := strings.Split(m.Subject, ".")[2]
		r.mu.Lock()
		r.unbinds = append(r.unbinds, id)
		key := r.keys[id]
		r.mu.Unlock()
		if key != "" {
			r.srv.Forget(key)
		}
		r.answer(m, relaylink.BindAnswer{})
	})
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return r
}

// Prebind marks a terminal prebound, for an express bind.
func (r *Relay) Prebind(terminalID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.prebound[terminalID] = true
}

func (r *Relay) bind(m *nats.Msg, express bool) {
	var req relaylink.BindRequest
	if err := json.Unmarshal(m.Data, &req); err != nil || relaylink.ValidTerminalID(req.TerminalID) != nil || req.PublicKey == "" {
		r.answer(m, relaylink.BindAnswer{Error: "invalid_request", Message: "unreadable bind request"})
		return
	}
	r.mu.Lock()
	r.binds = append(r.binds, req)
	prebound := r.prebound[req.TerminalID]
	r.mu.Unlock()
	bound := func() {
		r.mu.Lock()
		r.keys[req.TerminalID] = req.PublicKey
		r.mu.Unlock()
		r.srv.Accept(req.PublicKey, req.TerminalID)
		r.answer(m, relaylink.BindAnswer{Bound: true, MerchantID: "merch1"})
	}
	switch {
	case express && prebound:
		bound()
	case express:
		r.answer(m, relaylink.BindAnswer{Error: "not_prebound", Message: "this terminal is not prebound"})
	case req.Key == "good-key":
		bound()
	case req.Key == "used-key":
		r.answer(m, relaylink.BindAnswer{Error: "key_used", Message: "this key was used already"})
	default:
		r.answer(m, relaylink.BindAnswer{Error: "key_unknown", Message: "no such key"})
	}
}

func (r *Relay) answer(m *nats.Msg, a relaylink.BindAnswer) {
	data, _ := json.Marshal(a)
	_ = m.Respond(data)
}

// Binds are the bind requests received so far.
func (r *Relay) Binds() []relaylink.BindRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]relaylink.BindRequest(nil), r.binds...)
}

// Unbinds are the terminals that asked to be unbound so far.
func (r *Relay) Unbinds() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.unbinds...)
}

// Hello is the last hello of a terminal, if any.
func (r *Relay) Hello(terminalID string) (relaylink.HelloMessage, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h, ok := r.hellos[terminalID]
	return h, ok
}

// Answer is a relayed call's answer.
type Answer struct {
	Status int
	Header nats.Header
	Body   []byte
}

// Call relays one API call to a terminal and waits up to timeout for the
// answer.
func (r *Relay) Call(terminalID, endpoint string, body []byte, timeout time.Duration) (Answer, error) {
	m := nats.NewMsg(relaylink.Request(terminalID))
	m.Header.Set(relaylink.HeaderEndpoint, endpoint)
	m.Header.Set(relaylink.HeaderCaller, "natstest")
	m.Data = body
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	resp, err := r.nc.RequestMsgWithContext(ctx, m)
	if err != nil {
		return Answer{}, err
	}
	status, err := strconv.Atoi(resp.Header.Get(relaylink.HeaderStatus))
	if err != nil {
		return Answer{}, fmt.Errorf("no %s header", relaylink.HeaderStatus)
	}
	return Answer{Status: status, Header: resp.Header, Body: resp.Data}, nil
}

// Control sends a relay notice to a terminal.
func (r *Relay) Control(terminalID string, c relaylink.ControlMessage) error {
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return r.nc.Publish(relaylink.Control(terminalID), data)
}

// Outcomes are every outcome the stream holds for a terminal, oldest
// first.
func (r *Relay) Outcomes(terminalID string) ([]relaylink.OutcomeMessage, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := r.js.Stream(ctx, OutcomeStream)
	if err != nil {
		return nil, err
	}
	var out []relaylink.OutcomeMessage
	for seq := uint64(1); ; seq++ {
		raw, err := stream.GetMsg(ctx, seq)
		if err != nil {
			break
		}
		var o relaylink.OutcomeMessage
		if err := json.Unmarshal(raw.Data, &o); err != nil {
			return nil, err
		}
		if o.TerminalID == terminalID {
			out = append(out, o)
		}
	}
	return out, nil
}
