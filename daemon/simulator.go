package daemon

import "time"

// SimCard is the card the simulator presents to every following
// transaction. Nil fields keep their current value.
type SimCard struct {
	PAN          *string
	EntryMethod  *string
	PresentAfter *time.Duration
	Present      *bool
	PIN          *string
	// Image is a card image (JSON, see emv/card) instead of a PAN.
	Image []byte
}

// SimHost controls the simulated acquirer. Nil fields keep their value.
type SimHost struct {
	Latency      *time.Duration
	Offline      *bool
	DropResponse *bool
	// ForgetTransaction makes the host lose its approval of a transaction
	// (so the next settlement's totals differ).
	ForgetTransaction string
}

// SimReader injects reader faults. Nil fields change nothing.
type SimReader struct {
	Unplugged    *bool // the reader's cable out (true) or back in (false)
	GarbleFrames int   // corrupt the next n frames the reader sends
	DropBytes    int   // lose bytes from the next n frames the reader sends
	RemoveCard   bool  // the cardholder pulls the card out now
}

// Simulator is the control surface of simulator mode: the devices at the far
// end of the wires, and the clock.
type Simulator interface {
	SetCard(c SimCard) error
	SetHost(h SimHost) error
	SetPaper(ok bool) error
	SetReader(r SimReader) error
	AdvanceClock(d time.Duration) error
}
