package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/vinr/cashlessd/daemon/api/wire"
)

// serverCPU is what one server spent on the status calls of a comparison.
type serverCPU struct {
	cpu      time.Duration
	requests int64
	rate     float64 // requests per second, summed over rounds
}

// perRequest is the server's CPU per answered request.
func (c serverCPU) perRequest() time.Duration {
	if c.requests == 0 {
		return 0
	}
	return c.cpu / time.Duration(c.requests)
}

// statusLoad puts status load on p for one window and adds the CPU the
// process used (from /proc) and the requests it answered to c.
func statusLoad(ctx context.Context, s settings, p *proc, clients int, keepAlive bool, c *serverCPU) error {
	before, err := p.cpu()
	if err != nil {
		return err
	}
	n, rate, err := load(ctx, p, wire.PathStatus, "{}", clients, keepAlive, s.window, nil)
	if err != nil {
		return err
	}
	after, err := p.cpu()
	if err != nil {
		return err
	}
	c.cpu += after - before
	c.requests += n
	c.rate += rate / float64(s.rounds)
	return nil
}

// benchStatus compares cashlessd's CPU per status request with the
// baseline's (a minimal TLS server answering the same bytes after the same
// key check), keep-alive and with a new TLS connection per request, in
// alternating rounds. label says what the database holds.
func benchStatus(ctx context.Context, s settings, t *rig, label string, r *report) error {
	if !s.status {
		return nil
	}
	_, body, err := post(ctx, t.client(true), wire.PathStatus, "{}")
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp(t.dir, "baseline-")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "body.json"), body, 0o600); err != nil {
		return err
	}
	base, err := startBaseline(ctx, dir, t.key)
	if err != nil {
		return err
	}
	defer base.stop()
	for _, c := range []struct {
		keepAlive bool
		clients   int
		what      string
		goal      float64
	}{
		{true, s.clients, fmt.Sprintf("keep-alive TLS, %d clients", s.clients), 0.85},
		{false, s.handshakes, fmt.Sprintf("new TLS connection per request, %d clients", s.handshakes), 0.9},
	} {
		var cd, bl serverCPU
		for i := 0; i < s.rounds; i++ {
			if err := statusLoad(ctx, s, t.proc, c.clients, c.keepAlive, &cd); err != nil {
				return fmt.Errorf("cashlessd: %w", err)
			}
			if err := statusLoad(ctx, s, base, c.clients, c.keepAlive, &bl); err != nil {
				return fmt.Errorf("baseline: %w", err)
			}
		}
		ratio := float64(bl.perRequest()) / float64(cd.perRequest())
		r.add(row{fmt.Sprintf("status CPU per request, %s, %s", c.what, label),
			us(cd.perRequest()), us(bl.perRequest()), fmt.Sprintf("%.2f", ratio),
			fmt.Sprintf("floor/cashlessd ≥ %.2f", c.goal), verdict("≥", ratio >= c.goal)})
		r.note(fmt.Sprintf("status, %s, %s: cashlessd %.0f req/s, floor %.0f req/s (%d and %d requests).",
			c.what, label, cd.rate, bl.rate, cd.requests, bl.requests))
	}
	return nil
}

// us formats a duration in microseconds.
func us(d time.Duration) string { return fmt.Sprintf("%.1f µs", float64(d.Nanoseconds())/1000) }
