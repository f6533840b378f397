package host

// The persistent connection is github.com/moov-io/iso8583-connection: it
// frames messages, matches answers to requests (here by terminal ID and
// STAN), sends an echo when the link has been idle and hands answers that
// nobody waits for any more to a handler, which logs and drops them.
//
// Its Pool, which reconnects on a fixed timer in the background, is not
// used: a terminal wants to redial the moment a payment needs the host,
// within that payment's context, and to report "unreachable" at once when
// it cannot. So the client dials itself (honouring the context, TLS
// included), wraps the socket with connection.NewFrom, signs on, and redials
// on demand whenever the previous connection has closed.

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/moov-io/iso8583"
	connection "github.com/moov-io/iso8583-connection"
	iso8583errors "github.com/moov-io/iso8583/errors"

	"github.com/vinr/cashlessd/daemon"
)

// hostLink is one connection to the host with a channel that closes as
// soon as the library reports the connection failed. The library's own
// Done channel only closes once every Send has returned, and a request
// that slips onto the connection while it fails would otherwise wait out
// its whole timeout for an answer that can no longer be read.
type hostLink struct {
	*connection.Connection
	failed <-chan struct{}
}

// noEcho is the idle time given to the connection when echoes are off; the
// library needs a positive value.
const noEcho = 24 * time.Hour

// link returns a signed-on connection, dialing when there is none.
func (c *Client) link(ctx context.Context) (*hostLink, error) {
	if conn, err := c.current(); conn != nil || err != nil {
		return conn, err
	}
	select {
	case c.dialing <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", daemon.ErrHostUnreachable, ctx.Err())
	}
	defer func() { <-c.dialing }()
	// Another caller may have connected while this one waited.
	if conn, err := c.current(); conn != nil || err != nil {
		return conn, err
	}
	conn, err := c.connect(ctx)
	if err != nil {
		c.health.lost(err, true)
		// Only the error's text is kept: a sign-on that got no answer
		// is not an unknown payment outcome.
		return nil, fmt.Errorf("%w: %s", daemon.ErrHostUnreachable, err)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		_ = conn.Close()
		return nil, fmt.Errorf("%w: %w", daemon.ErrHostUnreachable, ErrClosed)
	}
	c.conn = conn
	c.mu.Unlock()
	c.health.connected()
	return conn, nil
}

// forget drops conn as the current connection, so the next request
// redials; it reports whether conn was the current one.
func (c *Client) forget(conn *connection.Connection) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil && c.conn.Connection == conn {
		c.conn = nil
		return true
	}
	return false
}

// current returns the live connection, if any.
func (c *Client) current() (*hostLink, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, fmt.Errorf("%w: %w", daemon.ErrHostUnreachable, ErrClosed)
	}
	if c.conn != nil && c.conn.alive() {
		return c.conn, nil
	}
	c.conn = nil
	return nil, nil
}

// alive reports whether the connection is signed on and has not failed.
func (l *hostLink) alive() bool {
	select {
	case <-l.failed:
		return false
	case <-l.Done():
		return false
	default:
		return l.Status() == connection.StatusOnline
	}
}

// connect dials, wraps the socket and signs on.
func (c *Client) connect(ctx context.Context) (*hostLink, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", c.cfg.Address)
	if err != nil {
		return nil, err
	}
	var nc net.Conn = raw
	if c.cfg.TLS != nil {
		tc := tls.Client(raw, c.tlsConfig())
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = raw.Close()
			return nil, fmt.Errorf("TLS handshake: %w", err)
		}
		nc = tc
	}
	failed := make(chan struct{})
	var failOnce sync.Once
	idle, ping := noEcho, func(*connection.Connection) {}
	if c.cfg.EchoInterval > 0 {
		idle = c.cfg.EchoInterval
		ping = func(conn *connection.Connection) { c.keepAlive(&hostLink{conn, failed}) }
	}
	conn, err := connection.NewFrom(nc, c.spec, ReadLength, WriteLength,
		connection.SetRequestIDGenerator(requestID{}),
		connection.SetMessageWriter(c.writes),
		connection.WithConnectionFailedHandler(func(conn *connection.Connection, err error) {
			failOnce.Do(func() { close(failed) })
			if c.forget(conn) {
				c.health.lost(err, false)
			}
		}),
		connection.SendTimeout(c.cfg.Timeout),
		connection.IdleTime(idle),
		connection.PingHandler(ping),
		connection.InboundMessageHandler(c.inbound),
		connection.ErrorHandler(func(err error) {
			c.log.Debug().Err(err).Msg("host link error")
		}),
		connection.ConnectionClosedHandler(func(*connection.Connection) {
			c.log.Info().Msg("host link closed")
		}),
	)
	if err != nil {
		_ = nc.Close()
		return nil, err
	}
	l := &hostLink{conn, failed}
	if err := c.network(ctx, l, NetworkSignOn); err != nil {
		go conn.TriggerFailure(fmt.Errorf("sign-on: %w", err))
		return nil, fmt.Errorf("sign-on: %w", err)
	}
	conn.SetStatus(connection.StatusOnline)
	c.log.Info().Str("address", c.cfg.Address).Bool("tls", c.cfg.TLS != nil).Msg("host link signed on")
	return l, nil
}

