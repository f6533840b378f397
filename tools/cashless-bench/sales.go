package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/vinr/cashlessd/daemon/api/wire"
	"github.com/vinr/cashlessd/daemon/store"
)

// runSales posts n sequential sales with an instant card and returns the
// rate.
func runSales(p *proc, n int, prefix string) (float64, error) {
	c := p.client(true)
	if status, raw, err := post(context.Background(), c, wire.PathSimCard, `{"presentAfterMs":0}`); err != nil || status != http.StatusOK {
		return 0, fmt.Errorf("card: %d %s %v", status, raw, err)
	}
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

func benchSales(ctx context.Context, s settings, r *report) error {
	dir, err := os.MkdirTemp("", "cashless-bench-sales-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	p, err := startCashlessd(ctx, s.daemon, filepath.Join(dir, "cashlessd"))
	if err != nil {
		return err
	}
	defer p.stop()
	if _, err := runSales(p, 20, "WARM"); err != nil {
		return err
	}
	before, err := p.metric("cashless_db_commits_total")
	if err != nil {
		return err
	}
	rate, err := runSales(p, s.sales, "SALE")
	if err != nil {
		return err
	}
	after, _ := p.metric("cashless_db_commits_total")
	perSale := (after - before) / float64(s.sales)
	ceiling, err := store.CommitRate(dir, s.sales, 2048)
	if err != nil {
		return err
	}
	floor := ceiling / perSale
	// Two commits per sale, plus the ISO 8583 STAN reserved in blocks of
	// 100 (one commit per 100 messages).
	r.figure("bbolt commits per sale", fmt.Sprintf("%.3f", perSale), "≤ 2 (+ STAN blocks)", perSale <= 2.02)
	r.compare("sequential sales (HTTP, engine, bbolt, devices; zero latency)", "sales/s", rate, floor, "ratio ≥ 0.7", rate/floor >= 0.7)
	r.note(fmt.Sprintf("Sale floor: %.0f bbolt commits/s on the same disk (2 KiB values) ÷ %.2f commits per sale.", ceiling, perSale))
	return nil
}
