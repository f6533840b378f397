package reader

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"go.bug.st/serial"
)

// The link is one open port: a goroutine reading frames, and stop-and-wait
// command exchanges by the caller that holds the Reader's turn.
//
// Rules (docs/reader-protocol.md, "Link rules"):
//   - One command is outstanding at a time. Its response (same SEQ)
//     acknowledges it; there is no separate ACK for a command that is
//     answered within the response timeout, and the response itself is
//     not acknowledged: the next command does that.
//   - A command not answered within the response timeout is sent again
//     with the same SEQ, up to MaxTries sends in all. The reader answers
//     a repeat of a command it already executed with the same response,
//     without executing it again, and a repeat of a command it is still
//     executing with ACK, which resets the count: the reader is alive.
//   - Events carry the reader's own SEQ and are acknowledged with ACK. A
//     repeated event (same SEQ; its ACK was lost) is acknowledged again
//     and not delivered twice.
//   - Damaged input (bytes dropped by the decoder) is answered with one
//     NAK. On NAK the terminal sends its outstanding command again, or,
//     with none outstanding, its last ACK.
//   - SEQ 0 marks the first frame after a (re)start: the INFO the driver
//     sends right after opening the port, and the reader's first event.
//     It is never taken for a repeat of an earlier frame, and it resets
//     the receiver's memory of SEQs.

// counters are the Reader's statistics, kept across reopened links.
type counters struct {
	framesSent, framesReceived atomic.Int64
	bytesSent, bytesReceived   atomic.Int64
	commands, retransmissions  atomic.Int64
	naksSent, naksReceived     atomic.Int64
	bytesDiscarded             atomic.Int64
	events, duplicateEvents    atomic.Int64
	opens                      atomic.Int64
}

// eventQueue is the number of undelivered events a link keeps; older ones
// are dropped first.
const eventQueue = 16

type link struct {
	port  serial.Port
	rto   time.Duration // response timeout
	tries int
	gap   time.Duration // quiet time that ends a partial frame
	st    *counters
	log   zerolog.Logger

	wmu        sync.Mutex // one frame at a time on the wire, and the port's closing
	lastACK    []byte     // under wmu: the last ACK sent, for a NAK
	portClosed bool       // under wmu

	mu         sync.Mutex
	pending    int // SEQ of the outstanding command, or -1
	lastEvt    int // SEQ of the last event delivered, or -1
	lastEvtSum uint16
	err        error // why the link died; set before dead is closed

	ctrl   chan Frame    // responses, ACKs and NAKs for the outstanding command
	events chan Frame    // new events, oldest first
	quit   chan struct{} // closed by close: the read loop closes the port and ends
	dead   chan struct{} // closed when the read loop has closed the port

	seq byte // the last command SEQ used; only the turn holder touches it

	closeOnce sync.Once
}

func newLink(port serial.Port, cfg Config, st *counters) *link {
	return &link{
		port:    port,
		rto:     cfg.ResponseTimeout,
		tries:   cfg.MaxTries,
		gap:     cfg.FrameGap,
		st:      st,
		log:     cfg.Logger,
		pending: -1,
		lastEvt: -1,
		ctrl:    make(chan Frame, 8),
		events:  make(chan Frame, eventQueue),
		quit:    make(chan struct{}),
		dead:    make(chan struct{}),
	}
}

// start runs the read loop.
func (l *link) start() { go l.readLoop() }

// The port is closed only by the read loop, between reads and under wmu:
// go.bug.st/serial (v1.8.0) reads and writes the file descriptor number
// even after Close, and once the number is reused by another open file a
// late Write would go there. So no Read or Write can overlap Close, and
// writes check portClosed first. The read loop polls for quit every
// pollEvery.
const pollEvery = 100 * time.Millisecond

// close asks the read loop to close the port and end; it does not wait.
func (l *link) close(why error) {
	l.closeOnce.Do(func() {
		l.setErr(why)
		close(l.quit)
	})
}

