package daemon

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestPrinterTestPageFitsThePaper(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 14, 5, 0, 0, time.UTC)
	for _, width := range []int{32, 48} {
		doc := PrinterTestPage("CAFE", "term_1", "nexgo_ct20", "1.2.3", width, now)
		text := doc.Text()
		for _, want := range []string{"TEST PAGE", "term_1", "nexgo_ct20", "1.2.3", "2026-03-01 14:05", "END OF TEST", strings.Repeat("1234567890", 5)[:width]} {
			if !strings.Contains(text, want) {
				t.Errorf("width %d: no %q in\n%s", width, want, text)
			}
		}
		for _, l := range doc.Lines {
			if n := utf8.RuneCountInString(l.Text); l.QR == "" && n > width {
				t.Errorf("width %d: line of %d characters: %q", width, n, l.Text)
			}
		}
	}
}
