package reader_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vinr/cashlessd/emv/reader"
	"github.com/vinr/cashlessd/emv/reader/virtual"
)

// The driver has the shape of the EMV kernel's Transport.
var _ interface {
	Transmit(ctx context.Context, apdu []byte) ([]byte, error)
} = (*reader.Reader)(nil)

func TestInfo(t *testing.T) {
	t.Parallel()
	vr, r := pair(t, virtual.Config{Model: "VR-9", Serial: "S123", Firmware: "2.1"}, reader.Config{ResponseTimeout: 10 * time.Second})
	in, err := r.Info(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if in.Protocol != reader.ProtocolVersion || in.Model != "VR-9" || in.Serial != "S123" || in.Firmware != "2.1" ||
		in.MaxPayload != reader.MaxPayload || in.Capabilities&reader.CapPINPad == 0 || in.DisplayRows != 4 {
		t.Fatalf("Info %+v", in)
	}
	if got := r.LastInfo(); got.Serial != "S123" {
		t.Fatalf("LastInfo %+v", got)
	}
	if s := r.Stats(); s.Opens != 1 || s.Retransmissions != 0 || s.NAKsSent != 0 {
		t.Fatalf("stats %+v", s)
	}
	if st := vr.Stats(); st.FramesIn != 2 || st.Duplicates != 0 {
		t.Fatalf("reader stats %+v (want the INFO of Open and of Info)", st)
	}
}

func TestOpenMissingDevice(t *testing.T) {
	t.Parallel()
	_, err := reader.Open(ctxT(t), reader.Config{Device: filepath.Join(t.TempDir(), "nothing")})
	if !errors.Is(err, reader.ErrDisconnected) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open: %v, want ErrDisconnected and ErrNotExist", err)
	}
	if _, err := reader.New(reader.Config{}); err == nil {
		t.Fatal("New accepted a config without a device")
	}
}

