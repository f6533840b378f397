// Package cloudlink is the terminal's link to the cloud relay
// (cashless-cloud) over NATS, the only package of the daemon that speaks
// NATS. It keeps one outbound TLS connection, authenticated with the
// terminal's own NKey (made on first start, seed in a 0600 file), and
// reconnects with back-off forever. Calls addressed to the terminal ID
// arrive as NATS requests and run through the same API routes as LAN calls
// (api.Server.ServeRelayed); their answers go back with the HTTP status and
// headers. It announces the terminal (a Hello on connect and every
// heartbeat), publishes each finished transaction's outcome to JetStream
// through an outbox on disk (retried until acknowledged, across link drops
// and restarts), binds and unbinds the terminal, and follows the relay's
// control notices. The subjects and messages are package relaylink's.
package cloudlink

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/api"
	"github.com/vinr/cashlessd/daemon/api/wire"
	"github.com/vinr/cashlessd/relaylink"
)

// Config is what the link needs to know.
type Config struct {
	// URL is the relay's NATS address (tls://host:4222; several
	// comma-separated for a cluster). The connection is always TLS.
	URL string
	// CAFile verifies the NATS server's certificate; empty: the system's
	// roots.
	CAFile string
	// CredentialsFile holds the terminal's NKey seed; empty:
	// <DataDir>/cloud.nk. It is made on first start.
	CredentialsFile string
	// DataDir holds the outbox of outcomes not yet acknowledged.
	DataDir string

	TerminalID      string
	Model           string
	SoftwareVersion string
	// Simulator also presents relaylink.SimulatorToken, which a relay in
	// simulator mode accepts.
	Simulator bool
}

// Handler serves a relayed call (api.Server).
type Handler interface {
	ServeRelayed(ctx context.Context, endpoint string, body []byte, caller string) api.RelayedAnswer
}

// BusyReporter tells whether a transaction holds the terminal (for the
// Hello).
type BusyReporter interface {
	Busy() bool
}

// Timing of the relaylink.
const (
	// minBackoff and maxBackoff bound the wait between reconnects (doubled
	// each failed attempt, plus up to a second of jitter).
	minBackoff = time.Second
	maxBackoff = 30 * time.Second
	// pingInterval and maxPingsOut find a dead connection (a network that
	// changed under it) within about a minute.
	pingInterval = 20 * time.Second
	maxPingsOut  = 3
	// requestTimeout bounds a bind, an unbind and one outcome publish.
	requestTimeout = 10 * time.Second
)

// Link is the terminal's connection to the relay.
type Link struct {
	cfg    Config
	log    zerolog.Logger
	key    nkeys.KeyPair
	public string
	outbox *outbox

	mu      sync.Mutex
	state   daemon.CloudState
	since   time.Time
	nc      *nats.Conn
	js      jetstream.JetStream
	calls   *nats.Subscription // relaylink.Request: dropped first at Close
	handler Handler
	busy    BusyReporter
	closing bool // Close has begun: no new relayed call
	ready   bool // the subscriptions are made: connected means reachable
	lastErr string

	connected chan struct{} // poked on each (re)connect
	cancel    context.CancelFunc
	work      sync.WaitGroup // the loops
	running   sync.WaitGroup // relayed calls in progress
}

// New loads (or makes, on first start) the terminal's NKey and opens the
// outbox. It does not connect: Start does.
func New(cfg Config, log zerolog.Logger) (*Link, error) {
	if err := relaylink.ValidTerminalID(cfg.TerminalID); err != nil {
		return nil, fmt.Errorf("cloud: %w", err)
	}
	if cfg.URL == "" {
		return nil, errors.New("cloud: no relay URL")
	}
	if cfg.CredentialsFile == "" {
		cfg.CredentialsFile = filepath.Join(cfg.DataDir, KeyFileName)
	}
	kp, created, err := loadOrCreateKey(cfg.CredentialsFile)
	if err != nil {
		return nil, err
	}
	public, err := kp.PublicKey()
	if err != nil {
		return nil, err
	}
	box, err := openOutbox(filepath.Join(cfg.DataDir, OutboxDir))
	if err != nil {
		return nil, err
	}
	log = log.With().Str("component", "cloud").Logger()
	if created {
		log.Info().Str("publicKey", public).Str("file", cfg.CredentialsFile).Msg("cloud key pair made for this terminal")
	}
	return &Link{cfg: cfg, log: log, key: kp, public: public, outbox: box, state: daemon.CloudConnecting,
		since: time.Now().UTC(), connected: make(chan struct{}, 1)}, nil
}

