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
	p, err := startTerminal(ctx, s.daemon, dir, data)
	if err != nil {
		return err
	}
	defer p.stop()
	idle, err := p.memory()
	if err != nil {
		return err
	}
	r.figure(fmt.Sprintf("resident memory, idle, %d stored", s.memoryHistory), idle.String(), "≤ 15 MiB", idle.rss <= 15*mib)

	var mu sync.Mutex
	var peak memoryUse
	if _, _, err := load(ctx, p.proc, "/cashless/v1/status", "{}", s.clients, true, s.window, func() {
		if v, err := p.memory(); err == nil {
			mu.Lock()
			if v.rss > peak.rss {
				peak = v
			}
			mu.Unlock()
		}
	}); err != nil {
		return err
	}
	r.figure(fmt.Sprintf("resident memory, peak under %d-client status load", s.clients), peak.String(), "≤ 30 MiB", peak.rss <= 30*mib)

	if _, err := runSales(p.proc, s.memorySales, "MEM"); err != nil {
		return err
	}
	after, err := p.memory()
	if err != nil {
		return err
	}
	r.figure(fmt.Sprintf("resident memory with %d stored, after %d more sales", s.memoryHistory, s.memorySales), after.String(), "≤ 30 MiB", after.rss <= 30*mib)
	return nil
}
