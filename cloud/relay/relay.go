// Package relay is the relay's side of the terminal link (package relaylink): it
// sends API calls to terminals by ID and reads their answers, tracks which
// terminals are connected, binds and unbinds terminals, and feeds the
// outcomes terminals publish to whoever waits for them.
package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/cloud/clock"
	"github.com/vinr/cashlessd/cloud/store"
	"github.com/vinr/cashlessd/relaylink"
)

// Errors of a call to a terminal.
var (
	// ErrNotConnected is a terminal with no live connection: nothing was
	// sent, nothing can have happened.
	ErrNotConnected = errors.New("terminal not connected")
	// ErrNoAnswer is a call sent whose answer did not come in time: the
	// terminal may still finish it.
	ErrNoAnswer = errors.New("no answer from the terminal in time")
)

// KickSubject carries a public key whose connections every relay node
// closes (after its binding changed).
const KickSubject = "cashless.relay.kick"

// Kicker closes this node's connections of a key (natsnode.Authenticator).
type Kicker interface{ Kick(publicKey string) }

// Answer is a terminal's answer to one call: the HTTP status, the response
// headers it carried and the JSON body, exactly as on its LAN port.
type Answer struct {
	Status  int
	Headers http.Header
	Body    []byte
}

// Presence is what the relay last heard from a terminal.
type Presence struct {
	Hello    relaylink.HelloMessage
	LastSeen time.Time
}

// Relay is the relay's end of the relaylink.
type Relay struct {
	nc    *nats.Conn
	store *store.Store
	clock clock.Clock
	log   zerolog.Logger
	opts  Options

	mu       sync.Mutex
	presence map[string]Presence
	subs     []*nats.Subscription
}

// Options of the relay.
type Options struct {
	// SimulatorMerchant is the merchant simulator terminals enrol under
	// ("" outside simulator mode).
	SimulatorMerchant string
	// Kicker closes local connections (nil with an external NATS).
	Kicker Kicker
}

// New makes the relay end; Start subscribes.
func New(nc *nats.Conn, s *store.Store, c clock.Clock, log zerolog.Logger, o Options) *Relay {
	return &Relay{nc: nc, store: s, clock: c, log: log, opts: o, presence: map[string]Presence{}}
}

// Start subscribes to presence, binding requests and kicks.
func (r *Relay) Start() error {
	type sub struct {
		subject, queue string
		h              nats.MsgHandler
	}
	for _, s := range []sub{
		{relaylink.Hello("*"), "", r.onHello},
		{relaylink.Bind, "relays", r.onBind},
		{relaylink.ExpressBind, "relays", r.onExpressBind},
		{relaylink.Unbind("*"), "relays", r.onUnbind},
		{KickSubject, "", r.onKick},
	} {
		var (
			ns  *nats.Subscription
			err error
		)
		if s.queue == "" {
			ns, err = r.nc.Subscribe(s.subject, s.h)
		} else {
			ns, err = r.nc.QueueSubscribe(s.subject, s.queue, s.h)
		}
		if err != nil {
			return err
		}
		r.subs = append(r.subs, ns)
	}
	return r.nc.Flush()
}

// Stop unsubscribes.
func (r *Relay) Stop() {
	for _, s := range r.subs {
		_ = s.Unsubscribe()
	}
}

func (r *Relay) onHello(m *nats.Msg) {
	id := terminalOf(m.Subject)
	var h relaylink.HelloMessage
	if id == "" || json.Unmarshal(m.Data, &h) != nil {
		return
	}
	h.TerminalID = id
	r.mu.Lock()
	r.presence[id] = Presence{Hello: h, LastSeen: time.Now()}
	r.mu.Unlock()
}

func terminalOf(subject string) string {
	parts := strings.Split(subject, ".")
	if len(parts) != 4 || parts[0]+"."+parts[1] != relaylink.Prefix {
		return ""
	}
	return parts[2]
}

// liveFor is how long a Hello keeps a terminal connected.
const liveFor = 2*relaylink.HeartbeatIntervalSeconds*time.Second + 5*time.Second

// Presence returns what the relay last heard from a terminal and whether it
// is connected now.
func (r *Relay) Presence(terminalID string) (Presence, bool) {
	r.mu.Lock()
	p, ok := r.presence[terminalID]
	r.mu.Unlock()
	return p, ok && time.Since(p.LastSeen) < liveFor
}

func (r *Relay) forget(terminalID string) {
	r.mu.Lock()
	delete(r.presence, terminalID)
	r.mu.Unlock()
}

// Call sends one Cashless API call to a terminal and waits for its answer
// until ctx ends.
func (r *Relay) Call(ctx context.Context, terminalID, endpoint string, body []byte, caller string) (Answer, error) {
	if err := relaylink.ValidTerminalID(terminalID); err != nil {
		return Answer{}, err
	}
	m := nats.NewMsg(relaylink.Request(terminalID))
	m.Header.Set(relaylink.HeaderEndpoint, endpoint)
	if caller != "" {
		m.Header.Set(relaylink.HeaderCaller, caller)
	}
	m.Data = body
	resp, err := r.nc.RequestMsgWithContext(ctx, m)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		r.forget(terminalID)
		return Answer{}, ErrNotConnected
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		return Answer{}, ErrNoAnswer
	case err != nil:
		return Answer{}, err
	}
	status, err := strconv.Atoi(resp.Header.Get(relaylink.HeaderStatus))
	if err != nil || status < 100 || status > 599 {
		return Answer{}, fmt.Errorf("terminal %s answered without a valid %s", terminalID, relaylink.HeaderStatus)
	}
	a := Answer{Status: status, Headers: http.Header{}, Body: resp.Data}
	for k, vs := range resp.Header {
		if name, ok := strings.CutPrefix(k, relaylink.HeaderResponsePrefix); ok && name != "" {
			for _, v := range vs {
				a.Headers.Add(name, v)
			}
		}
	}
	return a, nil
}

// ConsumeOutcomes hands every outcome terminals publish to handle, once
// across all relay processes (a shared durable consumer); an outcome whose
// handling fails is delivered again. It runs until ctx ends.
func (r *Relay) ConsumeOutcomes(ctx context.Context, handle func(context.Context, relaylink.OutcomeMessage) error) error {
	js := r.store.JetStream()
	c, err := js.CreateOrUpdateConsumer(ctx, store.StreamOutcomes, jetstream.ConsumerConfig{
		Durable: "relay-outcomes", AckPolicy: jetstream.AckExplicitPolicy, AckWait: 30 * time.Second,
		MaxDeliver: -1, DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return err
	}
	cc, err := c.Consume(func(m jetstream.Msg) {
		var o relaylink.OutcomeMessage
		if err := json.Unmarshal(m.Data(), &o); err != nil {
			r.log.Warn().Err(err).Str("subject", m.Subject()).Msg("outcome not JSON; dropped")
			_ = m.Term()
			return
		}
		o.TerminalID = terminalOf(m.Subject())
		hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := handle(hctx, o); err != nil {
			r.log.Warn().Err(err).Str("terminalId", o.TerminalID).Str("reference", o.Reference).Msg("outcome not recorded yet")
			_ = m.NakWithDelay(2 * time.Second)
			return
		}
		_ = m.Ack()
	})
	if err != nil {
		return err
	}
	<-ctx.Done()
	cc.Stop()
	return nil
}

// Connected counts the terminals connected now.
func (r *Relay) Connected() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, p := range r.presence {
		if time.Since(p.LastSeen) < liveFor {
			n++
		}
	}
	return n
}
