package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vinr/cashlessd/daemon"
)

// openTest opens a real database in a temporary directory.
func openTest(t *testing.T) (*DB, string) {
	t.Helper()
	dir := t.TempDir()
	db, err := Open(dir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, dir
}

func approved(id string, kind daemon.Kind, ref string, amount int64) *daemon.Transaction {
	return &daemon.Transaction{ID: id, Kind: kind, Reference: ref, Status: daemon.StatusPending, Amount: amount, Currency: "USD",
		StartedAt: time.Now().UTC(), Card: &daemon.CardInfo{Scheme: "visa", MaskedPAN: "************4242"}}
}

func book(t *testing.T, db *DB, tx *daemon.Transaction) {
	t.Helper()
	if err := db.CreateTransaction(tx); err != nil {
		t.Fatal(err)
	}
	tx.Status = daemon.StatusApproved
	tx.CompletedAt = time.Now().UTC()
	if err := db.FinishTransaction(tx, "batch_"+tx.ID); err != nil {
		t.Fatal(err)
	}
}

func TestFinishIndexesReferenceAndJoinsBatch(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	sale := approved("tpay_1", daemon.KindSale, "ORDER-1", 1000)
	book(t, db, sale)
	got, err := db.ApprovedByReference(daemon.KindSale, "ORDER-1")
	if err != nil || got.ID != "tpay_1" || got.BatchID != "batch_tpay_1" {
		t.Fatalf("%v %+v", err, got)
	}
	if _, err := db.ApprovedByReference(daemon.KindRefund, "ORDER-1"); !errors.Is(err, daemon.ErrNotFound) {
		t.Fatal("reference index must be per kind")
	}
	refund := approved("tpay_2", daemon.KindRefund, "R-1", 400)
	refund.OriginalID = "tpay_1"
	book(t, db, refund)
	orig, _ := db.Transaction("tpay_1")
	if orig.RefundedAmount != 400 {
		t.Fatalf("refunded %d", orig.RefundedAmount)
	}
	over := approved("tpay_3", daemon.KindRefund, "R-2", 601)
	over.OriginalID = "tpay_1"
	_ = db.CreateTransaction(over)
	over.Status = daemon.StatusApproved
	if err := db.FinishTransaction(over, "x"); err == nil {
		t.Fatal("refunds beyond the capture must not book")
	}
	if _, err := db.ApprovedByReference(daemon.KindRefund, "R-2"); !errors.Is(err, daemon.ErrNotFound) {
		t.Fatal("a failed commit left an index entry")
	}
	b, err := db.OpenBatch()
	if err != nil || b.TransactionCount() != 2 || b.TotalAmount() != 600 {
		t.Fatalf("%v %+v", err, b)
	}
	members, _ := db.BatchMembers(b.ID)
	if len(members) != 2 {
		t.Fatalf("%v", members)
	}
	pend, _ := db.PendingTransactions()
	if len(pend) != 1 || pend[0].ID != "tpay_3" {
		t.Fatalf("pending %v", pend)
	}
}

func TestCloseBatchOnceByReference(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	book(t, db, approved("tpay_1", daemon.KindSale, "A", 1000))
	b1, err := db.CloseBatch("EOD-1", time.Now(), false, "batch_empty", "USD")
	if err != nil || b1.Status != daemon.BatchClosed || b1.TotalAmount() != 1000 {
		t.Fatalf("%v %+v", err, b1)
	}
	b2, _ := db.CloseBatch("EOD-1", time.Now(), false, "batch_other", "USD")
	if b2.ID != b1.ID {
		t.Fatal("closing again must return the same batch")
	}
	if _, err := db.OpenBatch(); !errors.Is(err, daemon.ErrNotFound) {
		t.Fatal("no batch should be open")
	}
	book(t, db, approved("tpay_2", daemon.KindSale, "B", 50))
	open, _ := db.OpenBatch()
	if open.ID == b1.ID || open.TotalAmount() != 50 {
		t.Fatalf("%+v", open)
	}
}

func TestReversalQueueFollowsTheFlag(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	tx := approved("tpay_1", daemon.KindSale, "A", 1000)
	_ = db.CreateTransaction(tx)
	tx.Status = daemon.StatusFailed
	tx.ReversalPending = true
	if err := db.FinishTransaction(tx, "b"); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.CountPendingReversals(); n != 1 {
		t.Fatalf("%d", n)
	}
	tx.ReversalPending = false
	_ = db.UpdateTransaction(tx)
	if n, _ := db.CountPendingReversals(); n != 0 {
		t.Fatalf("%d", n)
	}
}

func TestSecondOpenIsRefusedWhileLocked(t *testing.T) {
	t.Parallel()
	_, dir := openTest(t)
	if _, err := Open(dir, 100*time.Millisecond); !errors.Is(err, ErrLocked) {
		t.Fatalf("%v", err)
	}
}

func TestCorruptDatabaseIsReportedAndKept(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	junk := []byte(strings.Repeat("not a bbolt file ", 512))
	if err := os.WriteFile(path, junk, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, time.Second); err == nil || !strings.Contains(err.Error(), "left untouched") {
		t.Fatalf("%v", err)
	}
	after, _ := os.ReadFile(path)
	if string(after) != string(junk) {
		t.Fatal("the corrupt file was changed")
	}
}

func TestCountersPersist(t *testing.T) {
	t.Parallel()
	db, dir := openTest(t)
	for i := uint32(1); i <= 3; i++ {
		if n, _ := db.Next("stan", 999999); n != i {
			t.Fatalf("%d", n)
		}
	}
	db.Close()
	db2, err := Open(dir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if n, _ := db2.Next("stan", 3); n != 1 {
		t.Fatalf("wrap: %d", n)
	}
}

func TestBlockCountersCostOneCommitPerBlock(t *testing.T) {
	t.Parallel()
	db, dir := openTest(t)
	c := NewCounters(db, 999999, map[string]uint32{"stan": 100})
	before := db.Commits()
	for i := uint32(1); i <= 150; i++ {
		if n, err := c.Next("stan"); err != nil || n != i {
			t.Fatalf("%d: %v %d", i, err, n)
		}
	}
	if got := db.Commits() - before; got != 2 {
		t.Fatalf("%d commits for 150 numbers", got)
	}
	db.Close()
	db2, err := Open(dir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	// After a restart numbering goes on after the reserved block.
	if n, _ := NewCounters(db2, 999999, map[string]uint32{"stan": 100}).Next("stan"); n != 201 {
		t.Fatalf("after restart: %d", n)
	}
	if n, _ := NewCounters(db2, 250, map[string]uint32{"stan": 100}).Next("stan"); n != 1 {
		t.Fatalf("wrap: %d", n)
	}
}

func TestClosingABatchAdvancesTheBatchNumberInTheSameCommit(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	book(t, db, approved("tpay_1", daemon.KindSale, "A", 1000))
	before := db.Commits()
	if _, err := db.CloseBatch("EOD-1", time.Now(), false, "batch_x", "USD"); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.Counter(daemon.CounterBatch); n != 1 || db.Commits()-before != 1 {
		t.Fatalf("batch number %d after %d commits", n, db.Commits()-before)
	}
	// Replaying the close changes nothing.
	_, _ = db.CloseBatch("EOD-1", time.Now(), false, "batch_y", "USD")
	if n, _ := db.Counter(daemon.CounterBatch); n != 1 {
		t.Fatalf("replay advanced the batch number to %d", n)
	}
}

func TestSettlingBatchTakesNoMoreTransactionsAndSurvivesReopen(t *testing.T) {
	t.Parallel()
	db, dir := openTest(t)
	book(t, db, approved("tpay_1", daemon.KindSale, "A", 1000))
	if _, err := db.SettlingBatch(); !errors.Is(err, daemon.ErrNotFound) {
		t.Fatalf("settling batch before any close: %v", err)
	}
	before := db.Commits()
	s, err := db.BeginSettlement("EOD-1", false)
	if err != nil {
		t.Fatal(err)
	}
	if s.Status != daemon.BatchSettling || s.Reference != "EOD-1" || s.HostBatch != 1 || db.Commits()-before != 1 {
		t.Fatalf("settling batch %+v after %d commits", s, db.Commits()-before)
	}
	if n, _ := db.Counter(daemon.CounterBatch); n != 1 {
		t.Fatalf("batch number %d, want 1", n)
	}
	// A second begin, under any reference, returns the same batch.
	if again, err := db.BeginSettlement("EOD-OTHER", true); err != nil || again.ID != s.ID || again.Reference != "EOD-1" {
		t.Fatalf("second begin: %+v %v", again, err)
	}
	if n, _ := db.Counter(daemon.CounterBatch); n != 1 {
		t.Fatalf("second begin advanced the batch number to %d", n)
	}
	// The next sale opens a new batch.
	book(t, db, approved("tpay_2", daemon.KindSale, "B", 700))
	open, err := db.OpenBatch()
	if err != nil || open.ID == s.ID || open.SaleAmount != 700 {
		t.Fatalf("open batch %+v %v", open, err)
	}
	if _, err := db.BatchByReference("EOD-1"); !errors.Is(err, daemon.ErrNotFound) {
		t.Fatalf("a settling batch is not closed yet: %v", err)
	}

	db.Close()
	db, err = Open(dir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.SettlingBatch()
	if err != nil || got.ID != s.ID || got.SaleAmount != 1000 || got.HostBatch != 1 {
		t.Fatalf("settling batch after reopen: %+v %v", got, err)
	}
	closed, err := db.FinishSettlement(s.ID, time.Now())
	if err != nil || closed.Status != daemon.BatchClosed || closed.ClosedAt.IsZero() {
		t.Fatalf("finish: %+v %v", closed, err)
	}
	if b, err := db.BatchByReference("EOD-1"); err != nil || b.ID != s.ID {
		t.Fatalf("closed batch by reference: %+v %v", b, err)
	}
	if _, err := db.SettlingBatch(); !errors.Is(err, daemon.ErrNotFound) {
		t.Fatalf("settling batch after finish: %v", err)
	}
	if _, err := db.FinishSettlement(s.ID, time.Now()); err != nil {
		t.Fatalf("finishing twice: %v", err)
	}
	if _, err := db.FinishSettlement(open.ID, time.Now()); err == nil {
		t.Fatal("an open batch was finished without beginning settlement")
	}
}

func TestReopenSettlementUndoesBeginSettlement(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	book(t, db, approved("tpay_1", daemon.KindSale, "A", 1000))
	s, err := db.BeginSettlement("EOD-1", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.ReopenSettlement(s.ID); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.Counter(daemon.CounterBatch); n != 0 {
		t.Fatalf("batch number %d after reopening, want 0", n)
	}
	if _, err := db.SettlingBatch(); !errors.Is(err, daemon.ErrNotFound) {
		t.Fatalf("still settling: %v", err)
	}
	book(t, db, approved("tpay_2", daemon.KindSale, "B", 500))
	open, err := db.OpenBatch()
	if err != nil || open.ID != s.ID || open.Status != daemon.BatchOpen || open.Reference != "" || open.HostBatch != 0 || open.SaleAmount != 1500 {
		t.Fatalf("reopened batch %+v %v", open, err)
	}
	// Once a new batch was opened behind a settling one, it cannot reopen.
	s, _ = db.BeginSettlement("EOD-2", false)
	book(t, db, approved("tpay_3", daemon.KindSale, "C", 700))
	if err := db.ReopenSettlement(s.ID); err == nil {
		t.Fatal("reopened a settling batch with a newer batch open")
	}
	if got, err := db.SettlingBatch(); err != nil || got.ID != s.ID {
		t.Fatalf("the refused reopen changed the settling batch: %+v %v", got, err)
	}
}
