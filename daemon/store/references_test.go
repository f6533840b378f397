package store

import (
	"errors"
	"fmt"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/vinr/cashlessd/daemon"
)

// attemptIDs lists the IDs ReferenceAttempts returns for ref.
func attemptIDs(t *testing.T, db *DB, ref string) []string {
	t.Helper()
	list, err := db.ReferenceAttempts(ref)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(list))
	for i, a := range list {
		ids[i] = a.ID
	}
	return ids
}

// finishAs books a created transaction with a final status.
func finishAs(t *testing.T, db *DB, tx *daemon.Transaction, s daemon.Status) {
	t.Helper()
	tx.Status = s
	tx.CompletedAt = time.Now().UTC()
	if err := db.FinishTransaction(tx, "batch_"+tx.ID); err != nil {
		t.Fatal(err)
	}
}

func TestReferenceNamespaceAcrossKinds(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	if ids := attemptIDs(t, db, "ORDER-1"); len(ids) != 0 {
		t.Fatalf("unknown reference has attempts %v", ids)
	}
	first := approved("tpay_01", daemon.KindSale, "ORDER-1", 1000)
	if err := db.CreateTransaction(first); err != nil {
		t.Fatal(err)
	}
	// Running: nothing else may start under the reference.
	if err := db.CreateTransaction(approved("tpay_02", daemon.KindSale, "ORDER-1", 1000)); !errors.Is(err, daemon.ErrReferenceTaken) {
		t.Fatalf("second attempt while the first is pending: %v", err)
	}
	finishAs(t, db, first, daemon.StatusDeclined)
	// Declined: another kind is still refused, the same kind retries.
	if err := db.CreateTransaction(approved("tpay_03", daemon.KindPreauth, "ORDER-1", 1000)); !errors.Is(err, daemon.ErrReferenceTaken) {
		t.Fatalf("pre-auth under a declined sale's reference: %v", err)
	}
	second := approved("tpay_04", daemon.KindSale, "ORDER-1", 900)
	if err := db.CreateTransaction(second); err != nil {
		t.Fatalf("retry after a decline: %v", err)
	}
	finishAs(t, db, second, daemon.StatusApproved)
	for _, kind := range []daemon.Kind{daemon.KindSale, daemon.KindPreauth, daemon.KindRefund, daemon.KindCompletion} {
		if err := db.CreateTransaction(approved("tpay_05"+string(kind), kind, "ORDER-1", 1)); !errors.Is(err, daemon.ErrReferenceTaken) {
			t.Fatalf("%s under an approved reference: %v", kind, err)
		}
	}
	if got := fmt.Sprint(attemptIDs(t, db, "ORDER-1")); got != "[tpay_01 tpay_04]" {
		t.Fatalf("attempts %s", got)
	}
	if got := fmt.Sprint(attemptIDs(t, db, "ORDER-")); got != "[]" {
		t.Fatalf("a prefix of a reference matched: %s", got)
	}
}

// TestAttemptsIndexBuiltForOlderDatabase opens a database as the release
// before the index wrote it (the same records without the ref_attempts
// bucket) and finds every attempt, then keeps indexing.
func TestAttemptsIndexBuiltForOlderDatabase(t *testing.T) {
	t.Parallel()
	db, dir := openTest(t)
	declined := approved("tpay_01", daemon.KindSale, "ORDER-1", 1000)
	if err := db.CreateTransaction(declined); err != nil {
		t.Fatal(err)
	}
	finishAs(t, db, declined, daemon.StatusDeclined)
	book(t, db, approved("tpay_02", daemon.KindSale, "ORDER-1", 1000))
	book(t, db, approved("tpay_03", daemon.KindPreauth, "HOLD-1", 5000))
	if err := db.db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketAttempts) }); err != nil {
		t.Fatal(err)
	}
	// Without the bucket (a read-only open of an old file) a scan answers.
	if got := fmt.Sprint(attemptIDs(t, db, "ORDER-1")); got != "[tpay_01 tpay_02]" {
		t.Fatalf("scan: %s", got)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := Open(dir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := fmt.Sprint(attemptIDs(t, db, "ORDER-1")); got != "[tpay_01 tpay_02]" {
		t.Fatalf("after upgrade: %s", got)
	}
	if got := fmt.Sprint(attemptIDs(t, db, "HOLD-1")); got != "[tpay_03]" {
		t.Fatalf("after upgrade: %s", got)
	}
	if err := db.CreateTransaction(approved("tpay_04", daemon.KindSale, "HOLD-1", 1)); !errors.Is(err, daemon.ErrReferenceTaken) {
		t.Fatalf("sale under an approved pre-auth's reference after upgrade: %v", err)
	}
	// A record written later without the index (a downgrade) is picked up
	// at the next open.
	late := approved("tpay_05", daemon.KindSale, "LATE", 1)
	late.Status = daemon.StatusApproved
	if err := db.db.Update(func(tx *bolt.Tx) error { return putJSON(tx.Bucket(bucketTransactions), []byte(late.ID), late) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(dir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := fmt.Sprint(attemptIDs(t, db, "LATE")); got != "[tpay_05]" {
		t.Fatalf("record written without the index: %s", got)
	}
}

// BenchmarkLookupByReference is the cost of a lookup's store read (the
// attempts under one reference) in a database of 100k approved sales;
// the set-up is outside the timing. make bench measures it over HTTP.
func BenchmarkLookupByReference(b *testing.B) {
	db, err := Open(b.TempDir(), time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	const n, chunk = 100_000, 10_000
	now := time.Now().UTC()
	for i := 0; i < n; i += chunk {
		txs := make([]*daemon.Transaction, 0, chunk)
		for j := i; j < i+chunk; j++ {
			txs = append(txs, &daemon.Transaction{ID: fmt.Sprintf("tpay_%08d", j), Kind: daemon.KindSale,
				Reference: fmt.Sprintf("ORDER-%d", j), Status: daemon.StatusApproved, Amount: 100, Currency: "USD",
				StartedAt: now, CompletedAt: now})
		}
		batch := 0
		if err := db.Import(txs, func() string { batch++; return fmt.Sprintf("batch_%d_%d", i, batch) }); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		list, err := db.ReferenceAttempts(fmt.Sprintf("ORDER-%d", (i*7919)%n))
		if err != nil || len(list) != 1 {
			b.Fatal(err, len(list))
		}
	}
}
