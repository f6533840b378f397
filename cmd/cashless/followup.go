package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	apiclient "github.com/vinr/cashlessd/client"
	"github.com/vinr/cashlessd/daemon/api/wire"
)

// statusTimeout bounds the status call made after a lost answer.
const statusTimeout = 15 * time.Second

// followUp runs after a batch close's answer was lost (a transaction's is
// looked up by reference: followUpLookup): the terminal goes on with the
// close, so status tells whether it completed (lastTransaction with the
// same reference) or is still running (activeTransaction). It returns the
// exit code.
func (m *Main) followUp(ctx context.Context, s *session, p *printer, c *call, lost *apiclient.TransportError) int {
	why := "the connection was lost"
	switch {
	case errors.Is(lost, context.DeadlineExceeded):
		why = fmt.Sprintf("no answer within %s", s.opts.timeout)
	case ctx.Err() != nil:
		why = "interrupted"
	}
	fmt.Fprintf(m.Stderr, "cashless: %s (%v)\ncashless: asking the terminal's status whether %s %s completed…\n",
		why, lost.Err, c.kind, c.reference)

	// The status call must not die with the context that ended the first
	// request (a timeout or Ctrl-C).
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), statusTimeout)
	defer cancel()
	a, err := s.client.postWithin(sctx, statusTimeout, wire.PathStatus, wire.EmptyRequest{})
	if err != nil {
		fmt.Fprintf(m.Stderr, "cashless: status failed too: %v\n", err)
		m.unknown(c, "the outcome is unknown")
		return exitUnknown
	}
	var st wire.Status
	if err := decode(a, &st); err != nil || answerError(a) != nil || a.status != 200 {
		if p.json {
			p.raw(a.raw)
		} else {
			p.refused(a.status, answerError(a))
		}
		m.unknown(c, "status gave no answer about it")
		return exitUnknown
	}
	if p.json {
		p.raw(a.raw)
	}

	last, active := st.LastTransaction, st.ActiveTransaction
	switch {
	case last != nil && last.Reference == c.reference && last.Type == c.kind:
		if !p.json {
			line(p.out, strings.ToUpper(last.Status), c.kind, last.Reference, last.TransactionID, "completed "+last.CompletedAt)
			detail(p.out, "(from status; `cashless receipt-last` shows its receipt)")
		}
		if last.Status == "approved" {
			return exitOK
		}
		return exitNotApproved
	case active != nil && active.Reference == c.reference && active.Type == c.kind:
		if !p.json {
			line(p.out, "IN PROGRESS", c.kind, active.Reference, active.Stage, prefixed("since ", active.StartedAt))
		}
		hint := "run `cashless status` until it shows the outcome"
		if active.Stage == "waiting_for_card" {
			hint += fmt.Sprintf(", or `cashless cancel --reference %s` to abort the prompt", c.reference)
		}
		fmt.Fprintf(m.Stderr, "cashless: the terminal is still working on %s: %s\n", c.reference, hint)
		return exitUnknown
	}
	seen := "it shows no transaction"
	if last != nil {
		seen = fmt.Sprintf("its last transaction is %s %s (%s)", last.Type, last.Reference, last.Status)
	}
	if !p.json {
		line(p.out, "UNKNOWN", c.kind, c.reference)
	}
	m.unknown(c, "status does not show it: "+seen)
	return exitUnknown
}

// unknown says what to do when the outcome is not known: repeating the
// command with the same reference is safe.
func (m *Main) unknown(c *call, why string) {
	again := "an approved reference is never charged twice; a running one answers terminal_busy"
	if c.kind == "batch_close" {
		again = "a closed batch is returned again, not settled twice"
	}
	fmt.Fprintf(m.Stderr, "cashless: %s; repeat the same command with reference %s to learn it (%s)\n", why, c.reference, again)
}
