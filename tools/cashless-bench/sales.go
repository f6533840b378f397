package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/vinr/cashlessd/daemon"
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

// saleRun is what a run of sequential sales cost the daemon and moved on
// the devices' wires.
type saleRun struct {
	cpuPerSale time.Duration
	commits    float64 // bbolt commits per sale
	rate       float64 // sales per second
	shape      saleShape
}

// measureSales runs n sales and measures them: the daemon's CPU from
// /proc, its commits from its metrics, the round trips and bytes at the
// simulated reader and host.
func measureSales(t *rig, n int, prefix string) (saleRun, error) {
	commits0, err := t.metric("cashless_db_commits_total")
	if err != nil {
		return saleRun{}, err
	}
	reader0, host0 := t.dev.reader.Stats(), t.dev.host.Traffic()
	cpu0, err := t.cpu()
	if err != nil {
		return saleRun{}, err
	}
	rate, err := runSales(t.proc, n, prefix)
	if err != nil {
		return saleRun{}, err
	}
	cpu1, err := t.cpu()
	if err != nil {
		return saleRun{}, err
	}
	reader1, host1 := t.dev.reader.Stats(), t.dev.host.Traffic()
	commits1, err := t.metric("cashless_db_commits_total")
	if err != nil {
		return saleRun{}, err
	}
	trips := max(reader1.FramesIn-reader0.FramesIn, reader1.FramesOut-reader0.FramesOut)
	hostMsgs := host1.MessagesIn - host0.MessagesIn
	return saleRun{
		cpuPerSale: (cpu1 - cpu0) / time.Duration(n),
		commits:    (commits1 - commits0) / float64(n),
		rate:       rate,
		shape: saleShape{
			ReaderTrips: float64(trips) / float64(n),
			ReaderOut:   int((reader1.BytesIn - reader0.BytesIn) / max(trips, 1)),
			ReaderIn:    int((reader1.BytesOut - reader0.BytesOut) / max(trips, 1)),
			HostTrips:   float64(hostMsgs) / float64(n),
			HostOut:     int((host1.BytesIn - host0.BytesIn) / max(hostMsgs, 1)),
			HostIn:      int((host1.BytesOut - host0.BytesOut) / max(hostMsgs, 1)),
			CommitValue: commitValue,
			Sales:       n,
		},
	}, nil
}

// reportSales adds a sales run and its floor to the report.
func reportSales(ctx context.Context, dir, how string, run saleRun, r *report) error {
	floor, err := measureSaleFloor(ctx, dir, run.shape)
	if err != nil {
		return err
	}
	sh := run.shape
	ratio := float64(run.cpuPerSale) / float64(floor.total())
	r.add(row{fmt.Sprintf("daemon CPU per sale, %s (HTTP, engine, bbolt, reader, printer, host link)", how), us(run.cpuPerSale),
		us(floor.total()), fmt.Sprintf("%.2f", ratio), "cashlessd/floor ≤ 1.5", verdict("≤ 1.5", ratio <= 1.5)})
	r.figure(fmt.Sprintf("reader round trips per sale, %s", how), fmt.Sprintf("%.1f (%d B out, %d B back each)", sh.ReaderTrips, sh.ReaderOut, sh.ReaderIn), "-", true)
	r.figure(fmt.Sprintf("bbolt commits per sale, %s", how), fmt.Sprintf("%.3f", run.commits), "≤ 2 (+ STAN blocks)", run.commits <= 2.02)
	r.figure(fmt.Sprintf("sequential sales, %s (zero device latency)", how), fmt.Sprintf("%.1f sales/s", run.rate), "-", true)
	r.note(fmt.Sprintf("Sale floor, %s, CPU per sale in a process of its own: two bbolt commits of %d B values %s, "+
		"%.1f reader round trips over a pseudo-terminal (%d B out, %d B back) %s, %.1f host round trip over TCP (%d B out, %d B back) %s; "+
		"cashlessd's CPU from /proc/<pid>/stat over %d sales.",
		how, commitValue, us(floor.Commits), sh.ReaderTrips, sh.ReaderOut, sh.ReaderIn, us(floor.Reader),
		sh.HostTrips, sh.HostOut, sh.HostIn, us(floor.Host), sh.Sales))
	return nil
}

// benchStatusAndSales measures status against its floor on an empty
// database, then sequential sales (the daemon's CPU per sale against the
// device/commit floor), tapped and with the chip, then status again with
// that history (1,000 sales in the full run).
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
	tap, err := measureSales(t, s.sales, "TAP")
	if err != nil {
		return err
	}
	chip := daemon.EntryChip
	if err := t.dev.world.SetCard(daemon.SimCard{EntryMethod: &chip}); err != nil {
		return err
	}
	inserted, err := measureSales(t, s.chipSales, "CHIP")
	if err != nil {
		return err
	}
	if err := reportSales(ctx, dir, "card tapped", tap, r); err != nil {
		return err
	}
	if err := reportSales(ctx, dir, "chip inserted", inserted, r); err != nil {
		return err
	}
	r.note("The devices (reader with its cardholder, printer, host with its ledger) run in the benchmark's process; " +
		"cashlessd runs in production mode against them (serial drivers on pseudo-terminals, ISO 8583 over TCP), so its /proc figures are its own.")
	label := fmt.Sprintf("after %d sales", 20+s.sales+s.chipSales)
	return benchStatus(ctx, s, t, label, r)
}
