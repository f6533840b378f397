// Package virtual is a card reader and PIN pad at the far end of a
// pseudo-terminal. The driver (package reader) opens its device path as
// it would a real reader's and speaks the protocol of
// docs/reader-protocol.md to it; nothing of the serial port is mocked.
//
// A test, or the daemon's simulator, plays the cardholder: it presents a
// Card in the contact slot (Insert) or the contactless field (Tap), swipes
// a track 2 (Swipe), takes the card away (Remove), presses cancel
// (PressCancel) and decides what PIN the cardholder types (SetPIN). For an
// online PIN the reader builds the ISO 9564 format 0 PIN block and
// encrypts it with DUKPT from the configured BDK and initial KSN; for an
// offline PIN it sends VERIFY with the plaintext PIN to the card itself.
//
// Faults can be injected: Unplug and Replug (the pty goes away and a new
// one appears behind the same symlink, as a USB reader replugged under a
// udev name), Garble, DropBytes, DropFrames and Noise on what the reader
// sends, GarbleIn and DropFramesIn on what it receives. Stats counts
// frames, bytes on the wire and APDU round trips.
package virtual

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/vinr/cashlessd/emv/reader"
	"github.com/vinr/cashlessd/emv/reader/dukpt"
)

// Card is what a test presents to the reader: a chip card, contact or
// contactless depending on whether it is inserted or tapped. Transmit
// gets one command APDU and returns the response with SW1 SW2; its
// context ends when the card is removed or the exchange is cancelled. It
// has the shape of the EMV kernel's Transport (emv.Transport), so the
// virtual cards of package emv/card fit.
type Card interface {
	ATR() []byte
	Transmit(ctx context.Context, apdu []byte) ([]byte, error)
}

// Config sets the reader up. The zero value works, with a device path in
// a fresh temporary directory and the X9.24 test keys.
type Config struct {
	// Path is the stable device path: a symlink to the current
	// pseudo-terminal, replaced on Replug. Default: "reader" in a new
	// temporary directory, removed by Close.
	Path string
	// BDK is the DUKPT base derivation key the PIN pad's initial key is
	// derived from (16 bytes). Only the initial key is kept. Default:
	// the X9.24 test key 0123456789ABCDEFFEDCBA9876543210.
	BDK []byte
	// KSN is the PIN pad's initial key serial number (10 bytes); the
	// first PIN uses counter 1. Default: FFFF9876543210E00000.
	KSN []byte
	// Model, Serial and Firmware are reported by INFO.
	Model, Serial, Firmware string
	// DisplayRows and DisplayCols are reported by INFO. Default 4 × 20.
	DisplayRows, DisplayCols int
	// RetransmitTimeout is how long the reader waits for the ACK of an
	// event before it sends the event again. Default 500 ms.
	RetransmitTimeout time.Duration
	// MaxTries is how many times an event is sent before the reader gives
	// up on it. Default 3.
	MaxTries int
	// FrameGap is how long the line may be quiet in the middle of a frame
	// before the reader drops it as damaged. Default 50 ms.
	FrameGap time.Duration
	// PINTimeout is the PIN entry timeout when a command gives none.
	// Default 30 s.
	PINTimeout time.Duration
	// Record keeps a copy of every byte on the wire, for Traffic.
	Record bool
}

// The X9.24-1 Annex A test key and initial KSN: the defaults.
const (
	TestBDK = "0123456789ABCDEFFEDCBA9876543210"
	TestKSN = "FFFF9876543210E00000"
)

