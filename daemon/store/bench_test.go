package store

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vinr/cashlessd/daemon"
)

// benchSizes are the history sizes the store benchmarks build:
// STORE_BENCH_SIZES (comma-separated) or 1000 and 100000.
func benchSizes(b *testing.B) []int {
	spec := os.Getenv("STORE_BENCH_SIZES")
	if spec == "" {
		spec = "1000,100000"
	}
	var out []int
	for _, f := range strings.Split(spec, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			b.Fatalf("STORE_BENCH_SIZES %q", spec)
		}
		out = append(out, n)
	}
	return out
}

// benchHistory books n approved sales with both receipts (as the engine
// lays them out) in a new database and returns it with their references.
func benchHistory(b *testing.B, n int) (*DB, string, []string) {
	b.Helper()
	dir := b.TempDir()
	db, err := Open(dir, time.Second)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	ids := daemon.NewIDs()
	layout := daemon.ReceiptLayout{Merchant: daemon.Merchant{Name: "BENCH SHOP"}, TerminalID: "term_BENCH", Width: 32}
	refs := make([]string, 0, n)
	now := time.Now().UTC()
	for done := 0; done < n; {
		txs := make([]*daemon.Transaction, min(10_000, n-done))
		for i := range txs {
			ref := fmt.Sprintf("ORDER-%09d", done+i)
			t := &daemon.Transaction{ID: ids.New("tpay"), Kind: daemon.KindSale, Reference: ref, Status: daemon.StatusApproved,
				Stage: daemon.StageDone, Amount: int64(100 + i%5000), Currency: "USD", AuthCode: "A12345", HostReference: "123456789012",
				StartedAt: now, CompletedAt: now, Card: &daemon.CardInfo{MaskedPAN: "************4242", Scheme: "visa",
					EntryMethod: daemon.EntryContactless, AID: "A0000000031010", ApplicationLabel: "VISA CREDIT", TVR: "0000008000",
					TSI: "E800", Cryptogram: "ARQC", ATC: "0001"}}
			t.Receipts = daemon.BuildReceipts(layout, t)
			txs[i] = t
			refs = append(refs, ref)
		}
		if err := db.Import(txs, func() string { return ids.New("batch") }); err != nil {
			b.Fatal(err)
		}
		done += len(txs)
	}
	return db, filepath.Join(dir, FileName), refs
}

// BenchmarkApprovedByReference is the read behind a refund, a completion and
// a replay (the reference index, then the record, receipts laid out), at
// random, warm, with each history size stored; it also reports the
// database's bytes per stored transaction.
func BenchmarkApprovedByReference(b *testing.B) {
	for _, n := range benchSizes(b) {
		b.Run(fmt.Sprintf("stored=%d", n), func(b *testing.B) {
			db, path, refs := benchHistory(b, n)
			info, err := os.Stat(path)
			if err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			for range min(len(refs), 200_000) { // warm the page cache
				if _, err := db.ApprovedByReference(daemon.KindSale, refs[rng.IntN(len(refs))]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := db.ApprovedByReference(daemon.KindSale, refs[rng.IntN(len(refs))]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(info.Size())/float64(n), "dbB/tx")
		})
	}
}
