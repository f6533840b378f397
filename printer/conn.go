package printer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.bug.st/serial"
)

// Flow control is done here, in user space: go.bug.st/serial (v1.8.0) has
// no flow control setting and clears CRTSCTS, IXON and IXOFF when it opens
// a port. The driver therefore writes a job in small chunks and waits for
// each to leave the UART (Drain) before the next:
//
//   - xonxoff: bytes from the printer are read between chunks; after XOFF
//     (0x13) no chunk is written until XON (0x11) comes;
//   - rtscts: CTS is read before each chunk; while the printer holds it
//     low, no chunk is written.
//
// So at most one chunk is on its way when the printer asks the host to
// stop, well inside the margin printers keep in their receive buffer.
// Waiting this way can be bounded by the job's context, which kernel flow
// control (a write(2) blocked on CTS) could not. Status queries (DLE EOT)
// are real-time commands and are sent even while the printer holds XOFF.
const (
	flowChunk  = 64   // bytes per chunk under flow control
	plainChunk = 1024 // bytes per chunk without
	pollEvery  = 100 * time.Millisecond
	ctsPoll    = 10 * time.Millisecond
)

// errNoReply means the printer did not answer a status query in time.
var errNoReply = errors.New("no reply to a status query (printer off, or wrong baud rate?)")

// errPortClosed means the connection was closed under a pending operation.
var errPortClosed = errors.New("port closed")

// portError is a failed read or write on the port: the device may have
// gone away; a fresh open may work.
type portError struct {
	op  string
	err error
}

// Error reads like "write: input/output error".
func (e *portError) Error() string { return e.op + ": " + e.err.Error() }

// Unwrap returns the port's error.
func (e *portError) Unwrap() error { return e.err }

// conn is one open port. Only the holder of the driver's turn uses it,
// except that a Write or Drain it started may still be in the kernel when
// the job's context ends; ioMu makes close wait for that call to return.
type conn struct {
	port   serial.Port
	flow   FlowControl
	reply  time.Duration
	paused bool // XOFF seen and no XON since
	buf    [64]byte

	ioMu   sync.Mutex
	closed bool // under ioMu
}

// openConn opens and sets up the port, discarding anything the printer
// sent before.
func openConn(cfg SerialConfig) (*conn, error) {
	mode := &serial.Mode{BaudRate: cfg.Baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit}
	port, err := serial.Open(cfg.Device, mode)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", cfg.Device, err)
	}
	if err := port.ResetInputBuffer(); err != nil {
		port.Close()
		return nil, fmt.Errorf("open %s: flush input: %w", cfg.Device, err)
	}
	if cfg.FlowControl == FlowRTSCTS {
		if _, err := port.GetModemStatusBits(); err != nil {
			port.Close()
			return nil, fmt.Errorf("open %s: rtscts flow control needs the modem status lines: %w", cfg.Device, err)
		}
	}
	return &conn{port: port, flow: cfg.FlowControl, reply: cfg.ReplyTimeout}, nil
}

// close closes the port now, or, when a write is still in the kernel, as
// soon as it returns.
func (c *conn) close() {
	if c.ioMu.TryLock() {
		c.shut()
		c.ioMu.Unlock()
		return
	}
	go func() {
		c.ioMu.Lock()
		defer c.ioMu.Unlock()
		c.shut()
	}()
}

// shut closes the port; ioMu is held.
func (c *conn) shut() {
	if !c.closed {
		c.closed = true
		c.port.Close()
	}
}

