package printer

// Bytes of the ESC/POS subset this package speaks.
const (
	lf  = 0x0a
	dle = 0x10
	eot = 0x04
	esc = 0x1b
	gs  = 0x1d

	// XON and XOFF are what a printer set to software flow control sends
	// to resume and to pause the host.
	xon  = 0x11
	xoff = 0x13
)

// QRLevel is a QR code's error correction level.
type QRLevel byte

// QR error correction levels (the zero QRLevel means QRLevelM).
const (
	QRLevelL QRLevel = 'L' // 7 %
	QRLevelM QRLevel = 'M' // 15 %
	QRLevelQ QRLevel = 'Q' // 25 %
	QRLevelH QRLevel = 'H' // 30 %
)

// gsParam is the level's parameter to GS ( k <fn 69>: 48..51.
func (l QRLevel) gsParam() byte {
	switch l {
	case QRLevelL:
		return 48
	case QRLevelQ:
		return 50
	case QRLevelH:
		return 51
	}
	return 49
}

// capacity is the most bytes a model 2 QR code (version 40) holds at
// the level.
func (l QRLevel) capacity() int {
	switch l {
	case QRLevelL:
		return 2953
	case QRLevelQ:
		return 1663
	case QRLevelH:
		return 1273
	}
	return 2331
}

// QR functions of GS ( k with cn = 49.
const (
	qrFnModel = 65 // select the model
	qrFnSize  = 67 // set the module size in dots
	qrFnLevel = 69 // select the error correction level
	qrFnStore = 80 // store the data in the symbol storage area
	qrFnPrint = 81 // print the stored symbol
	qrCn      = 49
)

// Real-time status queries: DLE EOT n.
const (
	StatusPrinter   byte = 1 // printer status: online / offline
	StatusOffline   byte = 2 // offline cause: cover open, paper end stop, error
	StatusError     byte = 3 // error cause
	StatusRollPaper byte = 4 // roll paper sensors: near end, end
)

// cmdInit is ESC @: clear the print buffer and reset the modes.
func cmdInit(dst []byte) []byte { return append(dst, esc, '@') }

// cmdCodePage is ESC t n: select the character code table.
func cmdCodePage(dst []byte, c CodePage) []byte { return append(dst, esc, 't', c.Table()) }

// cmdAlign is ESC a n: 0 left, 1 centre, 2 right.
func cmdAlign(dst []byte, a int) []byte { return append(dst, esc, 'a', byte(a)) }

// cmdBold is ESC E n: emphasised mode on or off.
func cmdBold(dst []byte, on bool) []byte { return append(dst, esc, 'E', bit(on)) }

// cmdSize is GS ! n: 0x11 doubles width and height, 0x00 is normal size.
func cmdSize(dst []byte, double bool) []byte {
	n := byte(0x00)
	if double {
		n = 0x11
	}
	return append(dst, gs, '!', n)
}

// cmdCut is GS V m n: feed to the cutting position plus n motion units and
// cut, partially (m = 66) or fully (m = 65).
func cmdCut(dst []byte, full bool, feed byte) []byte {
	m := byte(66)
	if full {
		m = 65
	}
	return append(dst, gs, 'V', m, feed)
}

// cmdQR prints a model 2 QR code: GS ( k functions 165 (model), 167
// (module size), 169 (error correction), 180 (store data) and 181 (print).
func cmdQR(dst []byte, data []byte, module byte, level QRLevel) []byte {
	dst = append(dst, gs, '(', 'k', 4, 0, qrCn, qrFnModel, 50, 0)
	dst = append(dst, gs, '(', 'k', 3, 0, qrCn, qrFnSize, module)
	dst = append(dst, gs, '(', 'k', 3, 0, qrCn, qrFnLevel, level.gsParam())
	n := len(data) + 3
	dst = append(dst, gs, '(', 'k', byte(n), byte(n>>8), qrCn, qrFnStore, 48)
	dst = append(dst, data...)
	return append(dst, gs, '(', 'k', 3, 0, qrCn, qrFnPrint, 48)
}

// StatusQuery is DLE EOT n, the real-time status request for n
// (StatusPrinter, StatusOffline, StatusError or StatusRollPaper).
func StatusQuery(n byte) []byte { return []byte{dle, eot, n} }

func bit(on bool) byte {
	if on {
		return 1
	}
	return 0
}
