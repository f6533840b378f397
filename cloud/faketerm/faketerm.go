// Package faketerm is a lightweight terminal for tests and benchmarks of
// the relay: a plain NATS client that speaks relaylink (NKey, presence,
// binding, requests, outcomes) and answers calls with a function the test
// gives, without a payment engine behind it.
package faketerm

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/vinr/cashlessd/relaylink"
)

// Handler answers one call: the endpoint and body in, the HTTP status and
// body out. Returning status 0 sends no answer (a terminal that stays
// silent).
type Handler func(endpoint string, body []byte) (int, []byte)

// Terminal is a fake terminal.
type Terminal struct {
	ID        string
	PublicKey string
	kp        nkeys.KeyPair
	nc        *nats.Conn
	handler   Handler

	mu      sync.Mutex
	calls   map[string]int
	control []relaylink.ControlMessage
	stop    chan struct{}
}

// Options of a fake terminal.
type Options struct {
	// URL is one NATS URL or several, comma-separated.
	URL string
	// CAFile is the CA bundle, or several comma-separated.
	CAFile    string
	Simulator bool
	// Seed reuses a key (a terminal that restarts); nil makes a new one.
	Seed    []byte
	Handler Handler
}

// Connect connects a fake terminal and subscribes to its requests (which
// only succeeds once it is bound; see Subscribe).
func Connect(id string, o Options) (*Terminal, error) {
	var kp nkeys.KeyPair
	var err error
	if o.Seed != nil {
		kp, err = nkeys.FromSeed(o.Seed)
	} else {
		kp, err = nkeys.CreateUser()
	}
	if err != nil {
		return nil, err
	}
	pub, _ := kp.PublicKey()
	t := &Terminal{ID: id, PublicKey: pub, kp: kp, handler: o.Handler, calls: map[string]int{}, stop: make(chan struct{})}
	opts := []nats.Option{
		nats.Name(id), nats.Nkey(pub, kp.Sign), nats.CustomInboxPrefix(relaylink.Inbox(id)),
		nats.MaxReconnects(-1), nats.ReconnectWait(100 * time.Millisecond), nats.ReconnectJitter(0, 0),
		nats.ReconnectHandler(func(*nats.Conn) { t.hello() }),
		nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}),
	}
	if o.CAFile != "" {
		opts = append(opts, nats.RootCAs(strings.Split(o.CAFile, ",")...))
	}
	if o.Simulator {
		opts = append(opts, nats.Token(relaylink.SimulatorToken))
	}
	if t.nc, err = nats.Connect(o.URL, opts...); err != nil {
		return nil, err
	}
	if err := t.subscribe(); err != nil {
		t.nc.Close()
		return nil, err
	}
	t.Hello()
	go t.heartbeat()
	return t, nil
}

// Seed is the terminal's NKey seed.
func (t *Terminal) Seed() []byte {
	s, _ := t.kp.Seed()
	return s
}

// subscribe subscribes to requests and control. Unbound, the server
// refuses both; after the bind the relay closes the connection and the
// client's reconnect sends them again, now allowed.
func (t *Terminal) subscribe() error {
	if _, err := t.nc.Subscribe(relaylink.Request(t.ID), t.serve); err != nil {
		return err
	}
	_, err := t.nc.Subscribe(relaylink.Control(t.ID), func(m *nats.Msg) {
		var c relaylink.ControlMessage
		if json.Unmarshal(m.Data, &c) == nil {
			t.mu.Lock()
			t.control = append(t.control, c)
			t.mu.Unlock()
		}
	})
	return err
}

func (t *Terminal) serve(m *nats.Msg) {
	ep := m.Header.Get(relaylink.HeaderEndpoint)
	t.mu.Lock()
	t.calls[ep]++
	t.mu.Unlock()
	status, body := t.handler(ep, m.Data)
	if status == 0 {
		return
	}
	r := nats.NewMsg(m.Reply)
	r.Header.Set(relaylink.HeaderStatus, strconv.Itoa(status))
	r.Data = body
	_ = m.RespondMsg(r)
}

// Calls counts the calls received for an endpoint.
func (t *Terminal) Calls(endpoint string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.calls[endpoint]
}

// Control lists the control messages received.
func (t *Terminal) Control() []relaylink.ControlMessage {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]relaylink.ControlMessage(nil), t.control...)
}

func (t *Terminal) hello() {
	b, _ := json.Marshal(relaylink.HelloMessage{TerminalID: t.ID, PublicKey: t.PublicKey, Model: "fake", SoftwareVersion: "0.0.0-fake",
		Simulator: true, SentAt: time.Now().UTC().Format(time.RFC3339)})
	_ = t.nc.Publish(relaylink.Hello(t.ID), b)
}

func (t *Terminal) heartbeat() {
	tick := time.NewTicker(relaylink.HeartbeatIntervalSeconds * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tick.C:
			t.hello()
		}
	}
}

// Hello publishes a presence message now.
func (t *Terminal) Hello() { t.hello(); _ = t.nc.Flush() }

// Bind asks the relay to bind with a key ("" for express bind).
func (t *Terminal) Bind(ctx context.Context, key string) (relaylink.BindAnswer, error) {
	subject := relaylink.Bind
	if key == "" {
		subject = relaylink.ExpressBind
	}
	b, _ := json.Marshal(relaylink.BindRequest{Key: key, TerminalID: t.ID, PublicKey: t.PublicKey, Model: "fake", SoftwareVersion: "0.0.0-fake"})
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	m, err := t.nc.RequestWithContext(ctx, subject, b)
	if err != nil {
		return relaylink.BindAnswer{}, err
	}
	var a relaylink.BindAnswer
	return a, json.Unmarshal(m.Data, &a)
}

// Unbind asks the relay to drop the terminal's binding.
func (t *Terminal) Unbind(ctx context.Context) (relaylink.BindAnswer, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	m, err := t.nc.RequestWithContext(ctx, relaylink.Unbind(t.ID), nil)
	if err != nil {
		return relaylink.BindAnswer{}, err
	}
	var a relaylink.BindAnswer
	return a, json.Unmarshal(m.Data, &a)
}

// PublishOutcome publishes a finished transaction to the outcome stream
// and waits for JetStream's acknowledgement.
func (t *Terminal) PublishOutcome(ctx context.Context, o relaylink.OutcomeMessage) error {
	b, _ := json.Marshal(o)
	m, err := t.nc.RequestWithContext(ctx, relaylink.Outcome(t.ID), b)
	if err != nil {
		return err
	}
	var ack struct {
		Error *struct {
			Description string `json:"description"`
		} `json:"error"`
	}
	if json.Unmarshal(m.Data, &ack) == nil && ack.Error != nil {
		return errors.New(ack.Error.Description)
	}
	return nil
}

// Conn is the terminal's NATS connection.
func (t *Terminal) Conn() *nats.Conn { return t.nc }

// Close disconnects.
func (t *Terminal) Close() {
	select {
	case <-t.stop:
	default:
		close(t.stop)
	}
	t.nc.Close()
}
