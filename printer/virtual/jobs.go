package virtual

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/printer"
)

// Job is one printed job: what the printer received up to and including a
// cut, less the status queries, which it answers and does not print.
type Job struct {
	Seq   int
	Time  time.Time
	Raw   []byte        // the bytes, as written to <seq>-<time>.bin
	Lines []daemon.Line // the decoded lines
	Width int           // the paper's columns
	Text  string        // the decoded text, as written to <seq>-<time>.txt; QR codes as [QR:payload]
	Path  string        // the .bin file; the .txt file is beside it
}

// Document is the job as a document, so that Document().Text() can be
// compared with the text of the document that was printed.
func (j Job) Document() daemon.Document {
	return daemon.Document{Width: j.Width, Lines: j.Lines}
}

// Jobs returns the jobs printed so far, oldest first.
func (p *Printer) Jobs() []Job {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Job(nil), p.jobs...)
}

// finish ends a job at a cut: printed and saved when the printer can
// print and the roll is long enough, discarded otherwise.
func (p *Printer) finish(raw []byte, lines []daemon.Line) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.cond.CanPrint() {
		p.discarded++
		return
	}
	if p.roll >= 0 {
		if len(lines) > p.roll {
			p.roll = 0
			p.cond.PaperOut = true
			p.discarded++
			return
		}
		p.roll -= len(lines)
	}
	now := time.Now()
	j := Job{
		Seq:   len(p.jobs) + 1,
		Time:  now,
		Raw:   raw,
		Lines: lines,
		Width: p.cols,
		Text:  printer.Render(lines, p.cols),
	}
	base := filepath.Join(p.dir, fmt.Sprintf("%06d-%s", j.Seq, now.UTC().Format("20060102T150405.000000000Z")))
	j.Path = base + ".bin"
	err := os.WriteFile(j.Path, j.Raw, 0o600)
	if err == nil {
		err = os.WriteFile(base+".txt", []byte(j.Text), 0o600)
	}
	if err != nil && p.saveErr == nil {
		p.saveErr = fmt.Errorf("virtual printer: save job %d: %w", j.Seq, err)
	}
	p.jobs = append(p.jobs, j)
}
