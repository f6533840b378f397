// Package sim holds the in-process simulated card reader of simulator mode,
// presenting configurable test cards, and the simulator's clock that can be
// moved forward. They sit at the device end of the engine's interfaces; the
// engine, store and receipts are the production ones. (The printer is
// simulated across a pseudo-terminal by printer/virtual, the acquirer by
// daemon/host/hostsim on a loopback port.)
package sim

import (
	"context"
	"sync"
	"time"

	"github.com/vinr/cashlessd/daemon"
)

// DefaultPAN is the card presented until the simulator is told otherwise.
const DefaultPAN = "4242424242424242"

// Devices is the simulated terminal hardware and host.
type Devices struct {
	mu     sync.Mutex
	card   cardState
	offset time.Duration
	// onClock is called after the clock moves (the engine's schedule).
	onClock func()
}

type cardState struct {
	pan          string
	entry        string
	presentAfter time.Duration
	present      bool
	pin          string
}

// New makes simulated devices.
func New() *Devices {
	return &Devices{
		card: cardState{pan: DefaultPAN, entry: daemon.EntryContactless, presentAfter: 200 * time.Millisecond, present: true},
	}
}

// OnClockAdvance registers what to run after the clock moves forward.
func (d *Devices) OnClockAdvance(f func()) {
	d.mu.Lock()
	d.onClock = f
	d.mu.Unlock()
}

// SetCard changes the card presented to following transactions.
func (d *Devices) SetCard(c daemon.SimCard) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	next := d.card
	if c.PAN != nil {
		if !daemon.LuhnValid(*c.PAN) {
			return daemon.Errorf(daemon.CodeInvalidRequest, "pan: must be 12 to 19 digits with a valid Luhn check digit.")
		}
		next.pan = *c.PAN
		next.present = true
	}
	if c.EntryMethod != nil {
		switch *c.EntryMethod {
		case daemon.EntryChip, daemon.EntryContactless, daemon.EntrySwipe:
			next.entry = *c.EntryMethod
		default:
			return daemon.Errorf(daemon.CodeInvalidRequest, "entryMethod: must be \"chip\", \"contactless\" or \"swipe\".")
		}
	}
	if c.PresentAfter != nil {
		next.presentAfter = *c.PresentAfter
	}
	if c.Present != nil {
		next.present = *c.Present
	}
	if c.PIN != nil {
		next.pin = *c.PIN
	}
	d.card = next
	return nil
}

// AdvanceClock moves the clock forward.
func (d *Devices) AdvanceClock(by time.Duration) error {
	if by < 0 {
		return daemon.Errorf(daemon.CodeInvalidRequest, "advanceSeconds: the clock only moves forward.")
	}
	d.mu.Lock()
	d.offset += by
	f := d.onClock
	d.mu.Unlock()
	if f != nil {
		f()
	}
	return nil
}

// Now is the simulated time: the wall clock plus every advance.
func (d *Devices) Now() time.Time {
	d.mu.Lock()
	off := d.offset
	d.mu.Unlock()
	return time.Now().UTC().Add(off)
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
