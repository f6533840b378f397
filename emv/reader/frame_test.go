package reader_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/vinr/cashlessd/emv/reader"
)

func TestCRC16CheckValue(t *testing.T) {
	t.Parallel()
	if got := reader.CRC16([]byte("123456789")); got != 0x29B1 {
		t.Fatalf("CRC-16/CCITT-FALSE check value %04X, want 29B1", got)
	}
	if got := reader.CRC16(nil); got != 0xFFFF {
		t.Fatalf("CRC of nothing %04X, want FFFF (the initial value)", got)
	}
}

func encode(t testing.TB, f reader.Frame) []byte {
	t.Helper()
	b, err := f.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeAll(d *reader.Decoder) []reader.Frame {
	var out []reader.Frame
	for {
		f, ok := d.Next()
		if !ok {
			return out
		}
		out = append(out, f)
	}
}

func sameFrame(a, b reader.Frame) bool {
	return a.Seq == b.Seq && a.Type == b.Type && bytes.Equal(a.Payload, b.Payload)
}

func TestFrameRoundTrip(t *testing.T) {
	t.Parallel()
	frames := []reader.Frame{
		{Seq: 0, Type: reader.CmdInfo},
		{Seq: 1, Type: reader.CmdAPDU, Payload: []byte{0x00, 0xA4, 0x04, 0x00, 0x07, 0xA0, 0, 0, 0, 0x03, 0x10, 0x10, 0x00}},
		{Seq: 255, Type: reader.RespOK, Payload: bytes.Repeat([]byte{reader.STX}, 300)},
		{Seq: 7, Type: reader.TypeACK},
		{Seq: 9, Type: reader.EvtCardSwiped, Payload: make([]byte, reader.MaxPayload)},
	}
	var stream []byte
	for _, f := range frames {
		b := encode(t, f)
		if len(b) != f.WireLen() || len(b) != len(f.Payload)+reader.Overhead {
			t.Fatalf("%v: %d bytes on the wire", f, len(b))
		}
		stream = append(stream, b...)
	}
	// All at once, and one byte at a time.
	for _, chunk := range []int{len(stream), 1} {
		var d reader.Decoder
		var got []reader.Frame
		for i := 0; i < len(stream); i += chunk {
			d.Write(stream[i:min(i+chunk, len(stream))])
			got = append(got, decodeAll(&d)...)
		}
		if len(got) != len(frames) {
			t.Fatalf("chunk %d: %d frames, want %d", chunk, len(got), len(frames))
		}
		for i := range frames {
			if !sameFrame(got[i], frames[i]) {
				t.Errorf("chunk %d: frame %d is %v, want %v", chunk, i, got[i], frames[i])
			}
		}
		if n := d.Discarded(); n != 0 {
			t.Errorf("chunk %d: %d bytes discarded from a clean stream", chunk, n)
		}
	}
	if _, err := (reader.Frame{Payload: make([]byte, reader.MaxPayload+1)}).MarshalBinary(); err == nil {
		t.Error("a payload over MaxPayload was encoded")
	}
}

func TestDecoderResynchronises(t *testing.T) {
	t.Parallel()
	good := reader.Frame{Seq: 3, Type: reader.RespOK, Payload: []byte{0x6F, 0x02, reader.STX, 0x01, 0x90, 0x00}}
	gb := encode(t, good)
	damaged := append([]byte(nil), gb...)
	damaged[6] ^= 0x40
	dropped := append(append([]byte(nil), gb[:4]...), gb[5:]...) // one byte lost

	cases := map[string][]byte{
		"noise before":        append([]byte{0x00, 0xFF, 0x13, 0x37}, gb...),
		"STX noise before":    append([]byte{reader.STX, reader.STX, 0x00}, gb...),
		"impossible length":   append([]byte{reader.STX, 0xFF, 0xFF, 0x01}, gb...),
		"damaged then good":   append(damaged, gb...),
		"lost byte then good": append(dropped, gb...),
		"truncated then good": append(append([]byte(nil), gb[:5]...), gb...),
	}
	for name, stream := range cases {
		var d reader.Decoder
		d.Write(stream)
		got := decodeAll(&d)
		if len(got) != 1 || !sameFrame(got[0], good) {
			t.Errorf("%s: got %v, want the good frame", name, got)
		}
		if d.Discarded() == 0 {
			t.Errorf("%s: nothing counted as discarded", name)
		}
	}
}

func TestDecoderFlush(t *testing.T) {
	t.Parallel()
	good := reader.Frame{Seq: 4, Type: reader.RespOK, Payload: []byte{0x90, 0x00}}
	gb := encode(t, good)
	var d reader.Decoder

	// A frame that lost a byte, and then silence: nothing decodes until
	// the receiver gives up on it after a quiet gap.
	d.Write(append(append([]byte(nil), gb[:4]...), gb[5:]...))
	if f, ok := d.Next(); ok {
		t.Fatalf("decoded %v from a short frame", f)
	}
	if d.Pending() == 0 {
		t.Fatal("the partial frame was not kept")
	}
	d.Flush()
	if d.Pending() != 0 || d.Discarded() != len(gb)-1 {
		t.Fatalf("after Flush: %d pending", d.Pending())
	}

	// Out of sync, a noise STX with a plausible length in front of a
	// whole frame is skipped at once.
	d.Write(append([]byte{reader.STX, 0x00, 0x40}, gb...))
	if f, ok := d.Next(); !ok || !sameFrame(f, good) {
		t.Fatalf("out of sync: %v %v, want the good frame", f, ok)
	}
	d.Discarded()

	// In sync (after an intact frame), the same STX is taken for the
	// start of a frame still arriving, until the line goes quiet.
	d.Write(append([]byte{reader.STX, 0x00, 0x40}, gb...))
	if f, ok := d.Next(); ok {
		t.Fatalf("in sync: decoded %v inside a frame still arriving", f)
	}
	d.Flush()
	f, ok := d.Next()
	if !ok || !sameFrame(f, good) {
		t.Fatalf("after Flush: %v %v, want the good frame", f, ok)
	}
	if n := d.Discarded(); n != 3 {
		t.Fatalf("%d bytes discarded, want 3", n)
	}
}

func TestFrameStringHidesPayload(t *testing.T) {
	t.Parallel()
	f := reader.Frame{Seq: 1, Type: reader.EvtCardSwiped, Payload: []byte("4761739001010010=25122010000000000000")}
	for _, s := range []string{f.String(), fmt.Sprintf("%v", f), fmt.Sprintf("%+v", f), fmt.Sprintf("%#v", f)} {
		if bytes.Contains([]byte(s), []byte("4761739001010010")) {
			t.Fatalf("frame text shows the track: %s", s)
		}
	}
}

// FuzzFrameDecoder feeds arbitrary bytes, in arbitrary chunks, to the
// decoder: it must never panic, every frame it returns must be one that
// appears intact in the input, and a well-formed frame appended after the
// noise (and a flush, as after a quiet line) must come out.
func FuzzFrameDecoder(f *testing.F) {
	seed := func(fr reader.Frame) []byte { b, _ := fr.MarshalBinary(); return b }
	apdu := seed(reader.Frame{Seq: 1, Type: reader.CmdAPDU, Payload: []byte{0x00, 0xB2, 0x01, 0x0C, 0x00}})
	f.Add([]byte{}, uint8(1))
	f.Add(apdu, uint8(3))
	f.Add(append([]byte{0x02, 0x02, 0xFF}, apdu...), uint8(2))
	f.Add(append(apdu[:6], apdu...), uint8(5))
	f.Add([]byte{0x02, 0x04, 0x00, 0x00}, uint8(1))
	f.Add(bytes.Repeat([]byte{0x02}, 40), uint8(7))
	f.Add(seed(reader.Frame{Seq: 0, Type: reader.RespOK, Payload: bytes.Repeat([]byte{0x02, 0x00}, 100)}), uint8(64))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		step := int(chunk)%32 + 1
		var d reader.Decoder
		check := func(fr reader.Frame) {
			if len(fr.Payload) > reader.MaxPayload {
				t.Fatalf("payload of %d bytes", len(fr.Payload))
			}
			b, err := fr.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(data, b) {
				t.Fatalf("decoded %v, which is not in the input", fr)
			}
		}
		for i := 0; i < len(data); i += step {
			d.Write(data[i:min(i+step, len(data))])
			for _, fr := range decodeAll(&d) {
				check(fr)
			}
		}
		// The line goes quiet: the receiver flushes, decodes what an
		// intact later frame gave back, and flushes again while a partial
		// frame (a stray STX after it) is still held.
		for d.Pending() > 0 {
			d.Flush()
			for _, fr := range decodeAll(&d) {
				check(fr)
			}
		}
		d.Discarded()
		// The line is quiet and flushed: a good frame now decodes.
		want := reader.Frame{Seq: 0x42, Type: reader.RespOK, Payload: data[:min(len(data), 64)]}
		d.Write(seed(want))
		got := decodeAll(&d)
		if len(got) != 1 || !sameFrame(got[0], want) {
			t.Fatalf("after the noise: %v, want %v", got, want)
		}
	})
}

// An APDU exchange on the wire: the command SELECT PPSE and the card's
// answer 6A82, each in one frame. The response acknowledges the command.
func ExampleFrame_MarshalBinary() {
	cmd := reader.Frame{Seq: 1, Type: reader.CmdAPDU, Payload: []byte("\x00\xA4\x04\x00\x0E2PAY.SYS.DDF01\x00")}
	resp := reader.Frame{Seq: 1, Type: reader.RespOK, Payload: []byte{0x6A, 0x82}}
	ack := reader.Frame{Seq: 5, Type: reader.TypeACK}
	for _, f := range []reader.Frame{cmd, resp, ack} {
		b, _ := f.MarshalBinary()
		fmt.Printf("%-8s % X\n", f.Type, b)
	}
	// Output:
	// APDU     02 00 14 01 25 00 A4 04 00 0E 32 50 41 59 2E 53 59 53 2E 44 44 46 30 31 00 FD 57
	// OK       02 00 02 01 80 6A 82 52 56
	// ACK      02 00 00 05 06 1B F3
}
