package terminal

import (
	"context"

	"github.com/vinr/cashlessd/daemon"
)

var (
	_ daemon.LinkReporter = (*Acceptor)(nil)
	_ daemon.LinkChecker  = (*Acceptor)(nil)
)

// LinkReport is what the reader driver has seen of its serial link; it
// does no I/O.
func (a *Acceptor) LinkReport() daemon.LinkReport {
	s := a.reader.LinkState()
	r := daemon.LinkReport{Up: s.Up, Absent: s.Absent, Failing: s.Tried && !s.Up, Since: s.Since}
	if s.Err != nil {
		r.Error = s.Err.Error()
	}
	return r
}

// CheckLink opens the reader's port when it is down, unless a
// transaction is using the reader.
func (a *Acceptor) CheckLink(ctx context.Context) error { return a.reader.Check(ctx) }
