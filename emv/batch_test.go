package emv_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/vinr/cashlessd/emv"
)

// batcher is a BatchTransport over a counter: it runs up to max commands
// per batch in order, each to its end (GET RESPONSE, wrong length), and
// stops after a status word other than 90 00, as a reader running APDUS
// does.
type batcher struct {
	*counter
	max     int
	batches [][][]byte
}

func (b *batcher) TransmitBatch(ctx context.Context, apdus [][]byte) ([][]byte, error) {
	b.batches = append(b.batches, apdus)
	var out [][]byte
	for _, a := range apdus[:min(len(apdus), b.max)] {
		data, sw, err := emv.Exchange(ctx, b.counter, a)
		if err != nil {
			return nil, err
		}
		out = append(out, append(data, byte(sw>>8), byte(sw)))
		if sw != emv.SWOK {
			break
		}
	}
	return out, nil
}

func TestRecordsReadInBatches(t *testing.T) {
	t.Parallel()
	for _, max := range []int{1, 2, 64} {
		c, img := insert(t, "visa-approved", emv.Contact)
		single := &counter{t: c}
		want, err := newKernel(t).Contact(single, &pinPad{card: c, offline: []string{"1234"}}, sale(2500)).Read(context.Background())
		if err != nil {
			t.Fatal(err)
		}

		c2, _ := insert(t, "visa-approved", emv.Contact)
		b := &batcher{counter: &counter{t: c2}, max: max}
		got, err := newKernel(t).Contact(b, &pinPad{card: c2, offline: []string{"1234"}}, sale(2500)).Read(context.Background())
		if err != nil {
			t.Fatalf("batches of %d: %v", max, err)
		}
		// The card sees the same commands; the records arrive batched.
		if !bytes.Equal(b.ins(), single.ins()) {
			t.Errorf("batches of %d: commands % X, one by one % X", max, b.ins(), single.ins())
		}
		if got.PAN != want.PAN || got.AID != want.AID || got.CryptogramType != want.CryptogramType || got.TVR != want.TVR {
			t.Errorf("batches of %d: outcome %+v, one by one %+v", max, got, want)
		}
		records := single.sent(0xB2)
		if records < 2 {
			t.Fatalf("%s reads %d records: nothing to batch", img.Name, records)
		}
		if max >= records && len(b.batches) != 1 {
			t.Errorf("%d records in %d batches (%d, %d commands), want 1", records, len(b.batches), len(b.batches[0]), len(b.batches[1]))
		}
	}
}