// do runs a blocking port call and waits for it or for ctx. When ctx ends
// first the call may still be running; the caller must then close c.
func (c *conn) do(ctx context.Context, op string, fn func(serial.Port) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() {
		c.ioMu.Lock()
		defer c.ioMu.Unlock()
		if c.closed {
			done <- errPortClosed
			return
		}
		if err := ctx.Err(); err != nil { // gave up before the port was free
			done <- err
			return
		}
		done <- fn(c.port)
	}()
	select {
	case err := <-done:
		if err != nil {
			return &portError{op: op, err: err}
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// writeAll writes p, however many calls it takes.
func writeAll(port serial.Port, p []byte) error {
	for len(p) > 0 {
		n, err := port.Write(p)
		if err != nil {
			return err
		}
		if n == 0 {
			return errors.New("wrote nothing")
		}
		p = p[n:]
	}
	return nil
}

// read waits up to wait for bytes from the printer, notes XON and XOFF,
// and returns the status replies among them. A zero wait only polls.
func (c *conn) read(wait time.Duration) ([]byte, error) {
	if err := c.port.SetReadTimeout(wait); err != nil {
		return nil, &portError{op: "read", err: err}
	}
	n, err := c.port.Read(c.buf[:])
	if err != nil {
		return nil, &portError{op: "read", err: err}
	}
	var replies []byte
	for _, b := range c.buf[:n] {
		switch {
		case c.flow == FlowXONXOFF && b == xoff:
			c.paused = true
		case c.flow == FlowXONXOFF && b == xon:
			c.paused = false
		case IsStatusReply(b):
			replies = append(replies, b)
		}
	}
	return replies, nil
}

// waitFor is how long to block in one read: at most pollEvery, and not
// past until or ctx's deadline.
func waitFor(ctx context.Context, until time.Time) time.Duration {
	wait := min(time.Until(until), pollEvery)
	if d, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(d))
	}
	return max(wait, 0)
}

// query sends DLE EOT n and waits for the reply.
func (c *conn) query(ctx context.Context, n byte) (byte, error) {
	q := StatusQuery(n)
	if err := c.do(ctx, "write", func(p serial.Port) error { return writeAll(p, q) }); err != nil {
		return 0, err
	}
	deadline := time.Now().Add(c.reply)
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if !time.Now().Before(deadline) {
			return 0, errNoReply
		}
		replies, err := c.read(waitFor(ctx, deadline))
		if err != nil {
			return 0, err
		}
		if len(replies) > 0 {
			return replies[0], nil
		}
	}
}

// condition asks the printer for its status, offline cause and paper.
func (c *conn) condition(ctx context.Context) (Condition, error) {
	var r [3]byte
	for i, n := range []byte{StatusPrinter, StatusOffline, StatusRollPaper} {
		b, err := c.query(ctx, n)
		if err != nil {
			return Condition{}, err
		}
		r[i] = b
	}
	return ParseCondition(r[0], r[1], r[2]), nil
}

// send writes a job, pacing it by the flow control, and waits until it
// has left the port.
func (c *conn) send(ctx context.Context, job []byte) error {
	chunk := plainChunk
	if c.flow != FlowNone {
		chunk = flowChunk
	}
	for len(job) > 0 {
		if err := c.waitClear(ctx); err != nil {
			return err
		}
		part := job[:min(chunk, len(job))]
		job = job[len(part):]
		err := c.do(ctx, "write", func(p serial.Port) error {
			if err := writeAll(p, part); err != nil {
				return err
			}
			if c.flow != FlowNone {
				return p.Drain()
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return c.do(ctx, "drain", func(p serial.Port) error { return p.Drain() })
}

// waitClear returns once the printer lets the host send: after XON
// (xonxoff) or with CTS high (rtscts).
func (c *conn) waitClear(ctx context.Context) error {
	switch c.flow {
	case FlowXONXOFF:
		if _, err := c.read(0); err != nil {
			return err
		}
		for c.paused {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("printer held XOFF: %w", err)
			}
			if _, err := c.read(waitFor(ctx, time.Now().Add(pollEvery))); err != nil {
				return err
			}
		}
	case FlowRTSCTS:
		for {
			bits, err := c.port.GetModemStatusBits()
			if err != nil {
				return &portError{op: "read CTS", err: err}
			}
			if bits.CTS {
				return nil
			}
			t := time.NewTimer(ctsPoll)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("printer held CTS low: %w", ctx.Err())
			case <-t.C:
			}
		}
	}
	return nil
}
