package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"strings"
	"time"

	apiclient "github.com/vinr/cashlessd/client"
	"github.com/vinr/cashlessd/daemon/api/wire"
)

// lookupTimeout bounds each lookup made after a lost answer.
const lookupTimeout = 15 * time.Second

// lookupPoll is how often a lookup is repeated while the looked-up
// transaction is still running.
const lookupPoll = 500 * time.Millisecond

// attemptSet is the IDs of the attempts a reference had before this run
// sent its request; nil when they could not be learnt.
type attemptSet map[string]bool

// knownAttempts looks the call's reference up before the request is sent,
// so that after a lost answer the attempt this run started can be told
// from earlier ones. It returns nil (unknown) on any failure.
func (s *session) knownAttempts(ctx context.Context, c *call) attemptSet {
	lctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	lk, err := s.client.api.Transaction(lctx, wire.LookupRequest{Reference: &c.reference})
	var apiErr *apiclient.Error
	switch {
	case errors.As(err, &apiErr) && apiErr.Code == "transaction_not_found":
		return attemptSet{}
	case err != nil:
		return nil
	}
	known := attemptSet{lk.TransactionID: true}
	for _, a := range lk.Attempts {
		known[a.TransactionID] = true
	}
	return known
}

// followUpLookup runs after a transaction's answer was lost: the terminal
// goes on with the transaction, so cashless looks its reference up and
// waits (up to --timeout) while it runs, then prints the outcome. An
// attempt that existed before this run sent its request is never shown as
// this run's outcome. It returns the exit code.
func (m *Main) followUpLookup(ctx context.Context, s *session, p *printer, c *call, lost *apiclient.TransportError, known attemptSet) int {
	why := "the connection was lost"
	switch {
	case errors.Is(lost, context.DeadlineExceeded):
		why = fmt.Sprintf("no answer within %s", s.opts.timeout)
	case ctx.Err() != nil:
		why = "interrupted"
	}
	fmt.Fprintf(m.Stderr, "cashless: %s (%v)\ncashless: looking up %s %s on the terminal…\n", why, lost.Err, c.kind, c.reference)

	// The lookups must not die with the context that ended the request (a
	// timeout); an interrupt (Ctrl-C) stops the waiting, not the lookup.
	base := context.WithoutCancel(ctx)
	interrupted := ctx.Err() != nil && !errors.Is(lost, context.DeadlineExceeded)
	until := time.Now().Add(s.opts.timeout)
	shownRunning := false
	for {
		lctx, cancel := context.WithTimeout(base, lookupTimeout)
		a, err := s.client.postWithin(lctx, lookupTimeout, wire.PathTransaction, wire.LookupRequest{Reference: &c.reference})
		cancel()
		if err != nil {
			fmt.Fprintf(m.Stderr, "cashless: the lookup failed too: %v\n", err)
			m.unknown(c, "the outcome is unknown")
			return exitUnknown
		}
		if a.status != http.StatusOK {
			e := answerError(a)
			if p.json {
				p.raw(a.raw)
			} else {
				p.refused(a.status, e)
			}
			if e != nil && e.Code == "transaction_not_found" {
				m.unknown(c, "the terminal never saw reference "+c.reference+", so nothing was charged under it")
			} else {
				m.unknown(c, "the lookup gave no answer about it")
			}
			return exitUnknown
		}
		var lk wire.Lookup
		if err := decode(a, &lk); err != nil {
			return p.unreadable(a, err)
		}
		if lk.Status == "pending" {
			if !shownRunning && !p.json {
				fmt.Fprintf(m.Stderr, "cashless: %s %s is still running (%s, %s); waiting for its outcome…\n", lk.Type, c.reference, lk.Stage, lk.TransactionID)
				shownRunning = true
			}
			if interrupted || time.Now().After(until) {
				if p.json {
					p.raw(a.raw)
				} else {
					line(p.out, "IN PROGRESS", lk.Type, lk.Reference, lk.Stage, lk.TransactionID, prefixed("since ", lk.StartedAt))
				}
				hint := "run `cashless lookup --reference " + c.reference + "` until it shows the outcome"
				if lk.Stage == "waiting_for_card" {
					hint += fmt.Sprintf(", or `cashless cancel --reference %s` to abort the prompt", c.reference)
				}
				fmt.Fprintf(m.Stderr, "cashless: the terminal is still working on %s: %s\n", c.reference, hint)
				return exitUnknown
			}
			time.Sleep(lookupPoll)
			continue
		}
		if lk.Status != "approved" && (known == nil || known[lk.TransactionID]) {
			// No attempt of this run's shows: the request did not start
			// one (or, unknown, may not have). An earlier attempt's
			// outcome is not this run's.
			if !p.json {
				line(p.out, "NOT STARTED", c.kind, c.reference)
			}
			seen := fmt.Sprintf("the terminal shows no new attempt; the latest under this reference is %s %s (%s)", lk.Type, lk.TransactionID, lk.Status)
			if known == nil {
				seen = fmt.Sprintf("the latest attempt under this reference is %s %s (%s), and cashless could not learn beforehand whether it is this run's", lk.Type, lk.TransactionID, lk.Status)
			}
			m.unknown(c, seen)
			return exitUnknown
		}
		if p.json {
			p.raw(a.raw)
			return jsonExit(a)
		}
		code := showTransaction(p, a)
		detail(p.out, "(from a lookup of the reference; `cashless lookup --reference "+c.reference+"` shows it again)")
		return code
	}
}

// prepareLookup is `cashless lookup`: the truth about a reference or a
// transaction ID.
func prepareLookup(fs *flag.FlagSet, _ *options) func() (*call, error) {
	var ref, id stringFlag
	fs.Var(&ref, "reference", "the transaction's `reference`")
	fs.Var(&id, "id", "the transaction's `ID` (tpay_…), instead of --reference")
	return func() (*call, error) {
		if ref.set == id.set {
			return nil, errors.New("give exactly one of --reference or --id")
		}
		return &call{path: wire.PathTransaction, body: wire.LookupRequest{Reference: given(ref.v, ref.set), TransactionID: given(id.v, id.set)},
			show: showLookup}, nil
	}
}

// showLookup prints a lookup: a running transaction's stage, or the
// outcome as the transaction's own answer showed it, then the earlier
// attempts. The exit code is the transaction's (0 approved, 1 not
// approved, 5 still running).
func showLookup(p *printer, a *answer) int {
	var lk wire.Lookup
	if err := decode(a, &lk); err != nil {
		return p.unreadable(a, err)
	}
	code := exitUnknown
	switch {
	case a.status != http.StatusOK:
		p.refused(a.status, lk.Error)
		return outcome(a.status, "", lk.Error)
	case lk.Status == "pending":
		line(p.out, "IN PROGRESS", lk.Type, lk.Reference, lk.Stage, lk.TransactionID, prefixed("since ", lk.StartedAt))
	default:
		code = showTransaction(p, a)
	}
	for _, at := range lk.Attempts {
		detail(p.out, "earlier attempt", at.Type, at.TransactionID, strings.ToUpper(at.Status), at.DeclineCode, at.ErrorCode, at.CompletedAt)
	}
	return code
}
