package virtual

import (
	"github.com/vinr/cashlessd/printer"
)

// maxPending bounds the bytes held while waiting for the end of a command:
// beyond it the printer gives up on the command and reads on.
const maxPending = 1 << 20

// run reads what the host sends until the master is closed.
func (p *Printer) run() {
	defer close(p.done)
	var (
		buf     = make([]byte, 4096)
		pending []byte
		raw     []byte // the job so far, without status queries
		dec     printer.Decoder
	)
	for {
		n, err := p.master.Read(buf)
		if n > 0 {
			p.repeatXOFF() // before any reply, so the host sees it first
			pending = append(pending, buf[:n]...)
			for len(pending) > 0 {
				tok, k := printer.Scan(pending, len(pending) > maxPending)
				if k == 0 {
					break
				}
				if tok.Op == printer.OpStatusQuery {
					p.answer(tok.N)
				} else {
					raw = append(raw, pending[:k]...)
					dec.Apply(tok)
					p.mu.Lock()
					p.received += int64(k)
					p.mu.Unlock()
				}
				if tok.Op == printer.OpCut {
					p.finish(raw, dec.Take())
					raw = nil
				}
				pending = pending[k:]
			}
			pending = append([]byte(nil), pending...)
		}
		if err != nil {
			return
		}
	}
}

// answer replies to DLE EOT n from the current condition.
func (p *Printer) answer(n byte) {
	p.mu.Lock()
	p.queries++
	reply, ok := p.cond.Reply(n)
	p.mu.Unlock()
	if ok {
		p.write(reply)
	}
}
