package iso8583_test

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/vinr/cashlessd/daemon/host/iso8583"
)

// testSpec is a small layout with every length type and encoding.
func testSpec(numbers, prefix, bitmap iso8583.Encoding, tpdu bool) *iso8583.Spec {
	return &iso8583.Spec{
		Name: "test", MTI: numbers, Bitmap: bitmap, Prefix: prefix, TPDU: tpdu,
		Fields: map[int]iso8583.Field{
			2:  {Description: "PAN", Type: iso8583.LLVAR, Length: 19, Enc: numbers},
			3:  {Description: "processing code", Type: iso8583.Fixed, Length: 6, Enc: numbers},
			23: {Description: "odd", Type: iso8583.Fixed, Length: 3, Enc: numbers},
			41: {Description: "terminal", Type: iso8583.Fixed, Length: 8, Enc: iso8583.ASCII},
			52: {Description: "PIN", Type: iso8583.Fixed, Length: 8, Enc: iso8583.Binary},
			55: {Description: "ICC", Type: iso8583.LLLVAR, Length: 999, Enc: iso8583.Binary},
			70: {Description: "network", Type: iso8583.Fixed, Length: 3, Enc: numbers},
			35: {Description: "track 2", Type: iso8583.LLVAR, Length: 37, Enc: track2Enc(numbers)},
		},
	}
}

// track2Enc is how a layout with numerics in enc writes track 2.
func track2Enc(enc iso8583.Encoding) iso8583.Encoding {
	if enc == iso8583.BCD {
		return iso8583.Track2
	}
	return iso8583.ASCII
}

func sample() *iso8583.Message {
	return &iso8583.Message{MTI: "0200", Fields: map[int][]byte{
		2: []byte("4242424242424242424"), 3: []byte("000000"), 23: []byte("001"),
		35: []byte("4242424242424242=30122010000000000"),
		41: []byte("T0000001"), 52: {1, 2, 3, 4, 5, 6, 7, 8}, 55: {0x9F, 0x26, 0x02, 0xAB, 0xCD},
	}}
}

func TestPackUnpackEveryLayout(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name                  string
		numbers, prefix, bmap iso8583.Encoding
		tpdu                  bool
	}{
		{"ascii", iso8583.ASCII, iso8583.ASCII, iso8583.Binary, false},
		{"ascii-hex-bitmap", iso8583.ASCII, iso8583.ASCII, iso8583.Hex, false},
		{"bcd-tpdu", iso8583.BCD, iso8583.BCD, iso8583.Binary, true},
		{"bcd-hex-bitmap", iso8583.BCD, iso8583.BCD, iso8583.Hex, false},
	} {
		spec := testSpec(c.numbers, c.prefix, c.bmap, c.tpdu)
		if err := spec.Validate(); err != nil {
			t.Fatal(err)
		}
		for _, secondary := range []bool{false, true} {
			m := sample()
			if secondary {
				m.Fields[70] = []byte("301")
			}
			if c.tpdu {
				m.TPDU = []byte{0x60, 0, 1, 0, 0}
			}
			packed, err := spec.Pack(m)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			back, err := spec.Unpack(packed)
			if err != nil {
				t.Fatalf("%s: %v\n%x", c.name, err, packed)
			}
			if !reflect.DeepEqual(m, back) {
				t.Errorf("%s: round trip changed the message:\n%+v\n%+v", c.name, m, back)
			}
			// Every truncation fails cleanly.
			for i := range packed {
				if _, err := spec.Unpack(packed[:i]); err == nil {
					t.Errorf("%s: %d of %d bytes unpacked", c.name, i, len(packed))
				}
			}
			if _, err := spec.Unpack(append(packed, 0)); err == nil {
				t.Errorf("%s: trailing byte accepted", c.name)
			}
		}
	}
}

func TestBCDLayoutOnTheWire(t *testing.T) {
	t.Parallel()
	spec := testSpec(iso8583.BCD, iso8583.BCD, iso8583.Binary, true)
	m := &iso8583.Message{TPDU: []byte{0x60, 0, 1, 0, 0}, MTI: "0800", Fields: map[int][]byte{
		2: []byte("123"), 23: []byte("001"), 70: []byte("301")}}
	packed, err := spec.Pack(m)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0x60, 0, 1, 0, 0, // TPDU
		0x08, 0x00, // MTI
		0xC0, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, // primary bitmap: 1, 2, 23
		0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // secondary bitmap: 70
		0x03, 0x01, 0x23, // field 2: length 03, digits 0123
		0x00, 0x01, // field 23: 001 left-padded
		0x03, 0x01, // field 70: 301
	}
	if !bytes.Equal(packed, want) {
		t.Errorf("packed\n%x\nwant\n%x", packed, want)
	}
}

