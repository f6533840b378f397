// Package sim holds the in-process simulated devices of simulator mode: a
// card reader presenting configurable test cards, an acquirer host deciding
// by test card like an issuer, and a clock that can be moved forward. They
// sit at the device end of the engine's interfaces; the engine, store and
// receipts are the production ones. (The printer is simulated across a
// pseudo-terminal by printer/virtual.)
package sim

import (
	"context"
	"crypto/rand"
	"math/big"
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
	host   hostState
	offset time.Duration
	ledger map[string]*LedgerEntry
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

type hostState struct {
	latency time.Duration
	offline bool
	drop    bool
}

// LedgerEntry is what the simulated host booked for one transaction.
type LedgerEntry struct {
	TransactionID string
	Kind          daemon.Kind
	Amount        int64
	Reversed      bool
}

// New makes simulated devices.
func New() *Devices {
	return &Devices{
		card:   cardState{pan: DefaultPAN, entry: daemon.EntryContactless, presentAfter: 200 * time.Millisecond, present: true},
		ledger: map[string]*LedgerEntry{},
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

// SetHost changes the simulated host's behaviour.
func (d *Devices) SetHost(h daemon.SimHost) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if h.Latency != nil {
		d.host.latency = *h.Latency
	}
	if h.Offline != nil {
		d.host.offline = *h.Offline
	}
	if h.DropResponse != nil {
		d.host.drop = *h.DropResponse
	}
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

// Ledger returns a copy of what the host booked.
func (d *Devices) Ledger() []LedgerEntry {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]LedgerEntry, 0, len(d.ledger))
	for _, e := range d.ledger {
		out = append(out, *e)
	}
	return out
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

// randomDigits returns n random characters from alphabet.
func randomChars(n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		v, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			panic(err) // crypto/rand does not fail on supported platforms
		}
		b[i] = alphabet[v.Int64()]
	}
	return string(b)
}
