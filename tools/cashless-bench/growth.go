package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/store"
)

// history builds a database with n approved sales (realistic records with
// both receipts) in dir, the last batchSize of them in the open batch:
// straight through the store, 10,000 per commit, the next chunk made
// while the last one is written.
func history(dir string, n, batchSize int) ([]string, error) {
	db, err := store.Open(dir, time.Second)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	// As on a terminal, whose first start makes the (empty) index of open
	// pre-auths: without it the daemon's first look at the holds would
	// index this history by reading every record, as after an upgrade.
	if _, err := db.OpenHolds(); err != nil {
		return nil, err
	}
	refs := make([]string, n)
	for i := range refs {
		refs[i] = fmt.Sprintf("ORDER-%09d", i)
	}
	const chunk = 10_000
	now := time.Now().UTC()
	// Chunks end where the closed batch ends.
	var sizes []int
	for done := 0; done < n; {
		size := min(chunk, n-done)
		if done < n-batchSize && done+size > n-batchSize {
			size = n - batchSize - done
		}
		sizes = append(sizes, size)
		done += size
	}
	chunks := make(chan []*daemon.Transaction, 2)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(chunks)
		ids := daemon.NewIDs()
		layout := daemon.ReceiptLayout{Merchant: daemon.Merchant{Name: "BENCH SHOP"}, TerminalID: "term_BENCH", Width: 32}
		done := 0
		for _, size := range sizes {
			txs := make([]*daemon.Transaction, size)
			for i := range txs {
				t := &daemon.Transaction{ID: ids.New("tpay"), Kind: daemon.KindSale, Reference: refs[done+i], Status: daemon.StatusApproved,
					Stage: daemon.StageDone, Amount: int64(100 + i%5000), Currency: "USD", AuthCode: "A12345", HostReference: "123456789012",
					StartedAt: now, CompletedAt: now, Card: &daemon.CardInfo{MaskedPAN: "************4242", Scheme: "visa",
						EntryMethod: daemon.EntryContactless, AID: "A0000000031010", ApplicationLabel: "VISA CREDIT", TVR: "0000008000", TSI: "E800", Cryptogram: "ARQC", ATC: "0001"}}
				t.Receipts = daemon.BuildReceipts(layout, t)
				txs[i] = t
			}
			done += size
			select {
			case chunks <- txs:
			case <-stop:
				return
			}
		}
	}()
	ids := daemon.NewIDs()
	done := 0
	for txs := range chunks {
		if err := db.Import(txs, func() string { return ids.New("batch") }); err != nil {
			return nil, err
		}
		done += len(txs)
		if done == n-batchSize {
			if _, err := db.CloseBatch(fmt.Sprintf("HIST-%d", done), now, false, ids.New("batch"), "USD"); err != nil {
				return nil, err
			}
		}
	}
	return refs, nil
}

// lookups times the reads behind refund/replay (reference index) and
// receipt/last, in ns per lookup.
func lookups(dir string, refs []string, n int) (byRef, last float64, err error) {
	db, err := store.Open(dir, time.Second)
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Now()
	for i := 0; i < n; i++ {
		if _, err := db.ApprovedByReference(daemon.KindSale, refs[rng.IntN(len(refs))]); err != nil {
			return 0, 0, err
		}
	}
	byRef = float64(time.Since(start).Nanoseconds()) / float64(n)
	start = time.Now()
	for i := 0; i < n; i++ {
		if _, err := db.LastReceipt(); err != nil {
			return 0, 0, err
		}
	}
	last = float64(time.Since(start).Nanoseconds()) / float64(n)
	return byRef, last, nil
}

func benchGrowth(ctx context.Context, s settings, r *report) error {
	root, err := os.MkdirTemp("", "cashless-bench-growth-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	small, large := filepath.Join(root, "small"), filepath.Join(root, "large")
	smallRefs, err := history(small, s.smallHist, 0)
	if err != nil {
		return err
	}
	begin := time.Now()
	largeRefs, err := history(large, s.largeHist, s.batchSize)
	if err != nil {
		return err
	}
	r.note(fmt.Sprintf("Built %d stored transactions in %s.", s.largeHist, time.Since(begin).Round(time.Second)))
	const n = 50_000
	// Warm both page caches the same way before timing.
	if _, _, err := lookups(small, smallRefs, n); err != nil {
		return err
	}
	if _, _, err := lookups(large, largeRefs, n); err != nil {
		return err
	}
	sRef, sLast, err := lookups(small, smallRefs, n)
	if err != nil {
		return err
	}
	lRef, lLast, err := lookups(large, largeRefs, n)
	if err != nil {
		return err
	}
	label := fmt.Sprintf("%d vs %d stored", s.largeHist, s.smallHist)
	r.compare("reference lookup (refund, replay), "+label, "ns", lRef, sRef, "ratio ≤ 1.5", lRef/sRef <= 1.5)
	r.compare("receipt/last lookup, "+label, "ns", lLast, sLast, "ratio ≤ 1.5", lLast/sLast <= 1.5)
	if err := benchLookup(r, small, large, smallRefs, largeRefs, s.smallHist, s.largeHist); err != nil {
		return err
	}

	info, err := os.Stat(filepath.Join(large, store.FileName))
	if err != nil {
		return err
	}
	r.figure("database bytes per stored transaction", fmt.Sprintf("%d B", info.Size()/int64(s.largeHist)), "-", true)

	db, err := store.Open(large, time.Second)
	if err != nil {
		return err
	}
	start := time.Now()
	b, err := db.CloseBatch("EOD-BENCH", time.Now(), false, "batch_bench", "USD")
	took := time.Since(start)
	db.Close()
	if err != nil {
		return err
	}
	r.figure(fmt.Sprintf("batch close, %d in batch, %d in history", b.TransactionCount(), s.largeHist), took.Round(time.Microsecond).String(), "-", true)

	// Start-up to ready: the large history against an empty data dir.
	empty, err := startTerminal(ctx, s.daemon, filepath.Join(root, "t-empty"), filepath.Join(root, "empty"))
	if err != nil {
		return err
	}
	empty.stop()
	full, err := startTerminal(ctx, s.daemon, filepath.Join(root, "t-large"), large)
	if err != nil {
		return err
	}
	full.stop()
	r.compare(fmt.Sprintf("start-up to ready, %d stored vs empty", s.largeHist), "ms", ms(full.started), ms(empty.started), "no full scan", full.started < 3*empty.started+100*time.Millisecond)
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