// Reader is the simulated card reader and PIN pad.
type Reader struct {
	cfg    Config
	tmpDir string // created for the default path, removed by Close
	life   context.Context
	stop   context.CancelFunc

	cardMu sync.Mutex // one card exchange at a time

	mu      sync.Mutex
	plug    *plug // nil while unplugged
	changed chan struct{}
	closed  bool
	ik      []byte // the DUKPT initial key
	ksn     []byte // the KSN of the last PIN, or the initial KSN

	// link state
	lastCmd     int    // SEQ of the latest command, -1 after a (re)start
	executing   bool   // lastCmd is still running
	lastResp    []byte // the encoded response to lastCmd
	respResends int    // resends of lastResp asked for by NAK
	evtSeq      byte   // SEQ of the next event
	events      []reader.Frame
	evtSends    int
	evtTimer    *time.Timer
	evtGen      int

	// faults
	garbleOut, dropBytesOut, dropFramesOut int
	garbleIn, dropFramesIn                 int

	// device
	slot, field  Card
	powered      reader.Interface
	removed      bool // the powered card was taken away
	cardCancel   context.CancelFunc
	detect       *detection
	prompt       *pinPrompt
	amountText   string
	pin          string
	pinSet       bool
	bypass       bool
	display      []string
	beeps        int
	leds         reader.LEDs
	promptGen    int
	trafficIn    bytes.Buffer
	trafficOut   bytes.Buffer
	stats        Stats
	displayWrite int
}

// Start creates the pseudo-terminal and the symlink and runs the reader
// until ctx ends or Close.
func Start(ctx context.Context, cfg Config) (*Reader, error) {
	cfg, tmp, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ik, err := dukpt.InitialKey(cfg.BDK, cfg.KSN)
	if err != nil {
		return nil, fmt.Errorf("virtual reader: %w", err)
	}
	cfg.BDK = nil // the PIN pad keeps only its initial key
	life, stop := context.WithCancel(context.Background())
	r := &Reader{
		cfg:     cfg,
		tmpDir:  tmp,
		life:    life,
		stop:    stop,
		changed: make(chan struct{}),
		ik:      ik,
		ksn:     bytes.Clone(cfg.KSN),
		lastCmd: -1,
	}
	if err := r.plugIn(); err != nil {
		stop()
		if tmp != "" {
			os.RemoveAll(tmp)
		}
		return nil, err
	}
	go func() {
		select {
		case <-ctx.Done():
			r.Close()
		case <-life.Done():
		}
	}()
	return r, nil
}

func (c Config) withDefaults() (Config, string, error) {
	var tmp string
	if c.Path == "" {
		dir, err := os.MkdirTemp("", "virtual-reader-")
		if err != nil {
			return c, "", fmt.Errorf("virtual reader: %w", err)
		}
		tmp = dir
		c.Path = filepath.Join(dir, "reader")
	}
	if c.BDK == nil {
		c.BDK = mustHex(TestBDK)
	} else {
		c.BDK = bytes.Clone(c.BDK)
	}
	if c.KSN == nil {
		c.KSN = mustHex(TestKSN)
	} else {
		c.KSN = bytes.Clone(c.KSN)
	}
	if c.Model == "" {
		c.Model = "cashlessd virtual reader"
	}
	if c.Serial == "" {
		c.Serial = "VR-0001"
	}
	if c.Firmware == "" {
		c.Firmware = "1.0"
	}
	if c.DisplayRows <= 0 {
		c.DisplayRows = 4
	}
	if c.DisplayCols <= 0 {
		c.DisplayCols = 20
	}
	if c.RetransmitTimeout <= 0 {
		c.RetransmitTimeout = 500 * time.Millisecond
	}
	if c.MaxTries <= 0 {
		c.MaxTries = 3
	}
	if c.FrameGap <= 0 {
		c.FrameGap = 50 * time.Millisecond
	}
	if c.PINTimeout <= 0 {
		c.PINTimeout = 30 * time.Second
	}
	return c, tmp, nil
}

func mustHex(s string) []byte {
	b := make([]byte, len(s)/2)
	for i := range b {
		b[i] = hexNibble(s[2*i])<<4 | hexNibble(s[2*i+1])
	}
	return b
}

func hexNibble(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return 0
}

// Path is the device path for the driver: the symlink to the current
// pseudo-terminal.
func (r *Reader) Path() string { return r.cfg.Path }

// Close unplugs the reader for good and removes the symlink (and the
// temporary directory it made).
func (r *Reader) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	r.unplug()
	r.stop()
	clear(r.ik)
	if r.tmpDir != "" {
		os.RemoveAll(r.tmpDir)
	}
	return nil
}

// Unplug takes the reader away: the pseudo-terminal closes (the driver
// sees the device vanish) and the symlink is removed. The reader loses
// its state as a device that lost power does: the card is no longer
// active, prompts and unacknowledged events are gone. Cards stay where
// they are.
func (r *Reader) Unplug() { r.unplug() }

