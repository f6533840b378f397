package host

// The persistent connection to the host: one socket, a writer goroutine
// that frames and writes the messages handed to it (sending an echo when
// nothing was written for the idle time), a reader goroutine that reads
// every frame, matches answers to the requests waiting for them by
// terminal ID and STAN, and hands everything else (late answers, requests
// from the host) to the client. The first read or write error fails the
// connection: the socket closes, every waiting request is told at once,
// and the next request redials.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/vinr/cashlessd/daemon/host/iso8583"
)

// errConnectionClosed is what a request still waiting for its answer gets
// when the connection fails.
var errConnectionClosed = errors.New("connection closed")

// errSendTimeout is what a request gets when no answer came in time.
var errSendTimeout = errors.New("no answer within the timeout")

// linkOptions are the client's hooks into one connection.
type linkOptions struct {
	spec *iso8583.Spec
	// writeTimeout bounds each write to the socket.
	writeTimeout time.Duration
	// idle is how long the writer may stay silent before ping runs; zero
	// disables it.
	idle time.Duration
	ping func(*hostLink)
	// inbound receives every message no request waits for.
	inbound func(*hostLink, *Fields)
	// failed runs once, when the connection fails.
	failed func(*hostLink, error)
	// readError receives messages that could not be decoded.
	readError func(error)
}

// hostLink is one connection to the host.
type hostLink struct {
	nc   net.Conn
	opts linkOptions
	out  chan outgoing

	failed   chan struct{} // closed when the connection fails
	failOnce sync.Once

	mu      sync.Mutex // guards pending and online
	pending map[string]chan *Fields
	online  bool
}

// outgoing is one framed message for the writer.
type outgoing struct {
	frame []byte
	state *writeState
}

// newLink starts the reader and the writer on nc.
func newLink(nc net.Conn, opts linkOptions) *hostLink {
	l := &hostLink{nc: nc, opts: opts, out: make(chan outgoing, 16), failed: make(chan struct{}),
		pending: map[string]chan *Fields{}}
	go l.readLoop()
	go l.writeLoop()
	return l
}

// alive reports whether the connection is signed on and has not failed.
func (l *hostLink) alive() bool {
	select {
	case <-l.failed:
		return false
	default:
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.online
}

// setOnline marks the connection signed on.
func (l *hostLink) setOnline() {
	l.mu.Lock()
	l.online = true
	l.mu.Unlock()
}

// fail closes the connection for good; only the first call counts.
func (l *hostLink) fail(err error) {
	l.failOnce.Do(func() {
		close(l.failed)
		_ = l.nc.Close()
		if l.opts.failed != nil {
			l.opts.failed(l, err)
		}
	})
}

// requestKey matches an answer to its request.
func requestKey(f *Fields) string { return f.TerminalID + "/" + f.STAN }

// isResponse reports whether mti is an answer (a request response, an
// advice response, a notification or instruction acknowledgement).
func isResponse(mti string) bool {
	if len(mti) != 4 {
		return false
	}
	switch mti[2] {
	case '1', '3', '5', '7':
		return true
	}
	return false
}

// exchange hands the framed request to the writer and waits for the
// answer to the request with key, for at most timeout or until ctx ends.
// Whether the request was written is for state to tell.
func (l *hostLink) exchange(ctx context.Context, key string, frame []byte, state *writeState, timeout time.Duration) (*Fields, error) {
	answer := make(chan *Fields, 1)
	l.mu.Lock()
	if _, dup := l.pending[key]; dup {
		l.mu.Unlock()
		return nil, fmt.Errorf("a request %s is already waiting", key)
	}
	l.pending[key] = answer
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		if l.pending[key] == answer {
			delete(l.pending, key)
		}
		l.mu.Unlock()
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case l.out <- outgoing{frame, state}:
	case <-l.failed:
		return nil, errConnectionClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
		return nil, errSendTimeout
	}
	select {
	case f := <-answer:
		return f, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
		return nil, errSendTimeout
	case <-l.failed:
		// The reader delivers an answer before it fails the connection.
		select {
		case f := <-answer:
			return f, nil
		default:
			return nil, errConnectionClosed
		}
	}
}

// reply hands a message that expects no answer to the writer.
func (l *hostLink) reply(frame []byte) {
	select {
	case l.out <- outgoing{frame, new(writeState)}:
	case <-l.failed:
	}
}

// writeLoop writes the messages handed to it, one at a time, each in a
// single write; a message abandoned by its sender before its turn is
// dropped.
func (l *hostLink) writeLoop() {
	var idle <-chan time.Time
	var t *time.Timer
	if l.opts.idle > 0 {
		t = time.NewTimer(l.opts.idle)
		defer t.Stop()
		idle = t.C
	}
	for {
		select {
		case <-l.failed:
			return
		case o := <-l.out:
			if !o.state.write() {
				continue
			}
			if l.opts.writeTimeout > 0 {
				_ = l.nc.SetWriteDeadline(time.Now().Add(l.opts.writeTimeout))
			}
			if _, err := l.nc.Write(o.frame); err != nil {
				l.fail(fmt.Errorf("writing: %w", err))
				return
			}
			if t != nil {
				t.Reset(l.opts.idle)
			}
		case <-idle:
			go l.opts.ping(l)
			t.Reset(l.opts.idle)
		}
	}
}

// readLoop reads frames until the connection fails. A frame that does not
// decode is reported and skipped: the length header kept the stream in
// step.
func (l *hostLink) readLoop() {
	for {
		raw, err := ReadFrame(l.nc)
		if err != nil {
			l.fail(fmt.Errorf("reading: %w", err))
			return
		}
		f, err := Decode(l.opts.spec, raw)
		if err != nil {
			if l.opts.readError != nil {
				l.opts.readError(fmt.Errorf("undecodable message: %w", err))
			}
			continue
		}
		if isResponse(f.MTI) {
			l.mu.Lock()
			answer, found := l.pending[requestKey(f)]
			if found {
				delete(l.pending, requestKey(f))
			}
			l.mu.Unlock()
			if found {
				answer <- f
				continue
			}
		}
		if l.opts.inbound != nil {
			go l.opts.inbound(l, f)
		}
	}
}