func (c *Client) tlsConfig() *tls.Config {
	cfg := c.cfg.TLS.Clone()
	if cfg.ServerName == "" && !cfg.InsecureSkipVerify {
		if h, _, err := net.SplitHostPort(c.cfg.Address); err == nil {
			cfg.ServerName = h
		}
	}
	if cfg.MinVersion < tls.VersionTLS12 {
		cfg.MinVersion = tls.VersionTLS12
	}
	return cfg
}

// network sends a network management request (sign-on, echo) on conn.
func (c *Client) network(ctx context.Context, conn *hostLink, code string) error {
	stan, err := c.nextSTAN()
	if err != nil {
		return err
	}
	f := c.header(MTINetwork, stan, time.Now())
	f.NetworkCode = code
	resp, err := c.send(ctx, conn, f)
	if err != nil {
		return err
	}
	if resp.ResponseCode != RCApproved {
		return fmt.Errorf("host answered %s to network code %s", resp.ResponseCode, code)
	}
	c.health.network()
	return nil
}

// keepAlive is the idle handler: an echo that fails takes the link down,
// and the next request redials.
func (c *Client) keepAlive(conn *hostLink) {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
	defer cancel()
	if err := c.network(ctx, conn, NetworkEcho); err != nil {
		c.log.Warn().Err(err).Msg("echo failed; closing host link")
		conn.TriggerFailure(fmt.Errorf("echo failed: %w", err))
	}
}

// inbound receives every message no request waits for: answers that came
// after their request gave up, and requests from the host. Late answers are
// logged and dropped: whatever they say, the transaction has already been
// reported as unknown and is being reversed.
func (c *Client) inbound(conn *connection.Connection, m *iso8583.Message) {
	f, err := Decode(m)
	if err != nil {
		c.log.Warn().Err(err).Msg("undecodable message from host dropped")
		return
	}
	if f.MTI == MTINetwork && f.NetworkCode == NetworkEcho {
		answer := &Fields{MTI: MTINetworkResponse, TransmissionTime: f.TransmissionTime, STAN: f.STAN,
			ResponseCode: RCApproved, TerminalID: c.cfg.TerminalID, NetworkCode: f.NetworkCode}
		if msg, err := Encode(c.spec, answer); err == nil {
			c.writes.track(msg)
			_ = conn.Reply(msg)
			c.writes.untrack(msg)
		}
		return
	}
	c.log.Warn().Str("mti", f.MTI).Str("stan", f.STAN).Str("responseCode", f.ResponseCode).
		Str("rrn", f.RRN).Msg("late host response dropped, not booked")
}

// roundTrip sends f on the current connection, dialing if needed, and
// waits for the answer. When the connection turns out to be closing before
// f was written, it redials once: nothing left, so nothing can be doubled.
func (c *Client) roundTrip(ctx context.Context, f *Fields) (_ *Fields, err error) {
	defer func() { c.health.financial(err) }()
	for attempt := 0; ; attempt++ {
		conn, err := c.link(ctx)
		if err != nil {
			return nil, err
		}
		resp, err := c.send(ctx, conn, f)
		if errors.Is(err, errNotSent) {
			// The connection is closing or stuck: drop it and redial.
			c.forget(conn.Connection)
			go conn.TriggerFailure(err)
			if attempt == 0 {
				continue
			}
		}
		return resp, err
	}
}

// errNotSent marks (inside daemon.ErrHostUnreachable) a request that failed
// before it was written, and now never will be.
var errNotSent = errors.New("request failed before it was written")

