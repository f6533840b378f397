package host

import "sync/atomic"

// writeState settles, for one message, the race between writing it and
// giving up on it: a message is either written or abandoned, never both.
// A request that was abandoned before it was written cannot have charged
// anything. It goes pending, then writing or abandoned.
//
// claimed, when set, is called when the writer takes the message to write
// it: the next message is taken only once this one is on the socket.
type writeState struct {
	v       atomic.Int32
	claimed func()
}

const (
	statePending int32 = iota
	stateWriting
	stateAbandoned
)

// write claims the message for the writer. It reports false when the
// message was abandoned and must not leave now.
func (s *writeState) write() bool {
	if !s.v.CompareAndSwap(statePending, stateWriting) {
		return false
	}
	if s.claimed != nil {
		s.claimed()
	}
	return true
}

// abandon gives up on the message. It reports true when the message was
// not written and now never will be.
func (s *writeState) abandon() bool {
	return s.v.CompareAndSwap(statePending, stateAbandoned) || s.v.Load() == stateAbandoned
}
