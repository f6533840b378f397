package main

import (
	"context"
	"errors"
	"fmt"

	apiclient "github.com/vinr/cashlessd/client"
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