func TestAPDURoundTrips(t *testing.T) {
	t.Parallel()
	// A long response timeout: the frame counts below must not depend on
	// how loaded the machine is.
	vr, r := pair(t, virtual.Config{}, reader.Config{ResponseTimeout: 10 * time.Second})
	card := newTestCard()
	insertAndPower(t, vr, r, card)
	vr.ResetStats()

	resp, err := r.Transmit(ctxT(t), selectAID())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(resp, []byte{0x6F}) || !bytes.HasSuffix(resp, []byte{0x90, 0x00}) || !bytes.Contains(resp, selectAID()[5:12]) {
		t.Fatalf("SELECT answered % X", resp)
	}
	// Every byte value crosses the line both ways.
	all := make([]byte, 0, 261)
	all = append(all, 0x00, 0xCA, 0x9F, 0x36, 0xFF)
	for i := range 256 {
		all = append(all, byte(i))
	}
	if _, err := r.Transmit(ctxT(t), all); err != nil {
		t.Fatal(err)
	}
	resp, err = r.Transmit(ctxT(t), readRecord(0x00, 0x00)) // 256 bytes counting 00..FF
	if err != nil {
		t.Fatal(err)
	}
	for i := range 256 {
		if resp[i] != byte(i) {
			t.Fatalf("READ RECORD byte %d is %02X", i, resp[i])
		}
	}
	for i := range 20 {
		if _, err := r.Transmit(ctxT(t), readRecord(byte(i), 100)); err != nil {
			t.Fatal(err)
		}
	}
	st := vr.Stats()
	if st.APDUs != 23 || st.APDUFrames != 23 || st.Duplicates != 0 || card.Executed() != 23 {
		t.Fatalf("23 APDUs: reader stats %+v, card executed %d", st, card.Executed())
	}
	// One round trip each: a command frame and a response frame, nothing else.
	if st.FramesIn != 23 || st.FramesOut != 23 {
		t.Fatalf("frames in %d, out %d, want 23 and 23", st.FramesIn, st.FramesOut)
	}
	if overhead := st.BytesIn + st.BytesOut - st.APDUPayloadBytes; overhead != 23*2*reader.Overhead {
		t.Fatalf("framing overhead %d bytes for 23 APDUs, want %d", overhead, 23*2*reader.Overhead)
	}

	if err := r.PowerOff(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Transmit(ctxT(t), selectAID()); !errors.Is(err, reader.ErrNotPowered) {
		t.Fatalf("Transmit after PowerOff: %v, want ErrNotPowered", err)
	}
	if _, err := r.PowerOn(ctxT(t), reader.Contactless); !errors.Is(err, reader.ErrNoCard) {
		t.Fatalf("PowerOn contactless without a card in the field: %v, want ErrNoCard", err)
	}
	if _, err := r.Transmit(ctxT(t), []byte{0x00, 0xA4}); err == nil {
		t.Fatal("a 2-byte APDU was sent")
	}
}

func TestDetectTapAndSwipe(t *testing.T) {
	t.Parallel()
	vr, r := pair(t, virtual.Config{}, reader.Config{})

	// Tap.
	card := newTestCard()
	go func() {
		waitState(t, vr, "detection", func(s virtual.State) bool { return s.Detecting })
		vr.Tap(card)
	}()
	ev, err := r.Detect(ctxT(t), reader.DetectRequest{AmountText: "USD 4.20", Interfaces: reader.Contactless | reader.Contact})
	if err != nil || ev.Kind != reader.CardTapped || ev.Interface() != reader.Contactless {
		t.Fatalf("Detect: %v, %v", ev, err)
	}
	if got := vr.State().AmountText; got != "USD 4.20" {
		t.Fatalf("the reader shows %q", got)
	}
	if _, err := r.PowerOn(ctxT(t), reader.Contactless); err != nil {
		t.Fatal(err)
	}
	if resp, err := r.Transmit(ctxT(t), selectPPSE()); err != nil || !bytes.HasSuffix(resp, []byte{0x90, 0x00}) {
		t.Fatalf("SELECT PPSE: % X, %v", resp, err)
	}
	vr.Remove()

	// A card in the field is not reported when only the stripe is
	// enabled; the swipe is.
	vr.Tap(newTestCard())
	const track2 = "4761739001010010=25122010000000000000"
	go func() {
		waitState(t, vr, "detection", func(s virtual.State) bool { return s.Detecting })
		if !vr.Swipe(";" + track2 + "?") {
			t.Error("the swipe was not taken")
		}
	}()
	ev, err = r.Detect(ctxT(t), reader.DetectRequest{AmountText: "USD 4.20", Interfaces: reader.Magstripe})
	if err != nil || ev.Kind != reader.CardSwiped || ev.Interface() != reader.Magstripe {
		t.Fatalf("Detect: %v, %v", ev, err)
	}
	if string(ev.Track2) != track2 {
		t.Fatalf("track 2 %q", ev.Track2)
	}
	for _, s := range []string{ev.String(), fmt.Sprint(ev), fmt.Sprintf("%+v", ev), fmt.Sprintf("%#v", ev)} {
		if strings.Contains(s, "4761739001010010") || strings.Contains(s, "2512201") {
			t.Fatalf("the event's text shows card data: %s", s)
		}
	}
	if !strings.Contains(ev.String(), "************0010") {
		t.Fatalf("masked PAN missing: %s", ev)
	}
	ev.Clear()
	if ev.Track2 != nil {
		t.Fatal("Clear left the track")
	}
	vr.Remove()

	// Insert, with a card inserted before detection starts.
	vr.Insert(newTestCard())
	ev, err = r.Detect(ctxT(t), reader.DetectRequest{Interfaces: reader.Contact})
	if err != nil || ev.Kind != reader.CardInserted {
		t.Fatalf("Detect: %v, %v", ev, err)
	}
}

func TestDetectCancelledByContext(t *testing.T) {
	t.Parallel()
	vr, r := pair(t, virtual.Config{}, reader.Config{})
	ctx, cancel := context.WithCancel(ctxT(t))
	go func() {
		waitState(t, vr, "detection", func(s virtual.State) bool { return s.Detecting })
		cancel()
	}()
	_, err := r.Detect(ctx, reader.DetectRequest{AmountText: "EUR 1.00"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Detect: %v, want context.Canceled", err)
	}
	// The driver told the reader: detection is off there too.
	if vr.State().Detecting {
		t.Fatal("detection still runs on the reader")
	}
	// A deadline is the same.
	ctx, cancel2 := context.WithTimeout(ctxT(t), 300*time.Millisecond)
	defer cancel2()
	_, err = r.Detect(ctx, reader.DetectRequest{})
	if !errors.Is(err, context.DeadlineExceeded) || vr.State().Detecting {
		t.Fatalf("Detect: %v, detecting %v", err, vr.State().Detecting)
	}
	// The reader works on.
	vr.Insert(newTestCard())
	if ev, err := r.Detect(ctxT(t), reader.DetectRequest{}); err != nil || ev.Kind != reader.CardInserted {
		t.Fatalf("Detect: %v, %v", ev, err)
	}
}

func TestDetectKeypadCancelAndTimeout(t *testing.T) {
	t.Parallel()
	vr, r := pair(t, virtual.Config{}, reader.Config{})
	go func() {
		waitState(t, vr, "detection", func(s virtual.State) bool { return s.Detecting })
		vr.PressCancel()
	}()
	if _, err := r.Detect(ctxT(t), reader.DetectRequest{}); !errors.Is(err, reader.ErrCardholderCancel) {
		t.Fatalf("Detect: %v, want ErrCardholderCancel", err)
	}
	if _, err := r.Detect(ctxT(t), reader.DetectRequest{Timeout: time.Second}); !errors.Is(err, reader.ErrTimeout) {
		t.Fatalf("Detect: %v, want ErrTimeout", err)
	}
}

func TestCardRemovedMidAPDU(t *testing.T) {
	t.Parallel()
	vr, r := pair(t, virtual.Config{}, reader.Config{})
	card := newTestCard()
	insertAndPower(t, vr, r, card)
	go func() {
		<-card.started
		vr.Remove()
	}()
	_, err := r.Transmit(ctxT(t), []byte{0x80, 0xEE, 0x00, 0x00, 0x00})
	if !errors.Is(err, reader.ErrCardRemoved) {
		t.Fatalf("Transmit: %v, want ErrCardRemoved", err)
	}
	if _, err := r.Transmit(ctxT(t), selectAID()); !errors.Is(err, reader.ErrCardRemoved) {
		t.Fatalf("next Transmit: %v, want ErrCardRemoved", err)
	}
	if _, err := r.PowerOn(ctxT(t), reader.Contact); !errors.Is(err, reader.ErrNoCard) {
		t.Fatalf("PowerOn: %v, want ErrNoCard", err)
	}
}

func TestUnplugMidTransactionThenReplug(t *testing.T) {
	t.Parallel()
	vr, r := pair(t, virtual.Config{}, reader.Config{})
	card := newTestCard()
	insertAndPower(t, vr, r, card)
	go func() {
		<-card.started
		vr.Unplug()
	}()
	_, err := r.Transmit(ctxT(t), []byte{0x80, 0xEE, 0x00, 0x00, 0x00})
	if !errors.Is(err, reader.ErrDisconnected) {
		t.Fatalf("Transmit: %v, want ErrDisconnected", err)
	}
	// Still unplugged: the device node is gone.
	if _, err := r.Info(ctxT(t)); !errors.Is(err, reader.ErrDisconnected) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Info while unplugged: %v", err)
	}
	if err := vr.Replug(); err != nil {
		t.Fatal(err)
	}
	// The next call reopens the port; the card is still in the slot but
	// the reader restarted, so it must be powered on again.
	ev, err := r.Detect(ctxT(t), reader.DetectRequest{})
	if err != nil || ev.Kind != reader.CardInserted {
		t.Fatalf("Detect after Replug: %v, %v", ev, err)
	}
	if _, err := r.Transmit(ctxT(t), selectAID()); !errors.Is(err, reader.ErrNotPowered) {
		t.Fatalf("Transmit before PowerOn: %v, want ErrNotPowered", err)
	}
	if _, err := r.PowerOn(ctxT(t), reader.Contact); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Transmit(ctxT(t), selectAID()); err != nil {
		t.Fatal(err)
	}
	if s := r.Stats(); s.Opens != 2 {
		t.Fatalf("opens %d, want 2", s.Opens)
	}
}

func TestReplugBetweenCalls(t *testing.T) {
	t.Parallel()
	vr, r := pair(t, virtual.Config{}, reader.Config{})
	for i := range 3 {
		vr.Unplug()
		if err := vr.Replug(); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Info(ctxT(t)); err != nil {
			t.Fatalf("Info after replug %d: %v", i, err)
		}
	}
}

func TestGarbledAndLostFramesRecovered(t *testing.T) {
	t.Parallel()
	vr, r := pair(t, virtual.Config{}, reader.Config{})
	card := newTestCard()
	insertAndPower(t, vr, r, card)
	before := card.Executed()

	faults := []struct {
		name   string
		inject func()
	}{
		{"response garbled twice", func() { vr.Garble(2) }},
		{"bytes lost from the response", func() { vr.DropBytes(3) }},
		{"response lost", func() { vr.DropFrames(1) }},
		{"command garbled", func() { vr.GarbleIn(1) }},
		{"command lost", func() { vr.DropFramesIn(1) }},
		{"line noise", func() { vr.Noise([]byte{0x02, 0x00, 0x05, 0xFF, 0x02, 0x13, 0x11, 0x00, 0x02}) }},
		{"noise, garbled, lost", func() { vr.Noise([]byte{0x02, 0x01}); vr.Garble(1); vr.DropFrames(1) }},
	}
	for i, f := range faults {
		f.inject()
		apdu := readRecord(byte(i+1), 64)
		resp, err := r.Transmit(ctxT(t), apdu)
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		if len(resp) != 66 || resp[0] != byte(i+1) || !bytes.HasSuffix(resp, []byte{0x90, 0x00}) {
			t.Fatalf("%s: answer % X", f.name, resp)
		}
		// The reader is in step again: a clean exchange works.
		if _, err := r.Transmit(ctxT(t), selectAID()); err != nil {
			t.Fatalf("%s, then: %v", f.name, err)
		}
	}
	// Each APDU was executed by the card exactly once, however many
	// times it crossed the line.
	if got, want := card.Executed()-before, 2*len(faults); got != want {
		t.Fatalf("the card executed %d commands for %d APDUs", got, want)
	}
	st, vs := r.Stats(), vr.Stats()
	if st.NAKsSent == 0 || st.Retransmissions == 0 || vs.Duplicates == 0 || vs.NAKsOut == 0 {
		t.Fatalf("no recovery seen: driver %+v, reader %+v", st, vs)
	}
	t.Logf("driver %+v", st)
	t.Logf("reader %+v", vs)
}

func TestTooManyFaultsGiveNoResponse(t *testing.T) {
	t.Parallel()
	vr, r := pair(t, virtual.Config{}, reader.Config{MaxTries: 3, ResponseTimeout: 100 * time.Millisecond})
	vr.DropFramesIn(3)
	_, err := r.Status(ctxT(t))
	if !errors.Is(err, reader.ErrNoResponse) {
		t.Fatalf("Status: %v, want ErrNoResponse", err)
	}
	// The next call opens the port again and works.
	if _, err := r.Status(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if s := r.Stats(); s.Opens != 2 {
		t.Fatalf("opens %d, want 2", s.Opens)
	}
}

func TestRepeatedEventDeliveredOnce(t *testing.T) {
	t.Parallel()
	vr, r := pair(t, virtual.Config{}, reader.Config{Heartbeat: time.Hour})
	go func() {
		waitState(t, vr, "detection", func(s virtual.State) bool { return s.Detecting })
		vr.DropFramesIn(1) // the driver's ACK of the event
		vr.Insert(newTestCard())
	}()
	if ev, err := r.Detect(ctxT(t), reader.DetectRequest{}); err != nil || ev.Kind != reader.CardInserted {
		t.Fatalf("Detect: %v, %v", ev, err)
	}
	eventually(t, "the repeated event", func() bool { return r.Stats().DuplicateEvents >= 1 })
	if s := r.Stats(); s.Events != 1 {
		t.Fatalf("%d events delivered, want 1", s.Events)
	}
	if vs := vr.Stats(); vs.EventResends < 1 {
		t.Fatalf("reader resent %d events", vs.EventResends)
	}
}

func TestDisplayBeepLEDs(t *testing.T) {
	t.Parallel()
	vr, r := pair(t, virtual.Config{}, reader.Config{})
	if err := r.Display(ctxT(t), "Total", "EUR 12.50", "Insert, tap or swipe"); err != nil {
		t.Fatal(err)
	}
	if err := r.Beep(ctxT(t), 2, 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := r.SetLEDs(ctxT(t), 0b0011); err != nil {
		t.Fatal(err)
	}
	s := vr.State()
	if strings.Join(s.Display, "|") != "Total|EUR 12.50|Insert, tap or swipe" || s.Beeps != 2 || s.LEDs != 0b0011 {
		t.Fatalf("state %+v", s)
	}
}

func TestWaitRemoved(t *testing.T) {
	t.Parallel()
	vr, r := pair(t, virtual.Config{}, reader.Config{})
	if err := r.WaitRemoved(ctxT(t)); err != nil {
		t.Fatalf("no card: %v", err)
	}
	vr.Insert(newTestCard())
	waitState(t, vr, "card", func(s virtual.State) bool { return s.CardInSlot })
	go func() {
		time.Sleep(20 * time.Millisecond)
		vr.Remove()
	}()
	if err := r.WaitRemoved(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if vr.State().CardInSlot {
		t.Fatal("returned with the card still in")
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	vr, r := pair(t, virtual.Config{}, reader.Config{})
	errc := make(chan error, 1)
	go func() {
		_, err := r.Detect(ctxT(t), reader.DetectRequest{})
		errc <- err
	}()
	waitState(t, vr, "detection", func(s virtual.State) bool { return s.Detecting })
	r.Close()
	if err := <-errc; !errors.Is(err, reader.ErrClosed) {
		t.Fatalf("Detect during Close: %v, want ErrClosed", err)
	}
	if vr.State().Detecting {
		t.Fatal("detection left running on the reader")
	}
	if _, err := r.Info(ctxT(t)); !errors.Is(err, reader.ErrClosed) {
		t.Fatalf("Info after Close: %v", err)
	}
}
