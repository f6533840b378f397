package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vinr/cashlessd/daemon/api/wire"
)

// servers starts cashlessd and the baseline answering the same status
// bytes; stop ends both.
func servers(ctx context.Context, s settings) (cd, base *proc, stop func(), err error) {
	dir, err := os.MkdirTemp("", "cashless-bench-http-")
	if err != nil {
		return nil, nil, nil, err
	}
	cd, err = startCashlessd(ctx, s.daemon, filepath.Join(dir, "cashlessd"))
	if err != nil {
		return nil, nil, nil, err
	}
	_, body, err := post(ctx, cd.client(true), wire.PathStatus, "{}")
	if err == nil {
		err = os.MkdirAll(filepath.Join(dir, "baseline"), 0o700)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "baseline", "body.json"), body, 0o600)
	}
	if err == nil {
		base, err = startBaseline(ctx, filepath.Join(dir, "baseline"))
	}
	stop = func() {
		cd.stop()
		if base != nil {
			base.stop()
		}
		_ = os.RemoveAll(dir)
	}
	if err != nil {
		stop()
		return nil, nil, nil, err
	}
	return cd, base, stop, nil
}

// alternate measures both servers in turns and sums their rates.
func alternate(ctx context.Context, s settings, cd, base *proc, clients int, keepAlive bool) (float64, float64, error) {
	var a, b float64
	for i := 0; i < s.rounds; i++ {
		x, err := load(ctx, cd, wire.PathStatus, "{}", clients, keepAlive, s.window, nil)
		if err != nil {
			return 0, 0, fmt.Errorf("cashlessd: %w", err)
		}
		y, err := load(ctx, base, wire.PathStatus, "{}", clients, keepAlive, s.window, nil)
		if err != nil {
			return 0, 0, fmt.Errorf("baseline: %w", err)
		}
		a, b = a+x, b+y
	}
	return a / float64(s.rounds), b / float64(s.rounds), nil
}

func benchStatusKeepAlive(ctx context.Context, s settings, r *report) error {
	cd, base, stop, err := servers(ctx, s)
	if err != nil {
		return err
	}
	defer stop()
	a, b, err := alternate(ctx, s, cd, base, s.clients, true)
	if err != nil {
		return err
	}
	r.compare(fmt.Sprintf("status, keep-alive TLS, %d clients", s.clients), "req/s", a, b, "ratio ≥ 0.85", a/b >= 0.85)
	return nil
}

func benchStatusHandshake(ctx context.Context, s settings, r *report) error {
	cd, base, stop, err := servers(ctx, s)
	if err != nil {
		return err
	}
	defer stop()
	a, b, err := alternate(ctx, s, cd, base, s.handshakes, false)
	if err != nil {
		return err
	}
	r.compare(fmt.Sprintf("status, new TLS connection per request, %d clients", s.handshakes), "req/s", a, b, "ratio ≥ 0.9", a/b >= 0.9)
	r.note("Handshakes: TLS 1.3, ECDSA P-256 certificate (ecdsa-with-SHA256), X25519 key exchange, no session resumption, on both servers.")
	return nil
}