func (r *Reader) unplug() {
	r.mu.Lock()
	p := r.plug
	r.plug = nil
	r.restart()
	r.notify()
	r.mu.Unlock()
	if p != nil {
		os.Remove(r.cfg.Path)
		p.close()
	}
}

// Replug plugs the reader back in: a new pseudo-terminal behind the same
// path. The reader starts afresh (its first event has SEQ 0).
func (r *Reader) Replug() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return errors.New("virtual reader: closed")
	}
	plugged := r.plug != nil
	r.mu.Unlock()
	if plugged {
		return nil
	}
	return r.plugIn()
}

func (r *Reader) plugIn() error {
	p, err := newPlug(r.cfg.Path)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.plug = p
	r.restart()
	r.notify()
	r.mu.Unlock()
	p.wg.Add(2)
	go p.writeLoop()
	go r.readLoop(p)
	return nil
}

// restart resets what a power cycle resets; r.mu is held.
func (r *Reader) restart() {
	r.lastCmd, r.executing, r.lastResp, r.respResends = -1, false, nil, 0
	r.evtSeq = 0
	r.dropEvents()
	r.powerOff()
	r.detect = nil
	r.endPrompt()
}

// State is what a cardholder (or a test) can see of the reader.
type State struct {
	Plugged     bool
	CardInSlot  bool
	CardInField bool
	Powered     reader.Interface // the active card's interface, or 0
	Detecting   bool
	Interfaces  reader.Interface // enabled for detection
	PINEntry    bool             // a PIN prompt is shown
	AmountText  string           // shown by the last detection
	Display     []string         // the last DISPLAY
	Displays    int              // DISPLAY commands so far
	Beeps       int              // beeps so far
	LEDs        reader.LEDs
	KSN         []byte // the KSN of the last PIN block, or the initial KSN
}

// State returns the reader's state now.
func (r *Reader) State() State {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state()
}

func (r *Reader) state() State {
	s := State{
		Plugged:     r.plug != nil,
		CardInSlot:  r.slot != nil,
		CardInField: r.field != nil,
		Powered:     r.powered,
		Detecting:   r.detect != nil,
		PINEntry:    r.prompt != nil,
		AmountText:  r.amountText,
		Display:     append([]string(nil), r.display...),
		Displays:    r.displayWrite,
		Beeps:       r.beeps,
		LEDs:        r.leds,
		KSN:         bytes.Clone(r.ksn),
	}
	if r.detect != nil {
		s.Interfaces = r.detect.ifaces
	}
	return s
}

// WaitFor returns once cond holds for the reader's state, or ctx.Err().
func (r *Reader) WaitFor(ctx context.Context, cond func(State) bool) error {
	for {
		r.mu.Lock()
		ok := cond(r.state())
		ch := r.changed
		r.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// notify wakes WaitFor; r.mu is held.
func (r *Reader) notify() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// Stats counts what crossed the wire. Bytes include everything: frames,
// ACKs, NAKs, repeats, noise.
type Stats struct {
	FramesIn, FramesOut    int64 // intact frames received; frames sent
	BytesIn, BytesOut      int64 // bytes received; bytes sent
	APDUs                  int64 // APDU commands executed
	APDUFrames             int64 // APDU and APDUS command frames received, repeats included: round trips
	APDUPayloadBytes       int64 // command plus response APDU bytes of the APDUs executed
	Duplicates             int64 // repeated commands answered without executing them
	NAKsIn, NAKsOut        int64
	Events, EventResends   int64
	BytesDiscarded         int64 // noise and damaged frames dropped by the decoder
	FramesDamagedOnPurpose int64 // frames lost to GarbleIn and DropFramesIn
}

// Stats returns the counters.
func (r *Reader) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// ResetStats sets the counters to zero.
func (r *Reader) ResetStats() {
	r.mu.Lock()
	r.stats = Stats{}
	r.mu.Unlock()
}

// Traffic returns copies of every byte received and sent since Start,
// when Config.Record is set.
func (r *Reader) Traffic() (in, out []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Clone(r.trafficIn.Bytes()), bytes.Clone(r.trafficOut.Bytes())
}
