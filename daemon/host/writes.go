package host

import (
	"encoding/binary"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/moov-io/iso8583"
	iso8583errors "github.com/moov-io/iso8583/errors"
)

// writeTracker is the connection's message writer. It frames each message
// (2-byte big-endian length, then the message, in one write) and settles,
// for every message, the race between writing it and giving up on it: a
// message is either written or abandoned, never both. A request that was
// abandoned before it was written cannot have charged anything.
//
// Only tracked messages are written; the connection library never writes
// anything the client did not hand it through send or reply.
type writeTracker struct {
	mu      sync.Mutex
	pending map[*iso8583.Message]*writeState
}

// writeState is one tracked message: pending, then writing or abandoned.
// left closes once its fate is sealed: written to the socket (or the
// write failed), or abandoned.
type writeState struct {
	v    atomic.Int32
	left chan struct{}
	once sync.Once
}

// settle closes left, once.
func (s *writeState) settle() { s.once.Do(func() { close(s.left) }) }

const (
	statePending int32 = iota
	stateWriting
	stateAbandoned
)

// abandon gives up on the message. It reports true when the message was
// not written and now never will be.
func (s *writeState) abandon() bool {
	if s.v.CompareAndSwap(statePending, stateAbandoned) {
		s.settle()
		return true
	}
	return s.v.Load() == stateAbandoned
}

func newWriteTracker() *writeTracker {
	return &writeTracker{pending: map[*iso8583.Message]*writeState{}}
}

// track makes msg writable and returns its state.
func (w *writeTracker) track(msg *iso8583.Message) *writeState {
	s := &writeState{left: make(chan struct{})}
	w.mu.Lock()
	w.pending[msg] = s
	w.mu.Unlock()
	return s
}

// untrack forgets msg; the caller has decided its fate.
func (w *writeTracker) untrack(msg *iso8583.Message) {
	w.mu.Lock()
	delete(w.pending, msg)
	w.mu.Unlock()
}

// WriteMessage implements connection.MessageWriter.
func (w *writeTracker) WriteMessage(out io.Writer, msg *iso8583.Message) error {
	packed, err := msg.Pack()
	if err != nil {
		return err
	}
	if len(packed) > MaxMessageLength {
		// A PackError lets the connection carry on with other messages.
		return &iso8583errors.PackError{Err: fmt.Errorf("host: message of %d bytes exceeds %d", len(packed), MaxMessageLength)}
	}
	w.mu.Lock()
	s := w.pending[msg]
	delete(w.pending, msg)
	w.mu.Unlock()
	if s == nil || !s.v.CompareAndSwap(statePending, stateWriting) {
		return nil // abandoned by its sender: it must not leave now
	}
	frame := make([]byte, 2+len(packed))
	binary.BigEndian.PutUint16(frame, uint16(len(packed)))
	copy(frame[2:], packed)
	defer s.settle()
	_, err = out.Write(frame)
	return err
}
