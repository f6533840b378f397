package printer

import (
	"strings"

	"github.com/vinr/cashlessd/daemon"
)

// Decoder follows a printer's modes through a token stream and collects
// the lines it prints. The zero Decoder is a printer after ESC @ with
// code page CP437, the power-on table.
type Decoder struct {
	style    style
	codePage CodePage
	unknown  bool // an ESC t selected a table this package does not know
	line     []rune
	lineOf   style // the style when the line's first character came
	started  bool
	qr       []byte
	lines    []daemon.Line
	cuts     int
}

// Apply feeds one token to the decoder.
func (d *Decoder) Apply(t Token) {
	switch t.Op {
	case OpText:
		if !d.started {
			d.lineOf, d.started = d.style, true
		}
		for _, b := range t.Data {
			d.line = append(d.line, d.rune(b))
		}
	case OpLineFeed:
		d.flush(true)
	case OpInit:
		d.line, d.started, d.qr = d.line[:0], false, nil
		d.style, d.codePage, d.unknown = style{}, CP437, false
	case OpCodePage:
		d.codePage, d.unknown = CP437, true
		if c, ok := codePageOf(t.N); ok {
			d.codePage, d.unknown = c, false
		}
	case OpAlign:
		switch t.N {
		case 0, 48:
			d.style.align = daemon.AlignLeft
		case 1, 49:
			d.style.align = daemon.AlignCenter
		case 2, 50:
			d.style.align = daemon.AlignRight
		}
	case OpBold:
		d.style.bold = t.N&1 != 0
	case OpSize:
		d.style.double = t.N&0x70 != 0 // width magnified: half the columns
	case OpCut:
		d.flush(false)
		d.cuts++
	case OpQR:
		d.qrFunction(t)
	}
}

// qrFunction stores or prints a QR code.
func (d *Decoder) qrFunction(t Token) {
	switch t.Fn {
	case qrFnStore:
		if len(t.Data) >= 1 { // m = 48, then the data
			d.qr = append(d.qr[:0], t.Data[1:]...)
		}
	case qrFnPrint:
		if len(d.qr) == 0 {
			return
		}
		d.flush(false)
		payload := strings.ToValidUTF8(string(d.qr), "?")
		d.lines = append(d.lines, daemon.Line{QR: payload, Align: d.style.align, Bold: d.style.bold, Double: d.style.double})
	}
}

// rune is the character a printable byte shows.
func (d *Decoder) rune(b byte) rune {
	if d.unknown && b >= 0x80 {
		return '?'
	}
	if d.codePage == "" {
		return CP437.decodeByte(b)
	}
	return d.codePage.decodeByte(b)
}

// flush ends the current line: always on LF, only when it holds text on a
// cut or before a QR code.
func (d *Decoder) flush(always bool) {
	if !d.started && !always {
		return
	}
	s := d.style
	if d.started {
		s = d.lineOf
	}
	d.lines = append(d.lines, daemon.Line{Text: string(d.line), Align: s.align, Bold: s.bold, Double: s.double})
	d.line, d.started = d.line[:0], false
}

// Take returns the lines printed since the last Take and forgets them.
func (d *Decoder) Take() []daemon.Line {
	lines := d.lines
	d.lines = nil
	return lines
}

// Cuts is how many cuts the decoder has seen.
func (d *Decoder) Cuts() int { return d.cuts }

// Decode turns ESC/POS bytes into the lines they print, a QR code as a
// line with QR set. A last line without a line feed is included; bytes
// outside the subset are skipped.
func Decode(data []byte) []daemon.Line {
	var d Decoder
	for len(data) > 0 {
		t, n := Scan(data, true)
		d.Apply(t)
		data = data[n:]
	}
	d.flush(false)
	return d.Take()
}

// Render lays decoded lines out as text for width columns, exactly as
// daemon.Document.Text does, so printed paper and receiptData compare equal.
func Render(lines []daemon.Line, width int) string {
	return daemon.Document{Width: width, Lines: lines}.Text()
}