func TestTrack2OnTheWire(t *testing.T) {
	t.Parallel()
	spec := testSpec(iso8583.BCD, iso8583.BCD, iso8583.Binary, false)
	packed, err := spec.Pack(&iso8583.Message{MTI: "0200", Fields: map[int][]byte{35: []byte("4242=301")}})
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, // MTI, bitmap: 35
		0x08, 0x42, 0x42, 0xD3, 0x01} // LL 08, 4242=301
	if !bytes.Equal(packed, want) {
		t.Errorf("packed\n%x\nwant\n%x", packed, want)
	}
	odd, err := spec.Pack(&iso8583.Message{MTI: "0200", Fields: map[int][]byte{35: []byte("4=3")}})
	if err != nil || !bytes.Equal(odd[len(odd)-3:], []byte{0x03, 0x4D, 0x3F}) {
		t.Errorf("odd track 2 % x, %v", odd, err)
	}
	if _, err := spec.Pack(&iso8583.Message{MTI: "0200", Fields: map[int][]byte{35: []byte("4242^301")}}); err == nil {
		t.Error("track 2 with ^ packed")
	}
	bad := append(slices.Clone(odd[:len(odd)-1]), 0x30)
	if _, err := spec.Unpack(bad); err == nil {
		t.Error("odd track 2 without F pad unpacked")
	}
}

func TestStrictChecks(t *testing.T) {
	t.Parallel()
	ascii := testSpec(iso8583.ASCII, iso8583.ASCII, iso8583.Binary, false)
	bcd := testSpec(iso8583.BCD, iso8583.BCD, iso8583.Binary, true)
	for name, m := range map[string]*iso8583.Message{
		"fixed too short":   {MTI: "0200", Fields: map[int][]byte{3: []byte("12345")}},
		"fixed too long":    {MTI: "0200", Fields: map[int][]byte{3: []byte("1234567")}},
		"variable too long": {MTI: "0200", Fields: map[int][]byte{2: bytes.Repeat([]byte("1"), 20)}},
		"unknown field":     {MTI: "0200", Fields: map[int][]byte{4: []byte("1")}},
		"short MTI":         {MTI: "020", Fields: map[int][]byte{}},
	} {
		if _, err := ascii.Pack(m); err == nil {
			t.Errorf("%s: packed", name)
		}
	}
	if _, err := bcd.Pack(&iso8583.Message{TPDU: []byte{0x60, 0, 1, 0, 0}, MTI: "0200",
		Fields: map[int][]byte{3: []byte("12A456")}}); err == nil {
		t.Error("non-digit packed as BCD")
	}
	if _, err := bcd.Pack(&iso8583.Message{MTI: "0200", Fields: map[int][]byte{}}); err == nil {
		t.Error("message without TPDU packed in a TPDU layout")
	}
	for name, raw := range map[string][]byte{
		"bad TPDU ID":        {0x61, 0, 1, 0, 0, 0x08, 0x10, 0, 0, 0, 0, 0, 0, 0, 0},
		"BCD nibble above 9": {0x60, 0, 1, 0, 0, 0x08, 0x1A, 0, 0, 0, 0, 0, 0, 0, 0},
		"LL above the max":   {0x60, 0, 1, 0, 0, 0x08, 0x10, 0x40, 0, 0, 0, 0, 0, 0, 0, 0x20},
		"field not in spec":  {0x60, 0, 1, 0, 0, 0x08, 0x10, 0x10, 0, 0, 0, 0, 0, 0, 0},
		"odd BCD pad":        {0x60, 0, 1, 0, 0, 0x08, 0x10, 0, 0, 0x02, 0, 0, 0, 0, 0, 0x10, 0x01},
	} {
		if _, err := bcd.Unpack(raw); err == nil {
			t.Errorf("%s: unpacked", name)
		}
	}
	if _, err := ascii.Unpack([]byte("0200")); !errors.Is(err, iso8583.ErrShort) {
		t.Errorf("missing bitmap: %v, want ErrShort", err)
	}
	if _, err := ascii.Unpack(append([]byte("0200\x40\x00\x00\x00\x00\x00\x00\x00"), "+5123"...)); err == nil {
		t.Error("signed length prefix accepted")
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	for name, s := range map[string]*iso8583.Spec{
		"binary MTI":     {MTI: iso8583.Binary, Bitmap: iso8583.Binary, Prefix: iso8583.ASCII},
		"ASCII bitmap":   {MTI: iso8583.ASCII, Bitmap: iso8583.ASCII, Prefix: iso8583.ASCII},
		"field 1":        {MTI: iso8583.ASCII, Bitmap: iso8583.Binary, Prefix: iso8583.ASCII, Fields: map[int]iso8583.Field{1: {Type: iso8583.Fixed, Length: 8, Enc: iso8583.Binary}}},
		"LL of 100":      {MTI: iso8583.ASCII, Bitmap: iso8583.Binary, Prefix: iso8583.ASCII, Fields: map[int]iso8583.Field{2: {Type: iso8583.LLVAR, Length: 100, Enc: iso8583.ASCII}}},
		"no length type": {MTI: iso8583.ASCII, Bitmap: iso8583.Binary, Prefix: iso8583.ASCII, Fields: map[int]iso8583.Field{2: {Length: 1, Enc: iso8583.ASCII}}},
	} {
		if s.Validate() == nil {
			t.Errorf("%s: valid", name)
		}
	}
}
