package emv

import (
	"bytes"
	"testing"
)

// A Visa-style CDOL1.
var cdol1 = MustHex("9F02 06 9F03 06 9F1A 02 95 05 5F2A 02 9A 03 9C 01 9F37 04")

func TestParseDOL(t *testing.T) {
	t.Parallel()
	d, err := ParseDOL(cdol1)
	if err != nil {
		t.Fatal(err)
	}
	want := DOL{{0x9F02, 6}, {0x9F03, 6}, {0x9F1A, 2}, {0x95, 5}, {0x5F2A, 2}, {0x9A, 3}, {0x9C, 1}, {0x9F37, 4}}
	if len(d) != len(want) {
		t.Fatalf("got %v", d)
	}
	for i := range want {
		if d[i] != want[i] {
			t.Errorf("entry %d = %v, want %v", i, d[i], want[i])
		}
	}
	if d.Len() != 29 || !d.Has(0x95) || d.Has(0x91) {
		t.Errorf("Len %d Has", d.Len())
	}
	if !bytes.Equal(d.Bytes(), cdol1) {
		t.Errorf("Bytes = % X", d.Bytes())
	}
	for _, bad := range []string{"9F", "9F02", "9F0280"} {
		if _, err := ParseDOL(MustHex(bad)); err == nil {
			t.Errorf("ParseDOL(%s) accepted", bad)
		}
	}
	if _, err := ParseDOL(bytes.Repeat(MustHex("9F10 FF"), 2)); err == nil {
		t.Error("a DOL asking for 510 bytes must be refused")
	}
}

// TestDOLBuild follows the padding and truncation rules of EMV Book 3 5.4.
func TestDOLBuild(t *testing.T) {
	t.Parallel()
	values := map[Tag][]byte{
		0x9F02: MustHex("000000001000"),     // n12
		0x5A:   MustHex("4761739001010010"), // cn
		0x9F1A: MustHex("0840"),             // n3
		0x95:   MustHex("0000008000"),       // b
		0x50:   []byte("VISA"),              // ans
		0x9F37: MustHex("11223344"),         // b
	}
	lookup := func(t Tag) ([]byte, bool) { v, ok := values[t]; return v, ok }
	for _, tc := range []struct {
		name, dol, want string
	}{
		{"exact lengths", "9F0206 9F1A02 9505", "000000001000 0840 0000008000"},
		{"numeric padded left", "9F0208", "0000000000001000"},
		{"numeric truncated left", "9F0204", "00001000"},
		{"cn padded right with F", "5A0A", "4761739001010010FFFF"},
		{"cn truncated right", "5A04", "47617390"},
		{"binary padded right with zeros", "9507", "00000080000000"},
		{"binary truncated right", "9F3702", "1122"},
		{"ans padded right with zeros", "5006", "564953410000"},
		{"unknown tag is zeros", "9F4502", "0000"},
		{"constructed tag is zeros", "7003", "000000"},
	} {
		d, err := ParseDOL(MustHex(tc.dol))
		if err != nil {
			t.Fatal(err)
		}
		if got := d.Build(lookup); !bytes.Equal(got, MustHex(tc.want)) {
			t.Errorf("%s: Build = % X, want %s", tc.name, got, tc.want)
		}
	}
}

func TestDOLSplit(t *testing.T) {
	t.Parallel()
	d, _ := ParseDOL(cdol1)
	data := bytes.Repeat([]byte{1}, 29)
	parts, err := d.Split(data)
	if err != nil || len(parts) != 8 || parts[3].Tag != 0x95 || len(parts[3].Value) != 5 {
		t.Fatalf("Split: %v %v", parts, err)
	}
	if _, err := d.Split(data[:28]); err == nil {
		t.Error("Split of short data must fail")
	}
}

func FuzzDOL(f *testing.F) {
	f.Add([]byte(cdol1), []byte{0x01})
	f.Add([]byte(MustHex("9F6604 9F0206 9F0306 9F1A02 9505 5F2A02 9A03 9C01 9F3704")), []byte{})
	f.Add([]byte(MustHex("910A 8A02 9505 9F3704 9F4C08")), []byte{0xFF})
	f.Add([]byte(MustHex("DF8101 81FF")), []byte{})
	f.Fuzz(func(t *testing.T, dol, fill []byte) {
		d, err := ParseDOL(dol)
		if err != nil {
			return
		}
		data := d.Build(func(Tag) ([]byte, bool) { return fill, true })
		if len(data) != d.Len() {
			t.Fatalf("Build made %d bytes, list asks for %d", len(data), d.Len())
		}
		parts, err := d.Split(data)
		if err != nil || len(parts) != len(d) {
			t.Fatalf("Split: %v", err)
		}
		again, err := ParseDOL(d.Bytes())
		if err != nil || len(again) != len(d) {
			t.Fatalf("re-encoded DOL: %v", err)
		}
	})
}
