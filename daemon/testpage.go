package daemon

import (
	"strings"
	"time"
)

// PrinterTestPage lays out the technician's printer test page: the
// terminal's identity, a column ruler, the alignments and styles, the code
// page's accented letters and the euro sign, and a QR code.
func PrinterTestPage(merchant, terminalID, model, version string, width int, now time.Time) Document {
	b := NewDocument(width)
	b.Double("TEST PAGE", AlignCenter)
	b.Text(merchant, AlignCenter, true)
	b.Pair("TID", terminalID, false)
	b.Pair("MODEL", model, false)
	b.Pair("VERSION", version, false)
	b.Pair("TIME", now.Format("2006-01-02 15:04"), false)
	b.Rule()
	ruler := strings.Repeat("1234567890", width/10+1)[:width]
	b.Text(ruler, AlignLeft, false)
	b.Text("left", AlignLeft, false)
	b.Text("centre", AlignCenter, false)
	b.Text("right", AlignRight, false)
	b.Text("bold", AlignLeft, true)
	b.Text("Café Zürich Ñandú Øre €5", AlignLeft, false)
	b.QR("cashlessd test page " + terminalID)
	b.Text("END OF TEST", AlignCenter, true)
	return b.Document()
}