// sendGrace is how long send waits past the request timeout for the
// connection library to report back, in case it never does.
const sendGrace = 2 * time.Second

// failGrace is how long send still waits for an answer once the
// connection has failed.
const failGrace = 250 * time.Millisecond

// send sends f on conn and waits for its answer, for at most the
// configured timeout or until ctx ends. Errors that wrap
// daemon.ErrOutcomeUnknown mean the request may have reached the host.
func (c *Client) send(ctx context.Context, conn *hostLink, f *Fields) (*Fields, error) {
	msg, err := Encode(c.spec, f)
	if err != nil {
		return nil, fmt.Errorf("host: building %s: %w", f.MTI, err)
	}
	timeout := c.cfg.Timeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w: %s not sent: %w", daemon.ErrHostUnreachable, f.MTI, err)
	}
	if timeout <= 0 {
		return nil, fmt.Errorf("%w: %s not sent: %w", daemon.ErrHostUnreachable, f.MTI, context.DeadlineExceeded)
	}
	state := c.writes.track(msg)
	defer c.writes.untrack(msg)
	done := make(chan sendResult, 1)
	go func() {
		m, err := conn.Send(msg, connection.SendTimeout(timeout))
		done <- sendResult{m, err}
	}()
	// The library's own timeout should always fire first; this one only
	// guards against it never answering.
	guard := time.NewTimer(timeout + sendGrace)
	defer guard.Stop()
	var r sendResult
	select {
	case r = <-done:
	case <-ctx.Done():
		r.err = ctx.Err()
		c.abandon(conn.Connection, done)
	case <-conn.failed:
		// An answer read just before the failure may still be on its
		// way; after failGrace nothing more can come.
		t := time.NewTimer(failGrace)
		select {
		case r = <-done:
		case <-t.C:
			r.err = connection.ErrConnectionClosed
			c.abandon(conn.Connection, done)
		}
		t.Stop()
	case <-guard.C:
		r.err = connection.ErrSendTimeout
		c.abandon(conn.Connection, done)
	}
	if r.err != nil {
		var packErr *iso8583errors.PackError
		switch {
		case errors.As(r.err, &packErr):
			return nil, fmt.Errorf("host: packing %s: %w", f.MTI, r.err)
		case state.abandon():
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%w: %s stan %s not sent: %w", daemon.ErrHostUnreachable, f.MTI, f.STAN, ctx.Err())
			}
			return nil, fmt.Errorf("%w: %s stan %s: %w: %v", daemon.ErrHostUnreachable, f.MTI, f.STAN, errNotSent, r.err)
		}
		c.log.Warn().Err(r.err).Str("mti", f.MTI).Str("stan", f.STAN).Msg("no answer from host")
		return nil, fmt.Errorf("%w: %s stan %s: %w", daemon.ErrOutcomeUnknown, f.MTI, f.STAN, r.err)
	}
	resp, err := Decode(r.m)
	if err != nil {
		return nil, fmt.Errorf("%w: undecodable answer to %s stan %s: %w", daemon.ErrOutcomeUnknown, f.MTI, f.STAN, err)
	}
	if want := ResponseMTI(f.MTI); resp.MTI != want || resp.ResponseCode == "" {
		return nil, fmt.Errorf("%w: answer to %s stan %s is %s with response code %q", daemon.ErrOutcomeUnknown,
			f.MTI, f.STAN, resp.MTI, resp.ResponseCode)
	}
	c.log.Debug().Str("mti", f.MTI).Str("stan", f.STAN).Str("responseCode", resp.ResponseCode).Msg("host answered")
	return resp, nil
}

// abandon stops waiting for a request whose Send is still running: an
// answer that still comes is logged and dropped.
func (c *Client) abandon(conn *connection.Connection, done <-chan sendResult) {
	go func() {
		if r := <-done; r.m != nil {
			c.inbound(conn, r.m)
		}
	}()
}

// sendResult is what connection.Send returned.
type sendResult struct {
	m   *iso8583.Message
	err error
}

// requestID matches an answer to its request by terminal ID and STAN.
type requestID struct{}

func (requestID) GenerateRequestID(m *iso8583.Message) (string, error) {
	tid, err := m.GetString(41)
	if err != nil {
		return "", err
	}
	stan, err := m.GetString(11)
	if err != nil {
		return "", err
	}
	if stan == "" {
		return "", errors.New("STAN is missing")
	}
	return tid + "/" + stan, nil
}
