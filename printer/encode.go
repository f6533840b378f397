package printer

import (
	"github.com/vinr/cashlessd/daemon"
)

// Encoder turns documents into ESC/POS jobs. The zero Encoder is ready to
// use: CP858, partial cut, QR codes with 6-dot modules and level M.
type Encoder struct {
	CodePage CodePage // character table; "" means CP858
	FullCut  bool     // cut fully (GS V 65) instead of partially (GS V 66)
	CutFeed  byte     // extra feed before the cut, in motion units
	QRModule byte     // QR module size in dots, 1..16; 0 means 6
	QRLevel  QRLevel  // QR error correction; 0 means QRLevelM
}

// Encode turns a document into one print job with the default Encoder.
func Encode(doc daemon.Document) []byte { return Encoder{}.Encode(doc) }

// style is the text mode the printer is in.
type style struct {
	align  daemon.Align
	bold   bool
	double bool
}

// Encode turns a document into one print job: ESC @, ESC t, each line
// (its alignment, emphasis and size set first, when they change), then a
// feed and a cut. A QR payload longer than a QR code holds prints as text.
func (e Encoder) Encode(doc daemon.Document) []byte {
	out := make([]byte, 0, 64+len(doc.Lines)*(doc.Width+4))
	out = cmdInit(out)
	out = cmdCodePage(out, e.CodePage)
	cur := style{} // what ESC @ leaves
	set := func(want style) {
		if want.align != cur.align {
			out = cmdAlign(out, alignParam(want.align))
		}
		if want.bold != cur.bold {
			out = cmdBold(out, want.bold)
		}
		if want.double != cur.double {
			out = cmdSize(out, want.double)
		}
		cur = want
	}
	for _, l := range doc.Lines {
		set(style{align: l.Align, bold: l.Bold, double: l.Double})
		if l.QR != "" && len(l.QR) <= e.qrLevel().capacity() {
			out = cmdQR(out, []byte(l.QR), e.qrModule(), e.qrLevel())
			continue
		}
		text := l.Text
		if l.QR != "" {
			text = l.QR
		}
		out = e.CodePage.appendText(out, text)
		out = append(out, lf)
	}
	return cmdCut(out, e.FullCut, e.CutFeed)
}

func (e Encoder) qrModule() byte {
	if e.QRModule < 1 || e.QRModule > 16 {
		return 6
	}
	return e.QRModule
}

func (e Encoder) qrLevel() QRLevel {
	switch e.QRLevel {
	case QRLevelL, QRLevelQ, QRLevelH:
		return e.QRLevel
	}
	return QRLevelM
}

// alignParam is the ESC a parameter for an alignment.
func alignParam(a daemon.Align) int {
	switch a {
	case daemon.AlignCenter:
		return 1
	case daemon.AlignRight:
		return 2
	}
	return 0
}
