package virtual

import "github.com/vinr/cashlessd/printer"

// SetPaper loads an endless roll (true) or runs out of paper (false).
func (p *Printer) SetPaper(present bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cond.PaperOut = !present
	p.roll = -1
}

// SetRoll loads a roll with paper for n more lines. A job that needs more
// runs the paper out: it is cut short (counted in Discarded) and the
// printer reports paper out until SetPaper(true).
func (p *Printer) SetRoll(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cond.PaperOut = n <= 0
	p.roll = max(n, 0)
}

// SetPaperNearEnd sets the roll's near-end sensor.
func (p *Printer) SetPaperNearEnd(near bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cond.PaperNearEnd = near
}

// SetCoverOpen opens or closes the paper cover.
func (p *Printer) SetCoverOpen(open bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cond.CoverOpen = open
}

// SetOffline takes the printer offline (true) or back online.
func (p *Printer) SetOffline(offline bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cond.Offline = offline
}

// SetBusy makes the printer ask the host to stop sending (XOFF), and
// repeat it before answering anything it receives while busy, or lets the
// host go on (XON). Only a driver set to xonxoff flow control listens.
func (p *Printer) SetBusy(busy bool) {
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	p.mu.Lock()
	p.busy = busy
	p.mu.Unlock()
	b := byte(xon)
	if busy {
		b = xoff
	}
	p.master.Write([]byte{b})
}

// Condition is the printer's condition as its status replies report it.
func (p *Printer) Condition() printer.Condition {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cond
}

// Received is how many bytes of print data (everything but status
// queries) the printer has received.
func (p *Printer) Received() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.received
}

// Discarded is how many jobs ended at a cut while the printer could not
// print (paper out, cover open, offline) and were lost.
func (p *Printer) Discarded() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.discarded
}

// Queries is how many status queries (DLE EOT) the printer has answered
// or ignored.
func (p *Printer) Queries() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.queries
}

const (
	xon  = 0x11
	xoff = 0x13
)
