package reader_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/vinr/cashlessd/emv/reader"
	"github.com/vinr/cashlessd/emv/reader/dukpt"
	"github.com/vinr/cashlessd/emv/reader/virtual"
)

const testPAN = "4761739001010010"

func TestOnlinePIN(t *testing.T) {
	t.Parallel()
	vr, r := pair(t, virtual.Config{Record: true}, reader.Config{})
	vr.SetPIN("1234")

	block, ksn, err := r.OnlinePIN(ctxT(t), testPAN, "EUR 12.50")
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(ksn); got != "ffff9876543210e00001" {
		t.Fatalf("KSN %s, want the first counter of the test KSN", got)
	}
	// The host, holding the BDK, decrypts the block to the format 0 block
	// of the PIN and PAN (this is the test's job, never the driver's).
	bdk, _ := hex.DecodeString(virtual.TestBDK)
	key, err := dukpt.PINKey(bdk, ksn)
	if err != nil {
		t.Fatal(err)
	}
	clearBlock, err := dukpt.DecryptPINBlock(key, block)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := dukpt.FormatPIN0("1234", testPAN)
	if !bytes.Equal(clearBlock, want) {
		t.Fatalf("decrypted block % X, want the format 0 block % X", clearBlock, want)
	}
	if pin, err := dukpt.ParsePIN0(clearBlock, testPAN); err != nil || pin != "1234" {
		t.Fatalf("PIN %q, %v", pin, err)
	}
	if bytes.Equal(block, want) {
		t.Fatal("the PIN block came back in the clear")
	}

	// The next PIN uses the next key.
	block2, ksn2, err := r.OnlinePIN(ctxT(t), testPAN, "EUR 12.50")
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(ksn2) != "ffff9876543210e00002" || bytes.Equal(block2, block) {
		t.Fatalf("second PIN: KSN %X, block % X", ksn2, block2)
	}

	// Nothing on the wire, either way, holds the PIN or the clear block.
	in, out := vr.Traffic()
	for _, dir := range [][]byte{in, out} {
		for _, secret := range [][]byte{[]byte("1234"), {0x12, 0x34}, want, want[:4]} {
			if bytes.Contains(dir, secret) {
				t.Fatalf("the wire carries % X", secret)
			}
		}
	}
	if !bytes.Contains(out, block) || !bytes.Contains(in, []byte(testPAN)) {
		t.Fatal("the recording missed the exchange")
	}
}

func TestOnlinePINCancelAndBypass(t *testing.T) {
	t.Parallel()
	vr, r := pair(t, virtual.Config{}, reader.Config{})
	prompt := func(s virtual.State) bool { return s.PINEntry }

	// The cardholder presses cancel.
	go func() {
		waitState(t, vr, "PIN prompt", prompt)
		vr.PressCancel()
	}()
	if _, _, err := r.OnlinePIN(ctxT(t), testPAN, "EUR 1.00"); !errors.Is(err, reader.ErrCardholderCancel) {
		t.Fatalf("OnlinePIN: %v, want ErrCardholderCancel", err)
	}

	// The terminal gives up: the prompt goes away on the reader.
	ctx, cancel := context.WithCancel(ctxT(t))
	go func() {
		waitState(t, vr, "PIN prompt", prompt)
		cancel()
	}()
	if _, _, err := r.OnlinePIN(ctx, testPAN, "EUR 1.00"); !errors.Is(err, context.Canceled) {
		t.Fatalf("OnlinePIN: %v, want context.Canceled", err)
	}
	if vr.State().PINEntry {
		t.Fatal("the PIN prompt is still up")
	}

	// The cardholder types the PIN while the prompt is up.
	go func() {
		waitState(t, vr, "PIN prompt", prompt)
		vr.SetPIN("98765")
	}()
	if _, _, err := r.OnlinePIN(ctxT(t), testPAN, "EUR 1.00"); err != nil {
		t.Fatal(err)
	}

	vr.BypassPIN()
	if _, _, err := r.OnlinePIN(ctxT(t), testPAN, "EUR 1.00"); !errors.Is(err, reader.ErrPINBypassed) {
		t.Fatalf("OnlinePIN: %v, want ErrPINBypassed", err)
	}
	if _, _, err := r.OnlinePIN(ctxT(t), "4761", "EUR 1.00"); err == nil {
		t.Fatal("a 4-digit PAN was accepted")
	}
}

