package printer

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/vinr/cashlessd/daemon"
)

func TestDecodeRoundTrip(t *testing.T) {
	t.Parallel()
	for _, doc := range []daemon.Document{SampleReceipt(), SampleReceiptQR()} {
		lines := Decode(Encode(doc))
		if !reflect.DeepEqual(lines, doc.Lines) {
			t.Errorf("decoded lines differ:\n got %+v\nwant %+v", lines, doc.Lines)
		}
		back := daemon.Document{Width: doc.Width, Lines: lines}
		if back.Text() != doc.Text() {
			t.Errorf("text:\n%s\nwant\n%s", back.Text(), doc.Text())
		}
	}
}

func TestRenderMatchesTheReceiptText(t *testing.T) {
	t.Parallel()
	doc := SampleReceiptQR()
	got := Render(Decode(Encode(doc)), doc.Width)
	if got != doc.Text() {
		t.Errorf("printed text differs from receiptData text:\n%s\nwant\n%s", got, doc.Text())
	}
	if !strings.HasSuffix(got, "https://r.example.com/01HQ3Z5K8M\n") {
		t.Errorf("QR payload missing at the end:\n%s", got)
	}
}

func TestDecodeModes(t *testing.T) {
	t.Parallel()
	var in []byte
	in = append(in, "power-on\n"...)
	in = append(in, 0x1b, 't', 0, 0x82, '\n')       // PC437 é
	in = append(in, 0x1b, 't', 16, 0x80, '\n')      // WPC1252 €
	in = append(in, 0x1b, 't', 99, 'a', 0xe9, '\n') // unknown table
	in = append(in, 0x1b, 'a', 50, 0x1b, 'E', 3, 0x1d, '!', 0x10, 'R', '\n')
	in = append(in, 0x1b, '@', 'x', 0x1b, '!', 0x08, 'y', '\r', '\n') // ESC ! skipped, CR ignored
	in = append(in, 0x1b, 'a', 1, 't', 'a', 'i', 'l')                 // no LF at the end
	want := []daemon.Line{
		{Text: "power-on"},
		{Text: "é"},
		{Text: "€"},
		{Text: "a?"},
		{Text: "R", Align: daemon.AlignRight, Bold: true, Double: true},
		{Text: "xy"},
		{Text: "tail", Align: daemon.AlignCenter},
	}
	if got := Decode(in); !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestDecodeCutsAndQR(t *testing.T) {
	t.Parallel()
	var in []byte
	in = append(in, "a"...)
	in = append(in, 0x1d, 'V', 0)                                // cut flushes the line
	in = append(in, 0x1d, '(', 'k', 3, 0, 49, 81, 48)            // print with nothing stored
	in = cmdQR(in, []byte("pay"), 6, QRLevelM)                   // QR
	in = append(in, 0x1d, '(', 'k', 3, 0, 49, 81, 48)            // the same symbol again
	in = append(in, 0x1d, '(', 'L', 2, 0, 48, 69)                // other GS ( x skipped
	in = append(in, 0x1b, '@', 0x1d, '(', 'k', 3, 0, 49, 81, 48) // ESC @ forgets the symbol
	var d Decoder
	for p := in; len(p) > 0; {
		tok, n := Scan(p, true)
		d.Apply(tok)
		p = p[n:]
	}
	want := []daemon.Line{{Text: "a"}, {QR: "pay"}, {QR: "pay"}}
	if got := d.Take(); !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if d.Cuts() != 1 {
		t.Errorf("cuts %d", d.Cuts())
	}
}

// TestScanNeedsMore checks that every proper prefix of a command asks for
// more bytes, and that at EOF it is consumed instead.
func TestScanNeedsMore(t *testing.T) {
	t.Parallel()
	cmds := [][]byte{
		{0x1b, 'a', 1}, {0x1b, 't', 19}, {0x1b, 'E', 1}, {0x1d, '!', 0x11},
		{0x1d, 'V', 66, 0}, {0x1d, 'V', 1}, {0x10, 0x04, 1}, {0x10, 0x14, 1, 0, 1},
		{0x1b, 'p', 0, 25, 250}, {0x1d, 'L', 0, 0},
		{0x1d, '(', 'k', 7, 0, 49, 80, 48, 'd', 'a', 't', 'a'}, {0x1d, '(', 'k', 4, 0, 49, 65, 50, 0},
	}
	for _, c := range cmds {
		tok, n := Scan(c, false)
		if n != len(c) {
			t.Errorf("% x: took %d of %d (%v)", c, n, len(c), tok.Op)
		}
		for i := 1; i < len(c); i++ {
			if _, n := Scan(c[:i], false); n != 0 {
				t.Errorf("% x: prefix %d took %d", c, i, n)
			}
			if _, n := Scan(c[:i], true); n != i {
				t.Errorf("% x: prefix %d at EOF took %d", c, i, n)
			}
		}
	}
}

// decodeStream decodes data fed in chunks of size, as the virtual printer
// receives it.
func decodeStream(data []byte, size int) []daemon.Line {
	var d Decoder
	var pending []byte
	for len(data) > 0 {
		k := min(size, len(data))
		pending = append(pending, data[:k]...)
		data = data[k:]
		for len(pending) > 0 {
			tok, n := Scan(pending, false)
			if n == 0 {
				break
			}
			d.Apply(tok)
			pending = pending[n:]
		}
	}
	for len(pending) > 0 {
		tok, n := Scan(pending, true)
		d.Apply(tok)
		pending = pending[n:]
	}
	d.flush(false)
	return d.Take()
}

func FuzzDecode(f *testing.F) {
	job := Encode(SampleReceiptQR())
	f.Add(job, uint8(1))
	f.Add(job[:len(job)/2], uint8(7))
	f.Add(Encoder{CodePage: CP437, FullCut: true}.Encode(SampleReceipt()), uint8(64))
	f.Add([]byte{0x1d, '(', 'k', 0xff, 0xff, 49, 80}, uint8(3))
	f.Add([]byte{0x1d, '(', 'k', 1, 0, 49}, uint8(2))
	f.Add([]byte{0x10, 0x04}, uint8(1))
	f.Add([]byte{0x1b}, uint8(1))
	f.Add([]byte{0x1b, 't', 200, 0x80, 0xff, 0x7f, 0x00, '\n'}, uint8(5))
	f.Add([]byte("\x1b@\x1ba\x01\x1bE\x01\x1d!\x11Hi\n\x1dVB\x00"), uint8(4))
	f.Fuzz(func(t *testing.T, data []byte, split uint8) {
		for p := data; len(p) > 0; {
			_, n := Scan(p, true)
			if n <= 0 || n > len(p) {
				t.Fatalf("Scan at EOF took %d of %d", n, len(p))
			}
			p = p[n:]
		}
		lines := Decode(data)
		for _, l := range lines {
			if !utf8.ValidString(l.Text) || !utf8.ValidString(l.QR) {
				t.Fatalf("invalid UTF-8 in %+v", l)
			}
			if strings.IndexFunc(l.Text, unicode.IsControl) >= 0 {
				t.Fatalf("control character in %q", l.Text)
			}
		}
		if got := decodeStream(data, int(split)+1); !reflect.DeepEqual(got, lines) {
			t.Fatalf("streamed in chunks of %d:\n%+v\nat once:\n%+v", int(split)+1, got, lines)
		}
		_ = Render(lines, 32)
	})
}

// FuzzEncode checks that any text prints as printable bytes only, one per
// visible character, and decodes to what the printer shows.
func FuzzEncode(f *testing.F) {
	f.Add("Café € 12,50", true, uint8(1))
	f.Add("\x1b@\x1dV\x00\x10\x04\x01", false, uint8(0))
	f.Add("日本語 – “x”", true, uint8(2))
	f.Fuzz(func(t *testing.T, text string, bold bool, align uint8) {
		doc := daemon.Document{Width: 32, Lines: []daemon.Line{{Text: text, Bold: bold, Align: daemon.Align(align % 3)}}}
		job := Encode(doc)
		lines := Decode(job)
		if len(lines) != 1 {
			t.Fatalf("%q: %d lines", text, len(lines))
		}
		if l := lines[0]; l.Bold != bold || l.Align != daemon.Align(align%3) {
			t.Fatalf("%q: style %+v", text, l)
		}
		body := job[5:bytes.LastIndexByte(job, '\n')]
		for len(body) > 0 && body[0] == 0x1b { // style commands before the text
			body = body[3:]
		}
		for _, b := range body {
			if !printable(b) {
				t.Fatalf("%q: byte %#x in the text", text, b)
			}
		}
	})
}
