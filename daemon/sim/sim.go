// Package sim is the simulated world of simulator mode beyond the wires: a
// virtual cardholder who presents the configured test card to the virtual
// card reader (emv/reader/virtual, on a pseudo-terminal) whenever the
// terminal asks for a card, and the simulator's clock that can be moved
// forward. The engine, EMV kernel, serial drivers and ISO 8583 link are the
// production ones.
package sim

import (
	"sync"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/emv/card"
	"github.com/vinr/cashlessd/pan"
)

// DefaultPAN is the card presented until the simulator is told otherwise.
const DefaultPAN = "4242424242424242"

// World is the cardholder's card and the clock.
type World struct {
	mu      sync.Mutex
	card    cardState
	offset  time.Duration
	onClock func()
	// wallet holds the chips presented so far, so each card's ATC
	// increases per transaction (per process).
	wallet card.Wallet
	// images holds the card images found or generated for a card number
	// (see image), so a sale does not parse them again.
	images map[imageKey]*card.Image
}

// imageKey names a card image the cardholder looked up: by card number,
// for a swipe or for the chip.
type imageKey struct {
	pan   string
	swipe bool
}

// cardState is what the cardholder does at the next prompt.
type cardState struct {
	pan          string
	image        *card.Image // an explicit card image, instead of pan
	entry        string
	presentAfter time.Duration
	present      bool
	pin          string
	// set says which settings SetCard gave explicitly; those win over a
	// test amount's card behaviour (magic.go).
	set explicit
}

// New makes the simulated world: card 4242…, tapped 200 ms after the
// prompt.
func New() *World {
	return &World{card: cardState{pan: DefaultPAN, entry: daemon.EntryContactless, presentAfter: 200 * time.Millisecond, present: true}}
}

// OnClockAdvance registers what to run after the clock moves forward.
func (w *World) OnClockAdvance(f func()) {
	w.mu.Lock()
	w.onClock = f
	w.mu.Unlock()
}

// SetCard changes the card presented at following prompts.
func (w *World) SetCard(c daemon.SimCard) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	next := w.card
	if c.PAN != nil {
		if !pan.Valid(*c.PAN) {
			return daemon.Errorf(daemon.CodeInvalidRequest, "pan: must be 12 to 19 digits with a valid Luhn check digit.")
		}
		next.pan, next.image, next.present = *c.PAN, nil, true
		next.set.card = true
	}
	if len(c.Image) > 0 {
		img, err := card.Parse(c.Image)
		if err != nil {
			return daemon.Errorf(daemon.CodeInvalidRequest, "image: %v", err)
		}
		next.image, next.present = img, true
		next.set.card = true
	}
	if c.EntryMethod != nil {
		switch *c.EntryMethod {
		case daemon.EntryChip, daemon.EntryContactless, daemon.EntrySwipe:
			next.entry, next.set.entry = *c.EntryMethod, true
		default:
			return daemon.Errorf(daemon.CodeInvalidRequest, "entryMethod: must be \"chip\", \"contactless\" or \"swipe\".")
		}
	}
	if c.PresentAfter != nil {
		next.presentAfter, next.set.presentAfter = *c.PresentAfter, true
	}
	if c.Present != nil {
		next.present, next.set.present = *c.Present, true
	}
	if c.PIN != nil {
		next.pin, next.set.pin = *c.PIN, true
	}
	w.card = next
	return nil
}

// AdvanceClock moves the clock forward.
func (w *World) AdvanceClock(by time.Duration) error {
	if by < 0 {
		return daemon.Errorf(daemon.CodeInvalidRequest, "advanceSeconds: the clock only moves forward.")
	}
	w.mu.Lock()
	w.offset += by
	f := w.onClock
	w.mu.Unlock()
	if f != nil {
		f()
	}
	return nil
}

// Now is the simulated time: the wall clock plus every advance.
func (w *World) Now() time.Time {
	w.mu.Lock()
	off := w.offset
	w.mu.Unlock()
	return time.Now().UTC().Add(off)
}

// snapshot returns the card settings.
func (w *World) snapshot() cardState {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.card
}
