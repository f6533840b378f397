package main

import (
	"context"
	"errors"
	"fmt"

	apiclient "github.com/vinr/cashlessd/client"
	"github.com/vinr/cashlessd/discovery"
)

// session is a resolved terminal with the options of one run.
type session struct {
	opts   *options
	client *client
}

// newSession checks the options and makes the client. A --terminal ID has
// been resolved into o.addr by then (Run).
func newSession(o *options, version string) (*session, error) {
	if o.key == "" {
		return nil, errors.New("no shared key: set CASHLESS_KEY (or --key), or pair this ECR (cashless pair)")
	}
	c, err := newClient(o.addr, o.ca, o.key, "cashless/"+version, o.timeout, o.pin, o.sign)
	if err != nil {
		return nil, err
	}
	return &session{opts: o, client: c}, nil
}

// openSession fills the options from the stored pairing, resolves a
// --terminal ID by mDNS (trusting the certificate it announces unless a pin
// is set) and makes the session; a mistake is reported on stderr and
// returned as the run's exit.
func (m *Main) openSession(ctx context.Context, o *options) (*session, error) {
	if err := m.usePairing(o); err != nil {
		return nil, m.usageError(err.Error())
	}
	var found *discovery.Terminal
	if o.terminal != "" && o.key != "" {
		t, err := discovery.Resolve(ctx, o.terminal, resolveWait)
		if err != nil {
			fmt.Fprintf(m.Stderr, "cashless: --terminal: %v\n", err)
			return nil, exitWith(exitTransport, err.Error())
		}
		o.addr, found = t.Address, &t
	}
	s, err := newSession(o, m.Version)
	if err != nil {
		return nil, m.usageError(err.Error())
	}
	if found != nil && o.pin == "" {
		trustResolved(s.client, *found)
	}
	return s, nil
}

// do sends the call and shows the answer; a transaction whose answer is
// lost is looked up by its reference (a batch close in status).
func (m *Main) do(ctx context.Context, s *session, c *call) error {
	defer s.client.close()
	p := &printer{out: m.Stdout, err: m.Stderr, json: s.opts.json}
	var known attemptSet
	if c.kind != "" && c.kind != "batch_close" {
		known = s.knownAttempts(ctx, c)
	}
	a, err := s.client.post(ctx, c.path, c.body)
	var te *apiclient.TransportError
	switch {
	case errors.As(err, &te) && te.Sent && c.kind == "batch_close":
		return exitWith(m.followUp(ctx, s, p, c, te), "answer lost")
	case errors.As(err, &te) && te.Sent && c.kind != "":
		return exitWith(m.followUpLookup(ctx, s, p, c, te, known), "answer lost")
	case err != nil:
		fmt.Fprintf(m.Stderr, "cashless: %s: %v\n", s.client.base, err)
		return exitWith(exitTransport, err.Error())
	}
	if p.json {
		p.raw(a.raw)
		return exitWith(jsonExit(a), "answer")
	}
	return exitWith(c.show(p, a), "answer")
}
