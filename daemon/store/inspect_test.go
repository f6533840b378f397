package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vinr/cashlessd/daemon"
)

// fillQueues books a sale, leaves one transaction pending and one offline
// approval waiting for its advice, then closes the database.
func fillQueues(t *testing.T) string {
	t.Helper()
	db, dir := openTest(t)
	book(t, db, approved("tpay_1", daemon.KindSale, "ORDER-1", 1000))
	if err := db.CreateTransaction(approved("tpay_2", daemon.KindSale, "ORDER-2", 500)); err != nil {
		t.Fatal(err)
	}
	offline := approved("tpay_3", daemon.KindSale, "ORDER-3", 700)
	book(t, db, offline)
	offline.Offline, offline.AdvicePending = true, true
	if err := db.UpdateTransaction(offline); err != nil {
		t.Fatal(err)
	}
	if _, err := Check(dir, 50*time.Millisecond); !errors.Is(err, ErrLocked) {
		t.Errorf("Check beside the open database: %v, want ErrLocked", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestCheckCountsRecordsAndEveryQueue(t *testing.T) {
	t.Parallel()
	dir := fillQueues(t)
	h, err := Check(dir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := Health{Schema: schemaVersion, Transactions: 3, Batches: 1, Pending: 1, Advices: 1}
	if h.Schema != want.Schema || h.Transactions != want.Transactions || h.Batches != want.Batches ||
		h.Pending != want.Pending || h.Reversals != 0 || h.Advices != want.Advices || len(h.Problems) != 0 {
		t.Errorf("health %+v, want %+v", h, want)
	}
	if h.Queued() != 2 {
		t.Errorf("queued %d, want 2 (one pending, one advice)", h.Queued())
	}
}

func TestInspectReadsRecordsIndexesAndQueues(t *testing.T) {
	t.Parallel()
	dir := fillQueues(t)
	c, err := Inspect(dir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Transactions) != 3 || c.Transactions["tpay_1"].Reference != "ORDER-1" {
		t.Errorf("transactions: %+v", c.Transactions)
	}
	if c.Refs[RefKey(daemon.KindSale, "ORDER-1")] != "tpay_1" {
		t.Errorf("reference index: %v", c.Refs)
	}
	if !c.Pending["tpay_2"] || len(c.Pending) != 1 || !c.Advices["tpay_3"] || len(c.Advices) != 1 || len(c.Reversals) != 0 {
		t.Errorf("queues: pending %v, advices %v, reversals %v", c.Pending, c.Advices, c.Reversals)
	}
	if c.OpenBatch == "" || c.Batches[c.OpenBatch] == nil {
		t.Errorf("open batch %q not among %v", c.OpenBatch, c.Batches)
	}
}

func TestCheckAndInspectReportAFileThatIsNoDatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	junk := bytes.Repeat([]byte("not a bbolt file "), 1000)
	if err := os.WriteFile(filepath.Join(dir, FileName), junk, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Check(dir, time.Second); err == nil {
		t.Error("Check opened a file that is no database")
	}
	if _, err := Inspect(dir, time.Second); err == nil {
		t.Error("Inspect opened a file that is no database")
	}
	if raw, _ := os.ReadFile(filepath.Join(dir, FileName)); !bytes.Equal(raw, junk) {
		t.Error("the file was changed")
	}
}
