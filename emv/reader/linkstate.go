package reader

import (
	"context"
	"errors"
	"os"
	"time"
)

// LinkState is what the driver has seen of its port, without asking the
// reader anything: whether the port is open and the reader answered INFO,
// and since when.
type LinkState struct {
	// Up is set while the port is open and the reader answered INFO on it.
	Up bool
	// Absent is set when the last open failed because the device node does
	// not exist (unplugged, or the wrong path configured).
	Absent bool
	// Tried is set once the driver has tried to open the port.
	Tried bool
	// Since is when Up or Absent last changed; zero before the first try.
	Since time.Time
	// Err is why the link is down; nil while it is up.
	Err error
}

// LinkState returns what the driver has seen of its port. It does no I/O
// and never waits for a call in progress.
func (r *Reader) LinkState() LinkState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state
}

// Check opens the port and resets the link when it is not open (or its
// read loop has ended), as the next call would. It does not wait: while
// another call holds the reader, Check returns nil at once and that
// call's outcome is what LinkState reports.
func (r *Reader) Check(ctx context.Context) error {
	select {
	case r.turn <- struct{}{}:
	default:
		return nil
	}
	defer func() { <-r.turn }()
	if r.closed {
		return ErrClosed
	}
	if r.link != nil && r.link.alive() {
		return nil
	}
	r.drop(nil)
	return r.connect(ctx)
}

// linkUp records that l is open and answered INFO, and watches it: when
// its read loop ends, the link is recorded as down.
func (r *Reader) linkUp(l *link) {
	r.mu.Lock()
	if !r.state.Up {
		r.state.Since = time.Now()
	}
	r.state = LinkState{Up: true, Tried: true, Since: r.state.Since}
	r.watched = l
	r.mu.Unlock()
	go func() {
		<-l.dead
		r.linkDown(l, l.failure())
	}()
}

// linkDown records that l (or, when l is nil, an open that failed) is
// down because of err.
func (r *Reader) linkDown(l *link, err error) {
	if err == nil {
		err = ErrDisconnected
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if l != nil && r.watched != l {
		return // an older link, already replaced
	}
	r.watched = nil
	absent := l == nil && errors.Is(err, os.ErrNotExist)
	if r.state.Up || r.state.Absent != absent || !r.state.Tried {
		r.state.Since = time.Now()
	}
	r.state = LinkState{Absent: absent, Tried: true, Since: r.state.Since, Err: err}
}
