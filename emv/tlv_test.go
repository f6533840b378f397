package emv

import (
	"bytes"
	"errors"
	"testing"
)

// The PSE FCI of EMV Book 1, 12.2.4 / Annex: 1PAY.SYS.DDF01 with SFI 2 and
// language "en".
var pseFCI = MustHex("6F 1A 84 0E 315041592E5359532E4444463031 A5 08 88 01 02 5F 2D 02 65 6E")

func TestParseTag(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		tag  Tag
		n    int
		fail bool
	}{
		{"5A", 0x5A, 1, false},
		{"9F02", 0x9F02, 2, false},
		{"BF0C", 0xBF0C, 2, false},
		{"DF8101", 0xDF8101, 3, false},
		{"5F2A06", 0x5F2A, 2, false},
		{"9F", 0, 0, true},             // truncated
		{"DF818181", 0, 0, true},       // four bytes, still continuing
		{"DF81818101", 0, 0, true},     // five bytes
		{"", 0, 0, true},               // empty
		{"1F8101", 0x1F8101, 3, false}, // universal class, multi-byte
	} {
		tag, n, err := ParseTag(MustHex(tc.in))
		if tc.fail {
			if err == nil || !errors.Is(err, ErrTLV) {
				t.Errorf("ParseTag(%s) = %v, want ErrTLV", tc.in, err)
			}
			continue
		}
		if err != nil || tag != tc.tag || n != tc.n {
			t.Errorf("ParseTag(%s) = %s %d %v, want %s %d", tc.in, tag, n, err, tc.tag, tc.n)
		}
		if !bytes.Equal(tag.Bytes(), MustHex(tc.in)[:n]) {
			t.Errorf("%s.Bytes() = % X", tag, tag.Bytes())
		}
	}
}

func TestTagProperties(t *testing.T) {
	t.Parallel()
	if !Tag(0x6F).Constructed() || !Tag(0xBF0C).Constructed() || !Tag(0x70).Constructed() || !Tag(0x77).Constructed() {
		t.Error("templates must be constructed")
	}
	if Tag(0x80).Constructed() || Tag(0x9F02).Constructed() || Tag(0x5A).Constructed() {
		t.Error("80, 9F02, 5A are primitive")
	}
	if Tag(0x9F02).String() != "9F02" || TagPAN.Name() != "Application Primary Account Number (PAN)" {
		t.Errorf("String/Name: %s %q", Tag(0x9F02), TagPAN.Name())
	}
	if i, ok := LookupTag(TagAmountAuthorised); !ok || i.Format != FormatN {
		t.Errorf("9F02 is numeric: %+v", i)
	}
	if _, ok := LookupTag(0xDF7F); ok {
		t.Error("DF7F is not in the dictionary")
	}
}

func TestParseLength(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		l, n int
		fail bool
	}{
		{"00", 0, 1, false},
		{"7F", 127, 1, false},
		{"8180", 128, 2, false},
		{"820100", 256, 3, false},
		{"83010000", 65536, 4, false},
		{"80", 0, 0, true},         // indefinite
		{"84FFFFFFFF", 0, 0, true}, // four length bytes
		{"88FFFFFFFFFFFFFFFF", 0, 0, true},
		{"82 01", 0, 0, true}, // truncated
	} {
		l, n, err := ParseLength(MustHex(tc.in))
		if tc.fail != (err != nil) || l != tc.l || n != tc.n {
			t.Errorf("ParseLength(%s) = %d %d %v", tc.in, l, n, err)
		}
	}
}

func TestParseTLVFCI(t *testing.T) {
	t.Parallel()
	objs, err := ParseTLV(pseFCI)
	if err != nil || len(objs) != 1 || objs[0].Tag != TagFCI {
		t.Fatalf("ParseTLV: %v %v", objs, err)
	}
	kids, err := objs[0].Children()
	if err != nil || len(kids) != 2 || kids[0].Tag != TagDFName || string(kids[0].Value) != "1PAY.SYS.DDF01" {
		t.Fatalf("children: %v %v", kids, err)
	}
	if v, ok := Find(pseFCI, TagSFI); !ok || !bytes.Equal(v, []byte{2}) {
		t.Errorf("Find 88 = % X %v", v, ok)
	}
	if v, ok := Find(pseFCI, TagLanguagePreference); !ok || string(v) != "en" {
		t.Errorf("Find 5F2D = %q", v)
	}
	if _, ok := Find(pseFCI, TagPDOL); ok {
		t.Error("found a PDOL that is not there")
	}
	flat, err := Flatten(pseFCI)
	if err != nil || len(flat) != 3 {
		t.Errorf("Flatten: %v %v", flat, err)
	}
	if !bytes.Equal(Encode(objs...), pseFCI) {
		t.Error("re-encoding changed the FCI")
	}
	if _, err := kids[0].Children(); err == nil {
		t.Error("Children of a primitive must fail")
	}
}

