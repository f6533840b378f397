package printer

import (
	"testing"
	"unicode/utf8"
)

func TestTransliteration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cp       CodePage
		in, want string // want: what the printer shows
	}{
		{CP858, "Café crème", "Café crème"},
		{CP858, "Grüße, Åse", "Grüße, Åse"},
		{CP858, "€ 12,50", "€ 12,50"},
		{CP437, "€ 12,50", "E 12,50"},
		{CP858, "Łódź", "Lódz"},
		{CP858, "Ærø Œuvre", "Ærø Ouvre"},
		{CP437, "Ærø", "Æro"},
		{CP858, "“quoted” ‘x’ – — …", "\"quoted\" 'x' - - ."},
		{CP858, "ＡＢＣ１", "ABC1"},
		{CP858, "e\u0301te\u0301", "été"}, // NFC first
		{CP858, "ő ű č ș ț", "o u c s t"},
		{CP858, "日本 €", "?? €"},
		{CP858, "tab\there", "tab here"},
		{CP858, "zero\u200bwidth", "zerowidth"},
		{WPC1252, "€ Œuvre ‘x’", "€ Œuvre ‘x’"},
		{CP437, "₹100 ¥5", "R100 ¥5"},
		{CP858, "₹1 ¥5", "R1 ¥5"},
	}
	for _, tt := range tests {
		enc := tt.cp.appendText(nil, tt.in)
		var got []rune
		for _, b := range enc {
			if !printable(b) {
				t.Errorf("%s %q: unprintable byte %#x", tt.cp, tt.in, b)
			}
			got = append(got, tt.cp.decodeByte(b))
		}
		if string(got) != tt.want {
			t.Errorf("%s %q: prints %q, want %q", tt.cp, tt.in, string(got), tt.want)
		}
	}
}

// TestEveryRuneOneByte checks across the Basic Multilingual Plane that a
// visible character becomes exactly one printable byte, so laid-out lines
// keep their width.
func TestEveryRuneOneByte(t *testing.T) {
	t.Parallel()
	for _, cp := range []CodePage{CP437, CP858, WPC1252} {
		cm := cp.charmap()
		for r := rune(0x20); r < 0x10000; r++ {
			if r >= 0xd800 && r < 0xe000 {
				continue
			}
			b := encodeRune(cm, r)
			if !printable(b) {
				t.Fatalf("%s: %U encodes to %#x", cp, r, b)
			}
		}
	}
}

func TestCodePageTables(t *testing.T) {
	t.Parallel()
	for _, cp := range []CodePage{CP437, CP858, WPC1252} {
		got, ok := codePageOf(cp.Table())
		if !ok || got != cp {
			t.Errorf("%s: table %d reads back as %q", cp, cp.Table(), got)
		}
		for b := 0x20; b < 0x100; b++ {
			if b == 0x7f {
				continue
			}
			if r := cp.decodeByte(byte(b)); !utf8.ValidRune(r) {
				t.Errorf("%s %#x: invalid rune", cp, b)
			}
		}
	}
	if !CodePage("").Valid() || CodePage("utf8").Valid() {
		t.Error("Valid")
	}
}
