package host

import "sync/atomic"

// writeState settles, for one message, the race between writing it and
// giving up on it: a message is either written or abandoned, never both.
// A request that was abandoned before it was written cannot have charged
// anything. It goes pending, then writing or abandoned.
type writeState struct{ v atomic.Int32 }

const (
	statePending int32 = iota
	stateWriting
	stateAbandoned
)

// write claims the message for the writer. It reports false when the
// message was abandoned and must not leave now.
func (s *writeState) write() bool {
	return s.v.CompareAndSwap(statePending, stateWriting)
}

// abandon gives up on the message. It reports true when the message was
// not written and now never will be.
func (s *writeState) abandon() bool {
	return s.v.CompareAndSwap(statePending, stateAbandoned) || s.v.Load() == stateAbandoned
}
