package store

import (
	"testing"
)

// summary reads the status summary or fails.
func summary(t *testing.T, db *DB) (sum struct {
	last                      string
	count, reversals, advices int64
	settling                  bool
}) {
	t.Helper()
	s, err := db.StatusSummary()
	if err != nil {
		t.Fatal(err)
	}
	if s.LastTransaction != nil {
		sum.last = s.LastTransaction.ID
	}
	if s.OpenBatch != nil {
		sum.count = s.OpenBatch.TransactionCount()
	}
	sum.reversals, sum.advices, sum.settling = int64(s.PendingReversals), int64(s.PendingAdvices), s.SettlingBatch != nil
	return sum
}

func TestStatusSummaryFollowsEveryCommit(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	if s := summary(t, db); s.last != "" || s.count != 0 || s.reversals != 0 || s.settling {
		t.Fatalf("empty database: %+v", s)
	}
	book(t, db, approved("tpay_1", "sale", "S-1", 100))
	if s := summary(t, db); s.last != "tpay_1" || s.count != 1 {
		t.Fatalf("after a sale: %+v", s)
	}
	first, _ := db.StatusSummary()
	again, _ := db.StatusSummary()
	if first.LastTransaction != again.LastTransaction {
		t.Fatal("a poll without a commit in between read the store again")
	}
	sale, err := db.Transaction("tpay_1")
	if err != nil {
		t.Fatal(err)
	}
	sale.ReversalPending = true
	if err := db.UpdateTransaction(sale); err != nil {
		t.Fatal(err)
	}
	if s := summary(t, db); s.reversals != 1 {
		t.Fatalf("after queueing a reversal: %+v", s)
	}
	book(t, db, approved("tpay_2", "sale", "S-2", 100))
	if s := summary(t, db); s.last != "tpay_2" || s.count != 2 || s.reversals != 1 {
		t.Fatalf("after a second sale: %+v", s)
	}
	if _, err := db.BeginSettlement("CLOSE-1", false); err != nil {
		t.Fatal(err)
	}
	if s := summary(t, db); !s.settling || s.count != 0 {
		t.Fatalf("while settling: %+v", s)
	}
}
