// Package virtual is a thermal printer at the far end of a pseudo-terminal:
// the serial driver opens its device path as it would a real printer's.
// It reads the ESC/POS it receives with the printer package's decoder,
// answers real-time status queries (DLE EOT) from the condition the test
// or simulator sets (paper, cover, offline), sends XOFF/XON when made busy,
// and keeps every job (the bytes up to a cut) in memory and as files.
package virtual

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/vinr/cashlessd/printer"
)

// Printer is a simulated ESC/POS printer behind a pseudo-terminal.
type Printer struct {
	master *os.File
	slave  *os.File // held open so the pty lives while the driver reopens
	dir    string
	cols   int

	writeMu sync.Mutex // serialises writes to the master, and busy with its XOFF/XON

	mu        sync.Mutex
	cond      printer.Condition
	roll      int // lines left on the roll; < 0: endless
	busy      bool
	jobs      []Job
	received  int64
	discarded int
	queries   int
	saveErr   error

	done      chan struct{} // closed when the read loop ends
	closeOnce sync.Once
	closeErr  error
}

// Option changes how Start sets the printer up.
type Option func(*Printer)

// Columns sets the paper's width in normal-size characters, used to lay
// the decoded text out: 48 (80 mm paper, the default) or 32 (58 mm).
func Columns(n int) Option {
	return func(p *Printer) {
		if n > 0 {
			p.cols = n
		}
	}
}

// Start opens a pseudo-terminal and runs the printer behind it until ctx
// ends or Close. Jobs are written to dir, created 0700 when missing.
func Start(ctx context.Context, dir string, opts ...Option) (*Printer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("virtual printer: %w", err)
	}
	master, slave, err := openPTY()
	if err != nil {
		return nil, err
	}
	p := &Printer{master: master, slave: slave, dir: dir, cols: 48, roll: -1, done: make(chan struct{})}
	for _, o := range opts {
		o(p)
	}
	go p.run()
	go func() {
		select {
		case <-ctx.Done():
			p.Close()
		case <-p.done:
		}
	}()
	return p, nil
}

// Path is the device the driver opens: the pseudo-terminal's slave side.
func (p *Printer) Path() string { return p.slave.Name() }

// Dir is where the jobs are written.
func (p *Printer) Dir() string { return p.dir }

// Close stops the printer and closes the pseudo-terminal: a driver that
// still has it open sees the device go away. It returns the first error
// met writing a job's files.
func (p *Printer) Close() error {
	p.closeOnce.Do(func() {
		p.master.Close()
		<-p.done
		p.slave.Close()
		p.mu.Lock()
		p.closeErr = p.saveErr
		p.mu.Unlock()
	})
	return p.closeErr
}

// write sends bytes to the host.
func (p *Printer) write(b ...byte) {
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	p.master.Write(b) // a host that went away is not the printer's problem
}

// repeatXOFF sends XOFF again when the printer is busy. Holding writeMu
// while reading busy keeps it in order with SetBusy's XON.
func (p *Printer) repeatXOFF() {
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	p.mu.Lock()
	busy := p.busy
	p.mu.Unlock()
	if busy {
		p.master.Write([]byte{xoff})
	}
}
