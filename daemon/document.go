package daemon

import (
	"strings"
	"unicode/utf8"
)

// Align is a line's alignment on the paper.
type Align int

// Alignments.
const (
	AlignLeft Align = iota
	AlignCenter
	AlignRight
)

// Line is one line of a printed document. Text is already laid out to the
// document's width (Double lines to half of it); QR, when set, prints a QR
// code instead of text.
type Line struct {
	Text   string `json:"text,omitempty"`
	Align  Align  `json:"align,omitempty"`
	Bold   bool   `json:"bold,omitempty"`
	Double bool   `json:"double,omitempty"`
	QR     string `json:"qr,omitempty"`
}

// Document is the one model of a receipt or report: the text the ECR gets in
// receiptData and the bytes the printer gets are both made from it, so they
// always say the same thing.
type Document struct {
	Width int    `json:"width"` // columns of normal-size text
	Lines []Line `json:"lines"`
}

// Text renders the document as plain text, one line per Line, aligned to the
// width. A QR line renders as its payload.
func (d Document) Text() string {
	size := 0
	for _, l := range d.Lines {
		size += max(d.Width, len(l.Text), len(l.QR)) + 1
	}
	var b strings.Builder
	b.Grow(size)
	for _, l := range d.Lines {
		text := l.Text
		if l.QR != "" {
			text = l.QR
		}
		writePadded(&b, text, d.Width, l.Align)
		b.WriteByte('\n')
	}
	return b.String()
}

// writePadded writes text aligned within width columns (pad) without the
// trailing spaces.
func writePadded(b *strings.Builder, text string, width int, align Align) {
	trimmed := strings.TrimRight(text, " ")
	if trimmed == "" {
		return
	}
	if n := utf8.RuneCountInString(text); n < width {
		switch align {
		case AlignCenter:
			writeSpaces(b, (width-n)/2)
		case AlignRight:
			writeSpaces(b, width-n)
		}
	}
	b.WriteString(trimmed)
}

// writeSpaces writes n spaces.
func writeSpaces(b *strings.Builder, n int) {
	for range n {
		b.WriteByte(' ')
	}
}

// TextDocument makes a document of plain text, one left-aligned line per
// text line, as wide as its widest line: its Text is the text again.
func TextDocument(text string) Document {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	d := Document{Lines: make([]Line, 0, len(lines))}
	for _, l := range lines {
		d.Width = max(d.Width, utf8.RuneCountInString(l))
		d.Lines = append(d.Lines, Line{Text: l})
	}
	return d
}

// pad aligns text within width columns.
func pad(text string, width int, align Align) string {
	n := utf8.RuneCountInString(text)
	if n >= width {
		return text
	}
	switch align {
	case AlignCenter:
		left := (width - n) / 2
		return strings.Repeat(" ", left) + text
	case AlignRight:
		return strings.Repeat(" ", width-n) + text
	}
	return text
}

// DocumentBuilder lays text out for a paper width: long text wraps at word
// boundaries, label/value pairs share a line when they fit.
type DocumentBuilder struct {
	doc   Document
	rule  string          // the separator line, made once
	arena strings.Builder // the pair lines' bytes (pairLine)
}

// NewDocument starts a document for width columns (32 for 58 mm paper, 48
// for 80 mm).
func NewDocument(width int) *DocumentBuilder {
	if width < 16 {
		width = 16
	}
	return &DocumentBuilder{doc: Document{Width: width, Lines: make([]Line, 0, 32)}} // a receipt's lines
}

// Width is the document's width in columns.
func (b *DocumentBuilder) Width() int { return b.doc.Width }

// Text adds text, wrapped to the width, with the given style.
func (b *DocumentBuilder) Text(text string, align Align, bold bool) *DocumentBuilder {
	if fitsAsIs(text, b.doc.Width) {
		b.doc.Lines = append(b.doc.Lines, Line{Text: text, Align: align, Bold: bold})
		return b
	}
	for _, l := range Wrap(text, b.doc.Width) {
		b.doc.Lines = append(b.doc.Lines, Line{Text: l, Align: align, Bold: bold})
	}
	return b
}