// Waiting is how many outcomes wait in the outbox for the relay's
// acknowledgement.
func (l *Link) Waiting() int {
	names, err := l.outbox.pending()
	if err != nil {
		return 0
	}
	return len(names)
}

// PublicKey is the terminal's NKey public key, as the relay sees it.
func (l *Link) PublicKey() string { return l.public }

// CloudHealth is the link's state for status (daemon.CloudReporter).
func (l *Link) CloudHealth() daemon.CloudHealth {
	l.mu.Lock()
	defer l.mu.Unlock()
	return daemon.CloudHealth{State: l.state, Since: l.since}
}

// setState records a change of state. Once Close has begun only off is
// recorded (the connection's own callbacks may come after it).
func (l *Link) setState(s daemon.CloudState) {
	l.mu.Lock()
	if l.closing && s != daemon.CloudOff {
		l.mu.Unlock()
		return
	}
	changed := l.state != s
	if changed {
		l.state, l.since = s, time.Now().UTC()
	}
	l.mu.Unlock()
	if changed {
		l.log.Info().Str("state", string(s)).Msg("cloud link " + string(s))
	}
}

// Start connects (in the background: an unreachable relay is tried again
// forever) and serves calls on h. busy, when set, fills the Hello's busy
// flag. Relayed calls run under ctx's values but are not cut short when ctx
// ends or the link drops: a running transaction finishes locally. A link
// that cannot start (an unreadable CA file, say) reports itself off.
func (l *Link) Start(ctx context.Context, h Handler, busy BusyReporter) (err error) {
	defer func() {
		if err != nil {
			l.setState(daemon.CloudOff)
		}
	}()
	tlsConfig, err := l.tlsConfig()
	if err != nil {
		return err
	}
	opts := []nats.Option{
		nats.Name(l.cfg.TerminalID),
		nats.Nkey(l.public, l.key.Sign),
		nats.Secure(tlsConfig),
		nats.CustomInboxPrefix(relaylink.Inbox(l.cfg.TerminalID)),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.CustomReconnectDelay(backoff),
		nats.PingInterval(pingInterval),
		nats.MaxPingsOutstanding(maxPingsOut),
		nats.ConnectHandler(func(*nats.Conn) { l.onConnect() }),
		nats.ReconnectHandler(func(*nats.Conn) { l.onConnect() }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			l.setState(daemon.CloudConnecting)
			if err != nil {
				l.log.Warn().Err(err).Msg("cloud link dropped; reconnecting")
			}
		}),
		nats.ReconnectErrHandler(func(_ *nats.Conn, err error) { l.noteError(err, "cloud relay not reached; trying again") }),
		// An unbound terminal may only ask to be bound: the relay refuses
		// its other subscriptions and publications until it is.
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			l.noteError(err, "cloud link error (an unbound terminal is refused all but binding)")
		}),
	}
	if l.cfg.Simulator {
		opts = append(opts, nats.Token(relaylink.SimulatorToken))
	}
	l.mu.Lock()
	l.handler, l.busy = h, busy
	l.mu.Unlock()
	nc, err := nats.Connect(l.cfg.URL, opts...)
	if err != nil {
		return fmt.Errorf("cloud: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return fmt.Errorf("cloud: %w", err)
	}
	base, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l.mu.Lock()
	l.nc, l.js, l.cancel = nc, js, cancel
	l.mu.Unlock()
	id := l.cfg.TerminalID
	calls, err := nc.Subscribe(relaylink.Request(id), func(m *nats.Msg) { l.serve(base, m) })
	if err != nil {
		l.Close()
		return fmt.Errorf("cloud: %w", err)
	}
	if _, err := nc.Subscribe(relaylink.Control(id), l.control); err != nil {
		l.Close()
		return fmt.Errorf("cloud: %w", err)
	}
	l.mu.Lock()
	l.ready, l.calls = true, calls
	l.mu.Unlock()
	if nc.IsConnected() && nc.Flush() == nil {
		l.onConnect()
	}
	l.work.Add(2)
	go l.heartbeat(base)
	go l.publishOutcomes(base)
	l.log.Info().Str("url", l.cfg.URL).Str("publicKey", l.public).Msg("cloud link started")
	return nil
}

