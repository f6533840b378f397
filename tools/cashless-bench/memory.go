package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

const mib = 1 << 20

func benchMemory(ctx context.Context, s settings, r *report) error {
	dir, err := os.MkdirTemp("", "cashless-bench-mem-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// The terminal starts with a long history (imported, as the growth
	// figures do), then serves sales on top of it.
	data := filepath.Join(dir, "cashlessd")
	if _, err := history(data, s.memoryHistory, 0); err != nil {
		return err
	}
	p, err := startCashlessd(ctx, s.daemon, data)
	if err != nil {
		return err
	}
	defer p.stop()
	idle, err := p.rss()
	if err != nil {
		return err
	}
	r.figure("resident memory, idle", fmt.Sprintf("%.1f MiB", float64(idle)/mib), "≤ 20 MiB", idle <= 20*mib)

	var mu sync.Mutex
	var peak int64
	if _, err := load(ctx, p, "/cashless/v1/status", "{}", s.clients, true, s.window, func() {
		if v, err := p.rss(); err == nil {
			mu.Lock()
			peak = max(peak, v)
			mu.Unlock()
		}
	}); err != nil {
		return err
	}
	r.figure(fmt.Sprintf("resident memory, peak under %d-client status load", s.clients), fmt.Sprintf("%.1f MiB", float64(peak)/mib), "≤ 40 MiB", peak <= 40*mib)

	if _, err := runSales(p, s.memorySales, "MEM"); err != nil {
		return err
	}
	after, err := p.rss()
	if err != nil {
		return err
	}
	r.figure(fmt.Sprintf("resident memory with %d stored, after %d more sales", s.memoryHistory, s.memorySales), fmt.Sprintf("%.1f MiB", float64(after)/mib), "bounded", after <= 40*mib)
	return nil
}