// Double adds double-size text (half as many columns), wrapped.
func (b *DocumentBuilder) Double(text string, align Align) *DocumentBuilder {
	if fitsAsIs(text, b.doc.Width/2) {
		b.doc.Lines = append(b.doc.Lines, Line{Text: text, Align: align, Bold: true, Double: true})
		return b
	}
	for _, l := range Wrap(text, b.doc.Width/2) {
		b.doc.Lines = append(b.doc.Lines, Line{Text: l, Align: align, Bold: true, Double: true})
	}
	return b
}

// Pair adds "label   value" with the value right-aligned; when both do not
// fit on one line the value goes on its own right-aligned line.
func (b *DocumentBuilder) Pair(label, value string, bold bool) *DocumentBuilder {
	w := b.doc.Width
	ln, vn := utf8.RuneCountInString(label), utf8.RuneCountInString(value)
	if ln+1+vn <= w {
		b.doc.Lines = append(b.doc.Lines, Line{Text: b.pairLine(label, w-ln-vn, value), Bold: bold})
		return b
	}
	b.Text(label, AlignLeft, bold)
	return b.Text(value, AlignRight, bold)
}

// pairLine is label, spaces spaces and value as one string, written in
// the builder's arena: a receipt's pair lines share one allocation. The
// bytes a string of the arena covers are never written again (a
// strings.Builder only appends), so each line stays as it was made.
func (b *DocumentBuilder) pairLine(label string, spaces int, value string) string {
	need := len(label) + spaces + len(value)
	if b.arena.Cap()-b.arena.Len() < need {
		b.arena.Reset()
		b.arena.Grow(max(need, 24*b.doc.Width)) // most of a receipt's pair lines
	}
	start := b.arena.Len()
	b.arena.WriteString(label)
	writeSpaces(&b.arena, spaces)
	b.arena.WriteString(value)
	return b.arena.String()[start:]
}

// Rule adds a separator line.
func (b *DocumentBuilder) Rule() *DocumentBuilder {
	if b.rule == "" {
		b.rule = strings.Repeat("-", b.doc.Width)
	}
	b.doc.Lines = append(b.doc.Lines, Line{Text: b.rule})
	return b
}

// Blank adds an empty line.
func (b *DocumentBuilder) Blank() *DocumentBuilder {
	b.doc.Lines = append(b.doc.Lines, Line{})
	return b
}

// QR adds a QR code with the payload.
func (b *DocumentBuilder) QR(payload string) *DocumentBuilder {
	b.doc.Lines = append(b.doc.Lines, Line{QR: payload, Align: AlignCenter})
	return b
}

// Document returns the finished document.
func (b *DocumentBuilder) Document() Document { return b.doc }

// fitsAsIs reports whether Wrap would return text itself as its one line:
// it fits in width runes and its words are separated by single spaces,
// with none before or after them.
func fitsAsIs(text string, width int) bool {
	if text == "" || len(text) > max(width, 1) || text[0] == ' ' || text[len(text)-1] == ' ' {
		return false // (len counts bytes: a longer text of multi-byte runes takes Wrap's way)
	}
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c >= utf8.RuneSelf, c == '\t', c == '\n', c == '\v', c == '\f', c == '\r':
			return false // other white space, or not ASCII: Wrap decides
		case c == ' ' && text[i+1] == ' ':
			return false
		}
	}
	return true
}

// Wrap splits text into lines of at most width runes, breaking at spaces
// where it can and hard-breaking words longer than a line.
func Wrap(text string, width int) []string {
	if width < 1 {
		width = 1
	}
	words := strings.Fields(text)
	if len(words) == 0 {
		return []string{""}
	}
	var lines []string
	cur := ""
	for _, w := range words {
		for utf8.RuneCountInString(w) > width {
			if cur != "" {
				lines = append(lines, cur)
				cur = ""
			}
			r := []rune(w)
			lines = append(lines, string(r[:width]))
			w = string(r[width:])
		}
		switch {
		case cur == "":
			cur = w
		case utf8.RuneCountInString(cur)+1+utf8.RuneCountInString(w) <= width:
			cur += " " + w
		default:
			lines = append(lines, cur)
			cur = w
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}