// shutdown closes the link and waits until the port is closed, so that
// it can be opened again at once (the port is opened for exclusive use).
func (l *link) shutdown(why error) {
	l.close(why)
	<-l.dead
}

// fail records why the link is unusable and closes it.
func (l *link) fail(err error) { l.close(err) }

func (l *link) setErr(err error) {
	l.mu.Lock()
	if l.err == nil {
		l.err = err
	}
	l.mu.Unlock()
}

// failure is why the link died.
func (l *link) failure() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		return ErrDisconnected
	}
	return l.err
}

// alive reports whether the link is open and not closing.
func (l *link) alive() bool {
	select {
	case <-l.quit:
		return false
	case <-l.dead:
		return false
	default:
		return true
	}
}

func (l *link) readLoop() {
	defer close(l.dead)
	defer func() {
		l.wmu.Lock()
		l.portClosed = true
		l.port.Close()
		l.wmu.Unlock()
	}()
	var dec Decoder
	defer dec.Flush() // clears what it held: it may be card data
	buf := make([]byte, 1024)
	defer clear(buf)
	last := time.Now() // when the last byte came
	for {
		select {
		case <-l.quit:
			return
		default:
		}
		wait := pollEvery
		if dec.Pending() > 0 {
			wait = min(wait, max(l.gap-time.Since(last), time.Millisecond))
		}
		if err := l.port.SetReadTimeout(wait); err != nil {
			l.setErr(disconnected(err))
			return
		}
		n, err := l.port.Read(buf)
		if err != nil {
			l.setErr(disconnected(err))
			return
		}
		if n > 0 {
			last = time.Now()
			l.st.bytesReceived.Add(int64(n))
			dec.Write(buf[:n])
		} else if dec.Pending() > 0 && time.Since(last) >= l.gap {
			dec.Flush() // quiet in the middle of a frame
		}
		for {
			f, ok := dec.Next()
			if !ok {
				break
			}
			l.st.framesReceived.Add(1)
			l.handle(f)
		}
		if d := dec.Discarded(); d > 0 {
			l.st.bytesDiscarded.Add(int64(d))
			l.log.Debug().Int("bytes", d).Msg("reader: damaged input, sending NAK")
			l.st.naksSent.Add(1)
			l.send(Frame{Type: TypeNAK})
		}
	}
}

// handle routes one received frame.
func (l *link) handle(f Frame) {
	switch {
	case f.Type == TypeNAK:
		l.st.naksReceived.Add(1)
		l.mu.Lock()
		outstanding := l.pending >= 0
		l.mu.Unlock()
		if outstanding {
			l.deliver(f)
			return
		}
		l.wmu.Lock()
		ack := l.lastACK
		l.wmu.Unlock()
		if ack != nil {
			l.writeRaw(ack)
		}
	case f.Type == TypeACK || f.Type.IsResponse():
		l.mu.Lock()
		match := int(f.Seq) == l.pending
		l.mu.Unlock()
		if match {
			l.deliver(f)
		}
	case f.Type.IsEvent():
		b, _ := Frame{Seq: f.Seq, Type: TypeACK}.MarshalBinary()
		l.wmu.Lock()
		l.lastACK = b
		l.wmu.Unlock()
		l.writeRaw(b)
		sum := crcUpdate(CRC16([]byte{byte(f.Type)}), f.Payload)
		l.mu.Lock()
		dup := int(f.Seq) == l.lastEvt && (f.Seq != 0 || sum == l.lastEvtSum)
		l.lastEvt, l.lastEvtSum = int(f.Seq), sum
		l.mu.Unlock()
		if dup {
			l.st.duplicateEvents.Add(1)
			return
		}
		l.st.events.Add(1)
		l.queueEvent(f)
	}
}

// deliver hands a frame to the outstanding exchange.
func (l *link) deliver(f Frame) {
	select {
	case l.ctrl <- f:
	default: // the exchange has plenty queued already
	}
}