func TestOnlinePINKeysExhausted(t *testing.T) {
	t.Parallel()
	ksn, _ := hex.DecodeString("FFFF9876543210FFF800") // the last counter
	vr, r := pair(t, virtual.Config{KSN: ksn}, reader.Config{})
	vr.SetPIN("1234")
	if _, _, err := r.OnlinePIN(ctxT(t), testPAN, ""); !errors.Is(err, reader.ErrPINPad) {
		t.Fatalf("OnlinePIN: %v, want ErrPINPad", err)
	}
}

func TestOfflinePIN(t *testing.T) {
	t.Parallel()
	vr, r := pair(t, virtual.Config{Record: true}, reader.Config{})
	card := newTestCard() // PIN 4321, 3 tries
	insertAndPower(t, vr, r, card)

	vr.SetPIN("4321")
	res, err := r.OfflinePIN(ctxT(t))
	if err != nil || res.Status != reader.PINVerified || res.SW != 0x9000 {
		t.Fatalf("right PIN: %+v, %v", res, err)
	}
	vr.SetPIN("1111")
	for _, left := range []int{2, 1} {
		res, err = r.OfflinePIN(ctxT(t))
		if err != nil || res.Status != reader.PINWrong || res.TriesLeft != left {
			t.Fatalf("wrong PIN: %+v, %v, want %d tries left", res, err, left)
		}
	}
	for _, sw := range []uint16{0x63C0, 0x6983} {
		res, err = r.OfflinePIN(ctxT(t))
		if err != nil || res.Status != reader.PINBlocked || res.SW != sw {
			t.Fatalf("blocked: %+v, %v, want SW %04X", res, err, sw)
		}
	}

	// The reader sent VERIFY itself: CLA 00 INS 20 P2 80, plaintext
	// format 2 block. The PIN never crossed the wire.
	card.mu.Lock()
	first := card.verifies[0]
	card.mu.Unlock()
	if want := []byte{0x00, 0x20, 0x00, 0x80, 0x08, 0x24, 0x43, 0x21, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}; !bytes.Equal(first, want) {
		t.Fatalf("VERIFY % X, want % X", first, want)
	}
	in, out := vr.Traffic()
	for _, dir := range [][]byte{in, out} {
		for _, secret := range [][]byte{[]byte("4321"), []byte("1111"), {0x24, 0x43, 0x21}, {0x24, 0x11, 0x11}} {
			if bytes.Contains(dir, secret) {
				t.Fatalf("the wire carries % X", secret)
			}
		}
	}
}

func TestOfflinePINNeedsCard(t *testing.T) {
	t.Parallel()
	vr, r := pair(t, virtual.Config{}, reader.Config{})
	vr.SetPIN("4321")
	if _, err := r.OfflinePIN(ctxT(t)); !errors.Is(err, reader.ErrNotPowered) {
		t.Fatalf("OfflinePIN without a card: %v, want ErrNotPowered", err)
	}

	// The card is pulled while the cardholder is at the prompt.
	card := newTestCard()
	insertAndPower(t, vr, r, card)
	vr.SetPIN("")
	go func() {
		waitState(t, vr, "PIN prompt", func(s virtual.State) bool { return s.PINEntry })
		vr.Remove()
	}()
	if _, err := r.OfflinePIN(ctxT(t)); !errors.Is(err, reader.ErrCardRemoved) {
		t.Fatalf("OfflinePIN: %v, want ErrCardRemoved", err)
	}
}