// Close stops the relaylink. New calls are refused at once (the relay finds no
// terminal to answer); relayed calls in progress finish first (they are
// transactions) and their outcomes stay in the outbox for the next start.
func (l *Link) Close() {
	l.mu.Lock()
	nc, cancel, calls := l.nc, l.cancel, l.calls
	l.closing = true
	l.mu.Unlock()
	if calls != nil {
		_ = calls.Unsubscribe()
	}
	l.running.Wait()
	if cancel != nil {
		cancel()
	}
	l.work.Wait()
	if nc != nil {
		nc.Close()
	}
	l.mu.Lock()
	l.state, l.since = daemon.CloudOff, time.Now().UTC()
	l.mu.Unlock()
}

// backoff is the wait before the attempts-th reconnect to the server list.
func backoff(attempts int) time.Duration {
	d := maxBackoff
	if attempts < 6 {
		d = min(minBackoff<<max(attempts-1, 0), maxBackoff)
	}
	return d + rand.N(time.Second)
}

func (l *Link) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if l.cfg.CAFile != "" {
		pem, err := os.ReadFile(l.cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("cloud CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("cloud CA %s: no certificate in it", l.cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// onConnect marks the link up, announces the terminal and wakes the
// outbox.
func (l *Link) onConnect() {
	l.mu.Lock()
	ready := l.ready
	l.lastErr = ""
	l.mu.Unlock()
	if !ready {
		return
	}
	l.setState(daemon.CloudConnected)
	select {
	case l.connected <- struct{}{}:
	default:
	}
	l.outbox.poke()
}

// noteError logs a failed connection attempt or an error the server sent:
// a warning when the reason changed, else at debug level (the link retries
// forever, and logs live on flash).
func (l *Link) noteError(err error, msg string) {
	if err == nil {
		return
	}
	l.mu.Lock()
	changed := err.Error() != l.lastErr
	l.lastErr = err.Error()
	l.mu.Unlock()
	ev := l.log.Debug()
	if changed {
		ev = l.log.Warn()
	}
	ev.Err(err).Msg(msg)
}

// conn is the NATS connection (nil before Start).
func (l *Link) conn() *nats.Conn {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.nc
}

// heartbeat publishes the Hello on each connect and every heartbeat.
func (l *Link) heartbeat(ctx context.Context) {
	defer l.work.Done()
	tick := time.NewTicker(relaylink.HeartbeatIntervalSeconds * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.connected:
		case <-tick.C:
		}
		l.hello()
	}
}

// hello publishes the terminal's presence.
func (l *Link) hello() {
	nc := l.conn()
	if nc == nil || !nc.IsConnected() {
		return
	}
	l.mu.Lock()
	busy := l.busy
	l.mu.Unlock()
	msg := relaylink.HelloMessage{TerminalID: l.cfg.TerminalID, PublicKey: l.public, Model: l.cfg.Model,
		SoftwareVersion: l.cfg.SoftwareVersion, Simulator: l.cfg.Simulator, SentAt: time.Now().UTC().Format(time.RFC3339)}
	if busy != nil {
		msg.Busy = busy.Busy()
	}
	data, err := json.Marshal(msg)
	if err != nil {
		return
	}
	if err := nc.Publish(relaylink.Hello(l.cfg.TerminalID), data); err != nil {
		l.log.Debug().Err(err).Msg("hello not sent")
	}
}

// serve runs one relayed call and answers it. The call runs in its own
// goroutine (a status call is answered while a sale runs) under base, which
// a dropped link does not end.
func (l *Link) serve(base context.Context, m *nats.Msg) {
	l.mu.Lock()
	h := l.handler
	if l.closing || h == nil {
		l.mu.Unlock()
		return
	}
	l.running.Add(1)
	l.mu.Unlock()
	go func() {
		defer l.running.Done()
		endpoint, caller := m.Header.Get(relaylink.HeaderEndpoint), m.Header.Get(relaylink.HeaderCaller)
		ans := h.ServeRelayed(base, endpoint, m.Data, caller)
		if m.Reply == "" {
			return
		}
		reply := nats.NewMsg(m.Reply)
		reply.Header.Set(relaylink.HeaderStatus, strconv.Itoa(ans.Status))
		for name, values := range ans.Header {
			if name == "Connection" || name == "Content-Length" {
				continue
			}
			for _, v := range values {
				reply.Header.Add(relaylink.HeaderResponsePrefix+name, v)
			}
		}
		reply.Data = ans.Body
		if err := m.RespondMsg(reply); err != nil {
			l.log.Warn().Err(err).Str("endpoint", endpoint).Int("status", ans.Status).
				Msg("relayed call answered locally but the answer did not reach the relay; its outcome will")
		}
	}()
}

// control follows a relay notice.
func (l *Link) control(m *nats.Msg) {
	var c relaylink.ControlMessage
	if err := json.Unmarshal(m.Data, &c); err != nil {
		l.log.Warn().Msg("unreadable control message from the relay")
		return
	}
	switch c.Action {
	case "unbound":
		l.log.Warn().Str("merchantId", c.MerchantID).Msg("the relay unbound this terminal; bind it again to be reached through the cloud")
		l.reconnect()
	default:
		l.log.Info().Str("action", c.Action).Msg("control message ignored")
	}
}

// reconnect makes the connection again, so the server applies the
// permissions of a changed binding.
func (l *Link) reconnect() {
	if nc := l.conn(); nc != nil {
		if err := nc.ForceReconnect(); err != nil {
			l.log.Debug().Err(err).Msg("reconnect not forced")
		}
	}
}

// Outcome stores a finished transaction's answer in the outbox, to be
// published until acknowledged (api.OutcomeSink).
func (l *Link) Outcome(o api.Outcome) {
	msg := relaylink.OutcomeMessage{TerminalID: l.cfg.TerminalID, Endpoint: o.Endpoint, Reference: o.Reference,
		TransactionID: o.TransactionID, HTTPStatus: o.Status, Body: o.Body, FinishedAt: time.Now().UTC().Format(time.RFC3339Nano)}
	data, err := json.Marshal(msg)
	if err == nil {
		err = l.outbox.add(data)
	}
	if err != nil {
		l.log.Error().Err(err).Str("reference", o.Reference).Msg("outcome not queued for the relay; it stays retrievable by lookup")
	}
}

// publishOutcomes publishes the outbox in order, each until JetStream
// acknowledges it, waiting with back-off while the link is down or the
// stream does not answer.
func (l *Link) publishOutcomes(ctx context.Context) {
	defer l.work.Done()
	failures := 0
	for {
		if l.flushOutbox(ctx) {
			failures = 0
			select {
			case <-ctx.Done():
				return
			case <-l.outbox.wake:
			}
			continue
		}
		failures++
		select {
		case <-ctx.Done():
			return
		case <-l.outbox.wake:
		case <-time.After(backoff(failures)):
		}
	}
}

// flushOutbox publishes every waiting outcome; false when one failed.
func (l *Link) flushOutbox(ctx context.Context) bool {
	names, err := l.outbox.pending()
	if err != nil {
		l.log.Error().Err(err).Msg("cloud outbox unreadable")
		return false
	}
	l.mu.Lock()
	nc, js := l.nc, l.js
	l.mu.Unlock()
	for _, name := range names {
		if ctx.Err() != nil || nc == nil || !nc.IsConnected() {
			return false
		}
		data, err := l.outbox.read(name)
		if err != nil {
			_ = l.outbox.done(name)
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, requestTimeout)
		msg := &nats.Msg{Subject: relaylink.Outcome(l.cfg.TerminalID), Data: data, Header: nats.Header{}}
		_, err = js.PublishMsg(pctx, msg, jetstream.WithMsgID(l.cfg.TerminalID+"-"+name))
		cancel()
		if err != nil {
			l.log.Debug().Err(err).Msg("outcome not acknowledged yet; retrying")
			return false
		}
		if err := l.outbox.done(name); err != nil {
			l.log.Warn().Err(err).Msg("acknowledged outcome not removed from the outbox")
		}
	}
	return true
}

// Bind asks the relay to bind this terminal: with a one-time key, or by
// express binding when key is "" (the relay has the terminal prebound).
// A bind that changed the binding reconnects the relaylink.
func (l *Link) Bind(ctx context.Context, key string) (relaylink.BindAnswer, error) {
	subject := relaylink.Bind
	if key == "" {
		subject = relaylink.ExpressBind
	}
	req, err := json.Marshal(relaylink.BindRequest{Key: key, TerminalID: l.cfg.TerminalID, PublicKey: l.public,
		Model: l.cfg.Model, SoftwareVersion: l.cfg.SoftwareVersion})
	if err != nil {
		return relaylink.BindAnswer{}, err
	}
	ans, err := l.ask(ctx, subject, req)
	if err == nil && ans.Bound {
		l.log.Info().Str("merchantId", ans.MerchantID).Bool("express", key == "").Msg("terminal bound on the cloud relay")
		l.reconnect()
	}
	return ans, err
}

// Unbind asks the relay to drop this terminal's binding.
func (l *Link) Unbind(ctx context.Context) (relaylink.BindAnswer, error) {
	ans, err := l.ask(ctx, relaylink.Unbind(l.cfg.TerminalID), nil)
	if err == nil && ans.Error == "" {
		l.log.Info().Msg("terminal unbound on the cloud relay")
		l.reconnect()
	}
	return ans, err
}

// SimBind is Bind in the simulator API's shape (api.CloudBinder).
func (l *Link) SimBind(ctx context.Context, key string) (wire.SimBindAnswer, error) {
	a, err := l.Bind(ctx, key)
	return wire.SimBindAnswer{Bound: a.Bound, MerchantID: a.MerchantID, Error: a.Error, Message: a.Message}, err
}

// waitConnected waits until the link is up or ctx ends.
func (l *Link) waitConnected(ctx context.Context) (*nats.Conn, error) {
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	for {
		if nc := l.conn(); nc != nil && nc.IsConnected() {
			return nc, nil
		}
		select {
		case <-ctx.Done():
			return nil, ErrNotConnected
		case <-poll.C:
		}
	}
}

// ErrNotConnected means the link to the relay is down.
var ErrNotConnected = errors.New("the cloud link is not connected")

// ask sends a request to the relay and reads its BindAnswer. A link that
// is reconnecting (after a bind, say) is waited for, up to requestTimeout.
func (l *Link) ask(ctx context.Context, subject string, data []byte) (relaylink.BindAnswer, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	nc, err := l.waitConnected(ctx)
	if err != nil {
		return relaylink.BindAnswer{}, err
	}
	m, err := nc.RequestWithContext(ctx, subject, data)
	if err != nil {
		return relaylink.BindAnswer{}, fmt.Errorf("the relay did not answer: %w", err)
	}
	var ans relaylink.BindAnswer
	if err := json.Unmarshal(m.Data, &ans); err != nil {
		return relaylink.BindAnswer{}, fmt.Errorf("unreadable answer from the relay")
	}
	return ans, nil
}

// ErrNoKey means the terminal has no cloud key yet (the daemon makes it at
// its first start with a relay configured).
var ErrNoKey = errors.New("no cloud key yet: cashlessd makes it at its first start with a relay configured")

// Probe connects to the relay once, as the daemon would (TLS, the
// terminal's key), and disconnects: for diag, when no daemon runs. It
// never makes a key; it returns the public key it presented.
func Probe(ctx context.Context, cfg Config) (string, error) {
	if cfg.CredentialsFile == "" {
		cfg.CredentialsFile = filepath.Join(cfg.DataDir, KeyFileName)
	}
	if _, err := os.Stat(cfg.CredentialsFile); errors.Is(err, os.ErrNotExist) {
		return "", ErrNoKey
	}
	kp, _, err := loadOrCreateKey(cfg.CredentialsFile)
	if err != nil {
		return "", err
	}
	public, err := kp.PublicKey()
	if err != nil {
		return "", err
	}
	l := &Link{cfg: cfg}
	tc, err := l.tlsConfig()
	if err != nil {
		return public, err
	}
	timeout := requestTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	opts := []nats.Option{nats.Name(cfg.TerminalID), nats.Nkey(public, kp.Sign), nats.Secure(tc),
		nats.Timeout(timeout), nats.NoReconnect(), nats.CustomInboxPrefix(relaylink.Inbox(cfg.TerminalID))}
	if cfg.Simulator {
		opts = append(opts, nats.Token(relaylink.SimulatorToken))
	}
	nc, err := nats.Connect(cfg.URL, opts...)
	if err != nil {
		return public, err
	}
	defer nc.Close()
	return public, nc.FlushWithContext(ctx)
}