// Find must keep searching siblings after a constructed object that does
// not hold the tag (moov-io/bertlv v0.1.0's FindFirstTag does not).
func TestFindAfterConstructedSibling(t *testing.T) {
	t.Parallel()
	b := MustHex("A5 03 50 01 41 5A 02 4242")
	if v, ok := Find(b, TagPAN); !ok || !bytes.Equal(v, MustHex("4242")) {
		t.Errorf("Find = % X %v", v, ok)
	}
}

func TestParseTLVPaddingAndErrors(t *testing.T) {
	t.Parallel()
	objs, err := ParseTLV(MustHex("00 00 5A 01 42 00 9F02 01 01 00"))
	if err != nil || len(objs) != 2 {
		t.Fatalf("padding: %v %v", objs, err)
	}
	for _, bad := range []string{
		"5A 02 42",               // value short
		"5A 80",                  // indefinite
		"5A 88 FFFFFFFFFFFFFFFF", // the length that makes bertlv v0.1.0 panic
		"9F",                     // truncated tag
		"5A",                     // no length
	} {
		if _, err := ParseTLV(MustHex(bad)); !errors.Is(err, ErrTLV) {
			t.Errorf("ParseTLV(%s) = %v, want ErrTLV", bad, err)
		}
	}
	if _, err := Flatten(MustHex("70 03 5A 05 42")); err == nil {
		t.Error("Flatten must report a broken template")
	}
}

func TestEncodeLongLengths(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 127, 128, 255, 256, 65535, 65536} {
		v := bytes.Repeat([]byte{0xAB}, n)
		enc := AppendTLV(nil, 0x9F10, v)
		objs, err := ParseTLV(enc)
		if err != nil || len(objs) != 1 || !bytes.Equal(objs[0].Value, v) {
			t.Errorf("length %d does not round-trip: %v", n, err)
		}
	}
	if got := (TLV{Tag: 0x82, Value: MustHex("3C00")}).Bytes(); !bytes.Equal(got, MustHex("82023C00")) {
		t.Errorf("Bytes = % X", got)
	}
}

func TestFlattenDepthLimit(t *testing.T) {
	t.Parallel()
	b := MustHex("5A0142")
	for range maxDepth + 2 {
		b = AppendTLV(nil, 0x70, b)
	}
	if _, err := Flatten(b); err == nil {
		t.Error("Flatten must stop at the depth limit")
	}
}

func FuzzTLV(f *testing.F) {
	for _, s := range []string{
		"6F1A840E315041592E5359532E4444463031A5088801025F2D02656E",
		"770E8202580094080801010010010300",
		"80 0E 5C00 08010100 10010301 18010200",
		"702657134761739001010010D22122011143804400000F5F201A56495341204143515549524552205445535420434152442031",
		"9F02060000000010009F2701809F3602001D",
		"5A88FFFFFFFFFFFFFFFF", "5A80", "DF81818181", "00000000", "BF0C81FF",
		"7281...", // not hex: ignored below
	} {
		var h Hex
		if h.UnmarshalText([]byte(s)) == nil {
			f.Add([]byte(h))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		objs, err := ParseTLV(b)
		Find(b, TagPAN)
		Find(b, 0xDF8101)
		if _, ferr := Flatten(b); err != nil && ferr == nil {
			t.Fatalf("Flatten accepted what ParseTLV refused")
		}
		if err != nil {
			return
		}
		again, err := ParseTLV(Encode(objs...))
		if err != nil || len(again) != len(objs) {
			t.Fatalf("re-encoding does not parse: %v", err)
		}
		for i := range objs {
			if again[i].Tag != objs[i].Tag || !bytes.Equal(again[i].Value, objs[i].Value) {
				t.Fatalf("object %d changed: %v -> %v", i, objs[i], again[i])
			}
		}
	})
}