// queueEvent keeps an event for the next call that waits for one,
// dropping the oldest when full.
func (l *link) queueEvent(f Frame) {
	for {
		select {
		case l.events <- f:
			return
		default:
		}
		select {
		case old := <-l.events:
			clear(old.Payload)
		default:
		}
	}
}

// drainEvents drops events received before a new prompt.
func (l *link) drainEvents() {
	for {
		select {
		case f := <-l.events:
			clear(f.Payload)
		default:
			return
		}
	}
}

// send writes a frame. A write error kills the link.
func (l *link) send(f Frame) error {
	b, err := f.MarshalBinary()
	if err != nil {
		return err
	}
	return l.writeRaw(b)
}

func (l *link) writeRaw(b []byte) error {
	l.wmu.Lock()
	n, err := 0, error(nil)
	if l.portClosed {
		err = errors.New("port closed")
	} else {
		n, err = l.port.Write(b)
	}
	l.wmu.Unlock()
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	if err != nil {
		err = disconnected(err)
		l.fail(err)
		return err
	}
	l.st.framesSent.Add(1)
	l.st.bytesSent.Add(int64(n))
	return nil
}

// nextSeq is the SEQ for a new command: 1 to 255, then 1 again.
func (l *link) nextSeq() byte {
	l.seq++
	if l.seq == 0 {
		l.seq = 1
	}
	return l.seq
}

// exchange sends a new command and waits for its response.
func (l *link) exchange(ctx context.Context, t Type, payload []byte) (Frame, error) {
	return l.exchangeSeq(ctx, l.nextSeq(), t, payload)
}

// exchangeSeq sends a command with the given SEQ and waits for its
// response, sending it again on a timeout or a NAK.
func (l *link) exchangeSeq(ctx context.Context, seq byte, t Type, payload []byte) (Frame, error) {
	if err := ctx.Err(); err != nil {
		return Frame{}, err
	}
	b, err := Frame{Seq: seq, Type: t, Payload: payload}.MarshalBinary()
	if err != nil {
		return Frame{}, err
	}
	defer clear(b) // may hold a PAN or an APDU
	for len(l.ctrl) > 0 {
		<-l.ctrl
	}
	l.mu.Lock()
	l.pending = int(seq)
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		l.pending = -1
		l.mu.Unlock()
	}()

	l.st.commands.Add(1)
	if err := l.writeRaw(b); err != nil {
		return Frame{}, &notSentError{err: err}
	}
	sent := 1
	timer := time.NewTimer(l.rto)
	defer timer.Stop()
	again := func(why string) error {
		if sent >= l.tries {
			err := ErrNoResponse
			l.fail(err)
			return err
		}
		l.log.Debug().Stringer("command", t).Uint8("seq", seq).Str("why", why).Msg("reader: sending again")
		l.st.retransmissions.Add(1)
		sent++
		timer.Reset(l.rto)
		return l.writeRaw(b)
	}
	for {
		select {
		case f := <-l.ctrl:
			switch {
			case f.Type == TypeNAK:
				if err := again("NAK"); err != nil {
					return Frame{}, err
				}
			case f.Type == TypeACK:
				sent = 1 // the reader has it and is working on it
				timer.Reset(l.rto)
			default:
				return f, nil
			}
		case <-timer.C:
			if err := again("timeout"); err != nil {
				return Frame{}, err
			}
		case <-l.dead:
			return Frame{}, l.failure()
		case <-ctx.Done():
			return Frame{}, ctx.Err()
		}
	}
}

// notSentError is a port failure on a command's first send: the command
// cannot have reached the reader, so it is safe to try again on a port
// opened afresh.
type notSentError struct{ err error }

func (e *notSentError) Error() string { return e.err.Error() }
func (e *notSentError) Unwrap() error { return e.err }

// isLinkError reports whether err means the link is gone.
func isLinkError(err error) bool {
	return errors.Is(err, ErrDisconnected) || errors.Is(err, ErrNoResponse)
}
