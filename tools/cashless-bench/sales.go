package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/vinr/cashlessd/daemon/api/wire"
)

// runSales posts n sequential sales (the cardholder presents the card at
// once) and returns the rate.
func runSales(p *proc, n int, prefix string) (float64, error) {
	c := p.client(true)
	start := time.Now()
	for i := 0; i < n; i++ {
		body := fmt.Sprintf(`{"amount":%d,"currency":"USD","reference":"%s-%d"}`, 100+i%900, prefix, i)
		status, raw, err := post(context.Background(), c, wire.PathSale, body)
		if err != nil || status != http.StatusOK {
			return 0, fmt.Errorf("sale %d: %d %s %v", i, status, raw, err)
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// commitValue is the size of the value each floor commit writes: about
// what a sale's record takes.
const commitValue = 1024

// benchStatusAndSales measures status against its floor on an empty
// database, then s.sales sequential sales (the daemon's CPU per sale
// against the device/commit floor), then status again with that history.
func benchStatusAndSales(ctx context.Context, s settings, r *report) error {
	dir, err := os.MkdirTemp("", "cashless-bench-sales-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	t, err := startTerminal(ctx, s.daemon, dir, filepath.Join(dir, "cashlessd"))
	if err != nil {
		return err
	}
	defer t.stop()
	if err := benchStatus(ctx, s, t, "empty database", r); err != nil {
		return err
	}
	if _, err := runSales(t.proc, 20, "WARM"); err != nil {
		return err
	}
	commits0, err := t.metric("cashless_db_commits_total")
	if err != nil {
		return err
	}
	reader0, host0 := t.dev.reader.Stats(), t.dev.host.Traffic()
	cpu0, err := t.cpu()
	if err != nil {
		return err
	}
	rate, err := runSales(t.proc, s.sales, "SALE")
	if err != nil {
		return err
	}
	cpu1, err := t.cpu()
	if err != nil {
		return err
	}
	reader1, host1 := t.dev.reader.Stats(), t.dev.host.Traffic()
	commits1, _ := t.metric("cashless_db_commits_total")
	n := float64(s.sales)
	perSale := (cpu1 - cpu0) / time.Duration(s.sales)
	commits := (commits1 - commits0) / n

	trips := max(reader1.FramesIn-reader0.FramesIn, reader1.FramesOut-reader0.FramesOut)
	hostMsgs := host1.MessagesIn - host0.MessagesIn
	shape := saleShape{
		ReaderTrips: float64(trips) / n,
		ReaderOut:   int((reader1.BytesIn - reader0.BytesIn) / max(trips, 1)),
		ReaderIn:    int((reader1.BytesOut - reader0.BytesOut) / max(trips, 1)),
		HostTrips:   float64(hostMsgs) / n,
		HostOut:     int((host1.BytesIn - host0.BytesIn) / max(hostMsgs, 1)),
		HostIn:      int((host1.BytesOut - host0.BytesOut) / max(hostMsgs, 1)),
		CommitValue: commitValue,
		Sales:       s.sales,
	}
	floor, err := measureSaleFloor(ctx, dir, shape)
	if err != nil {
		return err
	}
	ratio := float64(perSale) / float64(floor.total())
	r.add(row{"daemon CPU per sale (HTTP, engine, bbolt, reader, printer, host link)", us(perSale), us(floor.total()),
		fmt.Sprintf("%.2f", ratio), "cashlessd/floor ≤ 1.5", verdict("≤ 1.5", ratio <= 1.5)})
	r.figure("bbolt commits per sale", fmt.Sprintf("%.3f", commits), "≤ 2 (+ STAN blocks)", commits <= 2.02)
	r.figure("reader round trips per sale", fmt.Sprintf("%.1f (%d B out, %d B back each)", shape.ReaderTrips, shape.ReaderOut, shape.ReaderIn), "-", true)
	r.figure("sequential sales (zero device latency)", fmt.Sprintf("%.1f sales/s", rate), "-", true)
	r.note(fmt.Sprintf("Sale floor, CPU per sale in a process of its own: two bbolt commits of %d B values %s, "+
		"%.1f reader round trips over a pseudo-terminal (%d B out, %d B back) %s, %.1f host round trip over TCP (%d B out, %d B back) %s. "+
		"The devices (reader, cardholder, printer, host) run in the benchmark's process; cashlessd runs in production mode "+
		"against them, and its CPU comes from /proc/<pid>/stat over %d sales.",
		commitValue, us(floor.Commits), shape.ReaderTrips, shape.ReaderOut, shape.ReaderIn, us(floor.Reader),
		shape.HostTrips, shape.HostOut, shape.HostIn, us(floor.Host), s.sales))
	label := fmt.Sprintf("after %d sales", s.sales+20)
	return benchStatus(ctx, s, t, label, r)
}
