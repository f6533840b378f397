package host

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/vinr/cashlessd/daemon"
)

var (
	_ daemon.HostReporter = (*Client)(nil)
	_ daemon.LinkChecker  = (*Client)(nil)
)

// recentOutcomes is how many financial requests the outcome counts cover.
const recentOutcomes = 20

// outcome is how one financial request ended.
type outcome uint8

const (
	answered    outcome = iota + 1 // the host answered (any response code)
	unanswered                     // sent, no answer: outcome unknown
	unreachable                    // never sent: no link
)

// linkHealth records what the client has seen of its link and of the
// host's answers, for status and diag. It does no I/O.
type linkHealth struct {
	mu      sync.Mutex
	up      bool
	failing bool // the last attempt to connect failed
	since   time.Time
	err     string

	recent    [recentOutcomes]outcome
	next      int
	lastAt    [unreachable + 1]time.Time
	networkAt time.Time
}

// connected records a signed-on link.
func (h *linkHealth) connected() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.up {
		h.since = time.Now()
	}
	h.up, h.failing, h.err = true, false, ""
	h.networkAt = time.Now()
}

// lost records that the link is down: a failed connect (failing) or a
// connection that failed or was closed.
func (h *linkHealth) lost(err error, failing bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.up || h.since.IsZero() {
		h.since = time.Now()
	}
	h.up = false
	h.failing = h.failing || failing
	if err != nil {
		h.err = err.Error()
	}
}

// network records an answered sign-on or echo.
func (h *linkHealth) network() {
	h.mu.Lock()
	h.networkAt = time.Now()
	h.mu.Unlock()
}

// financial records how a financial request ended.
func (h *linkHealth) financial(err error) {
	o := answered
	switch {
	case errors.Is(err, daemon.ErrOutcomeUnknown):
		o = unanswered
	case errors.Is(err, daemon.ErrHostUnreachable):
		o = unreachable
	case err != nil:
		return // not about the host (a message that cannot be built)
	}
	h.mu.Lock()
	h.recent[h.next] = o
	h.next = (h.next + 1) % recentOutcomes
	h.lastAt[o] = time.Now()
	h.mu.Unlock()
}

// LinkReport is what the client has seen of its link; it does no I/O.
func (c *Client) LinkReport() daemon.LinkReport {
	h := &c.health
	h.mu.Lock()
	defer h.mu.Unlock()
	return daemon.LinkReport{Up: h.up, Failing: h.failing, Since: h.since, Error: h.err}
}

// Outcomes counts the last financial requests by how they ended.
func (c *Client) Outcomes() daemon.HostOutcomes {
	h := &c.health
	h.mu.Lock()
	defer h.mu.Unlock()
	out := daemon.HostOutcomes{LastAnsweredAt: h.lastAt[answered], LastUnansweredAt: h.lastAt[unanswered],
		LastUnreachableAt: h.lastAt[unreachable], LastNetworkAt: h.networkAt}
	for _, o := range h.recent {
		switch o {
		case answered:
			out.Answered++
		case unanswered:
			out.Unanswered++
		case unreachable:
			out.Unreachable++
		}
	}
	return out
}

// CheckLink connects and signs on when the link is down; it sends nothing
// when the link is up.
func (c *Client) CheckLink(ctx context.Context) error { return c.Connect(ctx) }
