package host

// The client dials itself (honouring the context, TLS included), wraps
// the socket in a hostLink, signs on, and redials on demand whenever the
// previous connection has closed: a terminal wants to redial the moment a
// payment needs the host, within that payment's context, and to report
// "unreachable" at once when it cannot.

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/vinr/cashlessd/daemon"
)

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
		conn.fail(ErrClosed)
		return nil, fmt.Errorf("%w: %w", daemon.ErrHostUnreachable, ErrClosed)
	}
	c.conn = conn
	c.mu.Unlock()
	c.health.connected()
	return conn, nil
}

// forget drops conn as the current connection, so the next request
// redials; it reports whether conn was the current one.
func (c *Client) forget(conn *hostLink) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil && c.conn == conn {
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
	opts := linkOptions{
		spec:         c.spec,
		writeTimeout: c.cfg.Timeout,
		inbound:      c.inbound,
		failed: func(l *hostLink, err error) {
			c.log.Info().Msg("host link closed")
			if c.forget(l) {
				c.health.lost(err, false)
			}
		},
		readError: func(err error) {
			c.log.Debug().Err(err).Msg("host link error")
		},
	}
	if c.cfg.EchoInterval > 0 {
		opts.idle, opts.ping = c.cfg.EchoInterval, c.keepAlive
	}
	l := newLink(nc, opts)
	if err := c.network(ctx, l, NetworkSignOn); err != nil {
		l.fail(fmt.Errorf("sign-on: %w", err))
		return nil, fmt.Errorf("sign-on: %w", err)
	}
	l.setOnline()
	c.log.Info().Str("address", c.cfg.Address).Bool("tls", c.cfg.TLS != nil).Str("dialect", c.dialect).Msg("host link signed on")
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
	f := c.header(MTINetwork)
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
		conn.fail(fmt.Errorf("echo failed: %w", err))
	}
}

// inbound receives every message no request waits for: answers that came
// after their request gave up, and requests from the host. Late answers are
// logged and dropped: whatever they say, the transaction has already been
// reported as unknown and is being reversed.
func (c *Client) inbound(conn *hostLink, f *Fields) {
	if f.MTI == MTINetwork && f.NetworkCode == NetworkEcho {
		answer := &Fields{MTI: MTINetworkResponse, TPDU: AnswerTPDU(f.TPDU), TransmissionTime: f.TransmissionTime,
			STAN: f.STAN, ResponseCode: RCApproved, TerminalID: c.cfg.TerminalID, NetworkCode: f.NetworkCode}
		if frame, err := c.frame(answer); err == nil {
			conn.reply(frame)
		}
		return
	}
	c.log.Warn().Str("mti", f.MTI).Str("stan", f.STAN).Str("responseCode", f.ResponseCode).
		Str("rrn", f.RRN).Msg("late host response dropped, not booked")
}

// frame packs f in the link's dialect and puts the length header before it.
func (c *Client) frame(f *Fields) ([]byte, error) {
	if c.spec.TPDU && f.TPDU == nil {
		f.TPDU = c.tpdu
	}
	packed, err := Encode(c.spec, f)
	if err != nil {
		return nil, err
	}
	if len(packed) > MaxMessageLength {
		return nil, fmt.Errorf("%w: message of %d bytes exceeds %d", errTooLong, len(packed), MaxMessageLength)
	}
	frame := make([]byte, 2+len(packed))
	binary.BigEndian.PutUint16(frame, uint16(len(packed)))
	copy(frame[2:], packed)
	return frame, nil
}

// errTooLong marks a message too long for the length header.
var errTooLong = errors.New("message too long")

// roundTrip sends f on the current connection, dialing if needed, and
// waits for the answer. When the connection turns out to be closing before
// f was written, it redials once: nothing left, so nothing can be doubled.
//
// f's STAN is taken when it is sent (see send), after any dial and
// sign-on; a repeat (0401) given its STAN keeps it.
func (c *Client) roundTrip(ctx context.Context, f *Fields) (_ *Fields, err error) {
	defer func() { c.health.financial(err) }()
	fresh := f.STAN == ""
	for attempt := 0; ; attempt++ {
		conn, err := c.link(ctx)
		if err != nil {
			return nil, err
		}
		if fresh {
			// A request that did not leave takes a new STAN on the
			// redialled link, above its sign-on's.
			f.STAN = ""
		}
		resp, err := c.send(ctx, conn, f)
		if errors.Is(err, errNotSent) {
			// The connection is closing or stuck: drop it and redial.
			c.forget(conn)
			conn.fail(err)
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

// send sends f on conn and waits for its answer, for at most the
// configured timeout or until ctx ends. Errors that wrap
// daemon.ErrOutcomeUnknown mean the request may have reached the host.
//
// f without a STAN takes the next one here, at the moment it is sent, and
// every message gets its transmission time (7) now. From taking the STAN
// until the writer has taken the message (or the request gave up) no
// other message takes one, so STANs go on the wire in increasing order.
func (c *Client) send(ctx context.Context, conn *hostLink, f *Fields) (*Fields, error) {
	c.order.Lock()
	unlock := sync.OnceFunc(c.order.Unlock)
	defer unlock()
	if f.STAN == "" {
		stan, err := c.nextSTAN()
		if err != nil {
			return nil, err
		}
		f.STAN = stan
	}
	f.TransmissionTime = time.Now().UTC().Format("0102150405")
	frame, err := c.frame(f)
	if errors.Is(err, errTooLong) {
		return nil, fmt.Errorf("host: packing %s: %w", f.MTI, err)
	}
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
	state := &writeState{claimed: unlock}
	resp, err := conn.exchange(ctx, requestKey(f), frame, state, timeout)
	unlock()
	if err != nil {
		if state.abandon() {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%w: %s stan %s not sent: %w", daemon.ErrHostUnreachable, f.MTI, f.STAN, ctx.Err())
			}
			return nil, fmt.Errorf("%w: %s stan %s: %w: %v", daemon.ErrHostUnreachable, f.MTI, f.STAN, errNotSent, err)
		}
		c.log.Warn().Err(err).Str("mti", f.MTI).Str("stan", f.STAN).Msg("no answer from host")
		return nil, fmt.Errorf("%w: %s stan %s: %w", daemon.ErrOutcomeUnknown, f.MTI, f.STAN, err)
	}
	if want := ResponseMTI(f.MTI); resp.MTI != want || resp.ResponseCode == "" {
		return nil, fmt.Errorf("%w: answer to %s stan %s is %s with response code %q", daemon.ErrOutcomeUnknown,
			f.MTI, f.STAN, resp.MTI, resp.ResponseCode)
	}
	c.log.Debug().Str("mti", f.MTI).Str("stan", f.STAN).Str("responseCode", resp.ResponseCode).Msg("host answered")
	return resp, nil
}
