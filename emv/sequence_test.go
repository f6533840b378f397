package emv_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/vinr/cashlessd/emv"
	"github.com/vinr/cashlessd/emv/card"
)

// TestChipDataNumbersEachTransaction: the chip data for the host carries
// the terminal's sequence counter (9F41) as given, its application version
// (9F09) and the reader's serial (9F1E); a wallet's card counts its ATC
// (9F36) up from one transaction to the next; Mastercard chip data also
// carries the transaction category code (9F53).
func TestChipDataNumbersEachTransaction(t *testing.T) {
	t.Parallel()
	var w card.Wallet
	for _, name := range []string{"visa-approved", "mastercard"} {
		img, err := card.Builtin(name)
		if err != nil {
			t.Fatal(err)
		}
		var lastATC []byte
		for i, seq := range []uint32{41, 42} {
			c, err := w.Present(img, emv.Contact)
			if err != nil {
				t.Fatal(err)
			}
			tx := sale(1000)
			tx.SequenceCounter, tx.IFDSerial = seq, "VR-0001"
			out, err := newKernel(t).Contact(c, &pinPad{card: c, bypass: true}, tx).Read(context.Background())
			if err != nil {
				t.Fatalf("%s %d: %v", name, i, err)
			}
			want := map[emv.Tag][]byte{
				emv.TagSequenceCounter:    {0, 0, 0, byte(0x41 + i)}, // n8, BCD
				emv.TagIFDSerial:          []byte("VR-0001 "),
				emv.TagAppVersionTerminal: nil,
			}
			if name == "mastercard" {
				want[emv.TagTransactionCategory] = []byte("R")
			}
			for tag, v := range want {
				got, ok := emv.Find(out.ICCData, tag)
				if !ok || (v != nil && !bytes.Equal(got, v)) || len(got) == 0 {
					t.Errorf("%s %d: %s = % X (%v), want % X", name, i, tag, got, ok, v)
				}
			}
			if _, ok := emv.Find(out.ICCData, emv.TagTransactionCategory); ok && name != "mastercard" {
				t.Errorf("%s: 9F53 is Mastercard's", name)
			}
			atc, ok := emv.Find(out.ICCData, emv.TagATC)
			if !ok || len(atc) != 2 {
				t.Fatalf("%s %d: no ATC", name, i)
			}
			if lastATC != nil && int(atc[0])<<8|int(atc[1]) != int(lastATC[0])<<8|int(lastATC[1])+1 {
				t.Errorf("%s: ATC % X after % X, want one more", name, atc, lastATC)
			}
			lastATC = atc
		}
	}
}
