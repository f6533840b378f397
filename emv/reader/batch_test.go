package reader_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/vinr/cashlessd/emv/reader"
	"github.com/vinr/cashlessd/emv/reader/virtual"
)

func TestAPDUBatchIsOneRoundTrip(t *testing.T) {
	t.Parallel()
	vr, r := pair(t, virtual.Config{}, reader.Config{ResponseTimeout: 10 * time.Second})
	if r.LastInfo().Capabilities&reader.CapAPDUBatch == 0 {
		t.Fatal("the virtual reader does not announce APDUS")
	}
	card := newTestCard()
	insertAndPower(t, vr, r, card)
	vr.ResetStats()

	cmds := [][]byte{readRecord(1, 40), readRecord(2, 60), readRecord(3, 80)}
	resps, err := r.TransmitBatch(ctxT(t), cmds)
	if err != nil {
		t.Fatal(err)
	}
	if len(resps) != 3 {
		t.Fatalf("%d responses to 3 APDUs", len(resps))
	}
	for i, resp := range resps {
		want, _ := card.Transmit(ctxT(t), cmds[i])
		if !bytes.Equal(resp, want) {
			t.Errorf("response %d: % X, want % X", i, resp, want)
		}
	}
	st := vr.Stats()
	if st.APDUs != 3 || st.APDUFrames != 1 || st.FramesIn != 1 || st.FramesOut != 1 {
		t.Fatalf("3 APDUs in one batch: reader stats %+v", st)
	}
}

func TestAPDUBatchStops(t *testing.T) {
	t.Parallel()
	vr, r := pair(t, virtual.Config{}, reader.Config{ResponseTimeout: 10 * time.Second})
	card := newTestCard()
	insertAndPower(t, vr, r, card)

	// After a status word other than 90 00: the rest is not sent to the card.
	unknown := []byte{0x00, 0x01, 0x00, 0x00, 0x00}
	before := card.Executed()
	resps, err := r.TransmitBatch(ctxT(t), [][]byte{readRecord(1, 10), unknown, readRecord(2, 10)})
	if err != nil {
		t.Fatal(err)
	}
	if len(resps) != 2 || !bytes.Equal(resps[1], []byte{0x6D, 0x00}) || card.Executed()-before != 2 {
		t.Fatalf("batch with a 6D00 in the middle: %d responses (% X), card executed %d", len(resps), resps, card.Executed()-before)
	}

	// Before a command whose largest response might not fit.
	var big [][]byte
	for i := range 6 {
		big = append(big, readRecord(byte(i+1), 0))
	}
	resps, err = r.TransmitBatch(ctxT(t), big)
	if err != nil {
		t.Fatal(err)
	}
	if len(resps) != 3 || len(resps[2]) != 258 {
		t.Fatalf("six 256-byte records: %d responses in the first batch, want 3", len(resps))
	}

	// Without a card powered, the batch is refused as an APDU would be.
	if err := r.PowerOff(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.TransmitBatch(ctxT(t), [][]byte{readRecord(1, 10), readRecord(2, 10)}); !errors.Is(err, reader.ErrNotPowered) {
		t.Errorf("batch without a powered card: %v", err)
	}
}

func TestAPDUsPayload(t *testing.T) {
	t.Parallel()
	in := [][]byte{{0x00, 0xB2, 0x01, 0x0C, 0x00}, {0x90, 0x00}}
	b := reader.MarshalAPDUs(in)
	if !bytes.Equal(b, []byte{0x00, 0x05, 0x00, 0xB2, 0x01, 0x0C, 0x00, 0x00, 0x02, 0x90, 0x00}) {
		t.Fatalf("encoded % X", b)
	}
	out, err := reader.ParseAPDUs(b)
	if err != nil || len(out) != 2 || !bytes.Equal(out[0], in[0]) || !bytes.Equal(out[1], in[1]) {
		t.Fatalf("decoded % X %v", out, err)
	}
	if _, err := reader.ParseAPDUs(b[:len(b)-1]); err == nil {
		t.Error("a cut payload decoded")
	}
}
