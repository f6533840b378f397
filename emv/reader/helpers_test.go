package reader_test

import (
	"bytes"
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vinr/cashlessd/emv/reader"
	"github.com/vinr/cashlessd/emv/reader/virtual"
)

// testCard is a tiny chip card: SELECT answers an FCI with the AID, READ
// RECORD a record of the length asked for, VERIFY checks a plaintext
// offline PIN with a try counter, INS EE waits until released or removed,
// and anything else is 6D00. It counts the commands it executed.
type testCard struct {
	atr []byte

	mu       sync.Mutex
	pin      string
	tries    int
	executed int
	verifies [][]byte
	started  chan struct{} // INS EE: closed when the command arrives
	release  chan struct{} // INS EE: answers 9000 when closed
}

func newTestCard() *testCard {
	return &testCard{
		atr:     []byte{0x3B, 0x68, 0x00, 0x00, 0x80, 0x66, 0xB0, 0x84, 0x0C, 0x01, 0x6E, 0x01},
		pin:     "4321",
		tries:   3,
		started: make(chan struct{}),
		release: make(chan struct{}),
	}
}

func (c *testCard) ATR() []byte { return bytes.Clone(c.atr) }

func (c *testCard) Executed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.executed
}

func (c *testCard) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	c.mu.Lock()
	c.executed++
	ins := apdu[1]
	c.mu.Unlock()
	switch ins {
	case 0xA4: // SELECT: 6F (84 AID) (A5 label)
		aid := []byte{}
		if len(apdu) > 5 {
			aid = apdu[5 : 5+int(apdu[4])]
		}
		fci := append([]byte{0x84, byte(len(aid))}, aid...)
		fci = append(fci, 0xA5, 0x0A, 0x50, 0x08, 'T', 'E', 'S', 'T', 'C', 'A', 'R', 'D')
		return append(append([]byte{0x6F, byte(len(fci))}, fci...), 0x90, 0x00), nil
	case 0xB2: // READ RECORD: Le bytes, counting up from the record number
		n := int(apdu[len(apdu)-1])
		if n == 0 {
			n = 256
		}
		rec := make([]byte, n, n+2)
		for i := range rec {
			rec[i] = apdu[2] + byte(i)
		}
		return append(rec, 0x90, 0x00), nil
	case 0x20: // VERIFY, plaintext PIN, format 2
		return c.verify(apdu), nil
	case 0xEE: // hangs until released or the card is removed
		close(c.started)
		select {
		case <-c.release:
			return []byte{0x90, 0x00}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	case 0xCA: // GET DATA: echo P1 P2 and a counter
		return []byte{apdu[2], apdu[3], 0x01, 0x00, 0x90, 0x00}, nil
	}
	return []byte{0x6D, 0x00}, nil
}

func (c *testCard) verify(apdu []byte) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.verifies = append(c.verifies, bytes.Clone(apdu))
	if len(apdu) != 13 || apdu[0] != 0x00 || apdu[3] != 0x80 || apdu[4] != 8 || apdu[5]>>4 != 2 {
		return []byte{0x6A, 0x80}
	}
	if c.tries == 0 {
		return []byte{0x69, 0x83}
	}
	n := int(apdu[5] & 0x0F)
	var pin []byte
	for i := range n {
		b := apdu[6+i/2]
		if i%2 == 0 {
			b >>= 4
		}
		pin = append(pin, '0'+b&0x0F)
	}
	if string(pin) == c.pin {
		c.tries = 3
		return []byte{0x90, 0x00}
	}
	c.tries--
	return []byte{0x63, 0xC0 | byte(c.tries)}
}

// pair starts a virtual reader and opens the driver on it.
func pair(t *testing.T, vcfg virtual.Config, rcfg reader.Config) (*virtual.Reader, *reader.Reader) {
	t.Helper()
	if vcfg.Path == "" {
		vcfg.Path = filepath.Join(t.TempDir(), "reader")
	}
	if vcfg.RetransmitTimeout == 0 {
		vcfg.RetransmitTimeout = 200 * time.Millisecond
	}
	vr, err := virtual.Start(t.Context(), vcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { vr.Close() })
	rcfg.Device = vr.Path()
	if rcfg.ResponseTimeout == 0 {
		rcfg.ResponseTimeout = 250 * time.Millisecond
	}
	if rcfg.MaxTries == 0 {
		rcfg.MaxTries = 5 // a loaded test machine must not look like a dead reader
	}
	if rcfg.Heartbeat == 0 {
		rcfg.Heartbeat = 300 * time.Millisecond
	}
	r, err := reader.Open(ctxT(t), rcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return vr, r
}

// ctxT is the test's context with a generous bound, so that a bug hangs
// nothing for long. No test measures time.
func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// waitState waits until the virtual reader's state satisfies cond.
func waitState(t *testing.T, vr *virtual.Reader, what string, cond func(virtual.State) bool) {
	t.Helper()
	if err := vr.WaitFor(ctxT(t), cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// eventually polls cond until it holds (for counters that no state change
// announces).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx := ctxT(t)
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("never happened: %s", what)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// insertAndPower presents c in the slot, detects it and powers it on.
func insertAndPower(t *testing.T, vr *virtual.Reader, r *reader.Reader, c *testCard) {
	t.Helper()
	vr.Insert(c)
	ev, err := r.Detect(ctxT(t), reader.DetectRequest{AmountText: "EUR 12.50"})
	if err != nil || ev.Kind != reader.CardInserted {
		t.Fatalf("Detect: %v, %v", ev, err)
	}
	atr, err := r.PowerOn(ctxT(t), reader.Contact)
	if err != nil || !bytes.Equal(atr, c.atr) {
		t.Fatalf("PowerOn: % X, %v", atr, err)
	}
}

// selectPPSE is SELECT 2PAY.SYS.DDF01.
func selectPPSE() []byte { return []byte("\x00\xA4\x04\x00\x0E2PAY.SYS.DDF01\x00") }

// selectAID is SELECT A0000000031010.
func selectAID() []byte {
	return []byte{0x00, 0xA4, 0x04, 0x00, 0x07, 0xA0, 0x00, 0x00, 0x00, 0x03, 0x10, 0x10, 0x00}
}

func readRecord(rec, le byte) []byte { return []byte{0x00, 0xB2, rec, 0x0C, le} }
