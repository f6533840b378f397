package printer

import (
	"bytes"
	"strings"
	"testing"

	"github.com/vinr/cashlessd/daemon"
)

func TestEncodeExactBytes(t *testing.T) {
	t.Parallel()
	doc := daemon.Document{Width: 32, Lines: []daemon.Line{
		{Text: "SHOP", Align: daemon.AlignCenter, Bold: true, Double: true},
		{Text: "Total        1,00 €", Bold: true},
		{},
		{Text: "Thanks", Align: daemon.AlignRight},
		{QR: "q", Align: daemon.AlignCenter},
	}}
	want := []byte{
		0x1b, 0x40, // ESC @
		0x1b, 0x74, 19, // ESC t 19: PC858
		0x1b, 0x61, 1, 0x1b, 0x45, 1, 0x1d, 0x21, 0x11, 'S', 'H', 'O', 'P', 0x0a,
		0x1b, 0x61, 0, 0x1d, 0x21, 0x00}
	want = append(want, "Total        1,00 "...)
	want = append(want, 0xd5, 0x0a) // € in PC858
	want = append(want, 0x1b, 0x45, 0, 0x0a)
	want = append(want, 0x1b, 0x61, 2)
	want = append(want, "Thanks\n"...)
	want = append(want, 0x1b, 0x61, 1)
	want = cmdQR(want, []byte("q"), 6, QRLevelM)
	want = append(want, 0x1d, 0x56, 66, 0)
	if got := Encode(doc); !bytes.Equal(got, want) {
		t.Errorf("Encode:\n got % x\nwant % x", got, want)
	}
}

func TestEncodeOptions(t *testing.T) {
	t.Parallel()
	doc := daemon.Document{Width: 32, Lines: []daemon.Line{{QR: "x"}}}
	e := Encoder{CodePage: CP437, FullCut: true, CutFeed: 48, QRModule: 3, QRLevel: QRLevelH}
	got := e.Encode(doc)
	want := []byte{0x1b, 0x40, 0x1b, 0x74, 0}
	want = cmdQR(want, []byte("x"), 3, QRLevelH)
	want = append(want, 0x1d, 0x56, 65, 48)
	if !bytes.Equal(got, want) {
		t.Errorf("got % x\nwant % x", got, want)
	}
}

func TestEncodeEmptyDocument(t *testing.T) {
	t.Parallel()
	want := []byte{0x1b, 0x40, 0x1b, 0x74, 19, 0x1d, 0x56, 66, 0}
	if got := Encode(daemon.Document{Width: 32}); !bytes.Equal(got, want) {
		t.Errorf("got % x, want % x", got, want)
	}
}

func TestEncodeLongQRPrintsText(t *testing.T) {
	t.Parallel()
	payload := strings.Repeat("A", QRLevelM.capacity()+1)
	got := Encode(daemon.Document{Width: 32, Lines: []daemon.Line{{QR: payload}}})
	if bytes.Contains(got, []byte{0x1d, 0x28, 0x6b}) {
		t.Fatal("QR command for a payload a QR code cannot hold")
	}
	lines := Decode(got)
	if len(lines) != 1 || lines[0].Text != payload {
		t.Fatalf("decoded %d lines", len(lines))
	}
}

// TestEncodeTextNeverCommands checks that no text, however odd, turns into
// a command: the job scans as the commands the encoder wrote and nothing
// else.
func TestEncodeTextNeverCommands(t *testing.T) {
	t.Parallel()
	nasty := "a\x1b@b\x1d\x56\x00c\x10\x04\x01d\n\r\t\x00\x7f\u0085\u200b\ufeffe"
	job := Encode(daemon.Document{Width: 32, Lines: []daemon.Line{{Text: nasty}}})
	var ops []Op
	for p := job; len(p) > 0; {
		tok, n := Scan(p, true)
		ops = append(ops, tok.Op)
		p = p[n:]
	}
	want := []Op{OpInit, OpCodePage, OpText, OpLineFeed, OpCut}
	if len(ops) != len(want) {
		t.Fatalf("ops %v, want %v", ops, want)
	}
	for i := range ops {
		if ops[i] != want[i] {
			t.Fatalf("ops %v, want %v", ops, want)
		}
	}
	lines := Decode(job)
	if got, wantText := lines[0].Text, "a @b V c   d      e"; got != wantText {
		t.Errorf("text %q, want %q", got, wantText)
	}
}

func BenchmarkEncode(b *testing.B) {
	for _, bc := range []struct {
		name string
		doc  daemon.Document
	}{{"receipt", SampleReceipt()}, {"receiptQR", SampleReceiptQR()}} {
		b.Run(bc.name, func(b *testing.B) {
			var n int
			for b.Loop() {
				n = len(Encode(bc.doc))
			}
			b.ReportMetric(float64(n), "bytes/receipt")
			b.ReportMetric(float64(n*10)/115200*1000, "ms@115200")
			b.ReportMetric(float64(n*10)/9600*1000, "ms@9600")
		})
	}
}
