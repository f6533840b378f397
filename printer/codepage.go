package printer

import (
	"unicode"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/unicode/norm"
)

// CodePage is a character code table of the printer, selected with ESC t n.
type CodePage string

// Code pages the encoder and decoder know. The empty CodePage means CP858.
const (
	CP437   CodePage = "cp437"   // PC437 (USA, standard Europe), ESC t 0; no euro sign
	CP858   CodePage = "cp858"   // PC858 (PC850 with the euro sign), ESC t 19
	WPC1252 CodePage = "wpc1252" // Windows-1252, ESC t 16
)

// Table is the code page's number for ESC t n (Epson numbering).
func (c CodePage) Table() byte {
	switch c {
	case CP437:
		return 0
	case WPC1252:
		return 16
	}
	return 19
}

// Valid reports whether the code page is one this package knows.
func (c CodePage) Valid() bool {
	return c == "" || c == CP437 || c == CP858 || c == WPC1252
}

// codePageOf returns the code page an ESC t n selects; ok is false for a
// table this package does not know.
func codePageOf(table byte) (CodePage, bool) {
	switch table {
	case 0:
		return CP437, true
	case 16:
		return WPC1252, true
	case 19:
		return CP858, true
	}
	return "", false
}

func (c CodePage) charmap() *charmap.Charmap {
	switch c {
	case CP437:
		return charmap.CodePage437
	case WPC1252:
		return charmap.Windows1252
	}
	return charmap.CodePage858
}

// printable reports whether b prints a glyph: not a C0 control nor DEL.
// The code pages here have glyphs for every byte from 0x80 up (Windows-1252
// has five holes, which encodeRune never produces and decodeByte shows as ?).
func printable(b byte) bool { return b >= 0x20 && b != 0x7f }

// appendText appends s in the code page, one byte per character, after
// NFC composition. A character the code page lacks becomes a look-alike
// (see fallback), its base letter without accents, or '?'; controls become
// spaces and invisible format characters are dropped, so the bytes are
// always printable and a laid-out line keeps its width.
func (c CodePage) appendText(dst []byte, s string) []byte {
	cm := c.charmap()
	for _, r := range norm.NFC.String(s) {
		switch {
		case unicode.IsControl(r):
			dst = append(dst, ' ')
		case unicode.Is(unicode.Cf, r), unicode.Is(unicode.Mn, r):
			// zero-width: nothing to print
		default:
			dst = append(dst, encodeRune(cm, r))
		}
	}
	return dst
}

// encodeRune encodes one visible character as one printable byte.
func encodeRune(cm *charmap.Charmap, r rune) byte {
	if b, ok := cm.EncodeRune(r); ok && printable(b) {
		return b
	}
	if f := fallback(r); f != 0 {
		if b, ok := cm.EncodeRune(f); ok && printable(b) {
			return b
		}
	}
	// Compatibility decomposition without the marks: "ő" → "o", "Ａ" → "A".
	var base []rune
	for _, d := range norm.NFKD.String(string(r)) {
		if !unicode.Is(unicode.Mn, d) {
			base = append(base, d)
		}
	}
	if len(base) == 1 && base[0] != r {
		if b, ok := cm.EncodeRune(base[0]); ok && printable(b) {
			return b
		}
		if f := fallback(base[0]); f != 0 {
			if b, ok := cm.EncodeRune(f); ok && printable(b) {
				return b
			}
		}
	}
	return '?'
}

// fallback is a one-character look-alike for characters that have no
// decomposition, or 0.
func fallback(r rune) rune {
	switch r {
	case '‘', '’', '‚', '‛', '′', '`':
		return '\''
	case '“', '”', '„', '‟', '″', '«', '»':
		return '"'
	case '‐', '‑', '‒', '–', '—', '―', '−', '\u00ad':
		return '-'
	case '…', '·', '•', '∙':
		return '.'
	case '\u00a0', '\u2007', '\u202f':
		return ' '
	case '×':
		return 'x'
	case '÷':
		return '/'
	case 'Ł':
		return 'L'
	case 'ł':
		return 'l'
	case 'Đ', 'Ð':
		return 'D'
	case 'đ', 'ð':
		return 'd'
	case 'Ø':
		return 'O'
	case 'ø':
		return 'o'
	case 'ı':
		return 'i'
	case 'Æ':
		return 'A'
	case 'æ':
		return 'a'
	case 'Œ':
		return 'O'
	case 'œ':
		return 'o'
	case 'ß':
		return 's'
	case 'Þ':
		return 'T'
	case 'þ':
		return 't'
	case '€':
		return 'E'
	case '£':
		return 'L'
	case '¥':
		return 'Y'
	case '₹', '₨':
		return 'R'
	case '¢':
		return 'c'
	}
	return 0
}

// decodeByte returns the character a printable byte shows in the code page.
func (c CodePage) decodeByte(b byte) rune {
	r := c.charmap().DecodeByte(b)
	if r == '\ufffd' || unicode.IsControl(r) {
		return '?'
	}
	return r
}
