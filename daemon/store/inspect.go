package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/vinr/cashlessd/daemon"
)

// maxProblems is how many consistency problems Check reports.
const maxProblems = 5

// Health is what Check found in a database file.
type Health struct {
	// Schema is the layout version the file was written with.
	Schema uint64
	// Problems are the first consistency errors bbolt found; none when the
	// file is sound.
	Problems []string
	// Transactions and Batches count the stored records.
	Transactions, Batches int
	// Pending, Reversals and Advices count the queues the daemon works
	// off at start: transactions not yet final, reversals and advices
	// (offline approvals) the host has not acknowledged.
	Pending, Reversals, Advices int
}

// Queued is how many pending transactions, reversals and advices wait.
func (h Health) Queued() int { return h.Pending + h.Reversals + h.Advices }

// Check opens the database in dir read-only, runs bbolt's consistency
// check and counts the records and queues. It never writes. The error is
// about opening the file: ErrLocked when another process (the running
// daemon) holds it longer than lockWait; what the check finds is in
// Health.Problems.
func Check(dir string, lockWait time.Duration) (Health, error) {
	var h Health
	db, err := openReadOnly(dir, lockWait)
	if err != nil {
		return h, err
	}
	defer db.Close()
	err = view(db, func(tx *bolt.Tx) error {
		for e := range tx.Check() {
			if len(h.Problems) < maxProblems {
				h.Problems = append(h.Problems, e.Error())
			}
		}
		count := func(name []byte) int {
			if b := tx.Bucket(name); b != nil {
				return b.Stats().KeyN
			}
			return 0
		}
		h.Transactions, h.Batches = count(bucketTransactions), count(bucketBatches)
		h.Pending, h.Reversals, h.Advices = count(bucketPending), count(bucketReversals), count(bucketAdvices)
		if b := tx.Bucket(bucketMeta); b != nil {
			if v := b.Get(keySchema); len(v) == 8 {
				h.Schema = binary.BigEndian.Uint64(v)
			}
		}
		return nil
	})
	if err != nil {
		h.Problems = append(h.Problems, err.Error())
	}
	return h, nil
}

// Contents is everything the database holds that reconciliation with an
// acquirer's books needs, read in one view.
type Contents struct {
	// Transactions and Batches are the records by ID.
	Transactions map[string]*daemon.Transaction
	Batches      map[string]*daemon.Batch
	// Refs is the approved-reference index: RefKey(kind, reference) →
	// transaction ID.
	Refs map[string]string
	// BatchRefs maps a batch close's reference to the batch ID.
	BatchRefs map[string]string
	// Pending, Reversals and Advices are the IDs in each queue.
	Pending, Reversals, Advices map[string]bool
	// OpenBatch is the ID of the batch new approvals join.
	OpenBatch string
}

// RefKey is the key of Contents.Refs for a kind and reference.
func RefKey(kind daemon.Kind, ref string) string { return string(refKey(kind, ref)) }

// Inspect opens the database in dir read-only (it must not be in use),
// checks bbolt's consistency, and reads every record, index and queue. A
// file that is not consistent, or a record that does not decode, is an
// error.
func Inspect(dir string, lockWait time.Duration) (*Contents, error) {
	c := &Contents{Transactions: map[string]*daemon.Transaction{}, Batches: map[string]*daemon.Batch{},
		Refs: map[string]string{}, BatchRefs: map[string]string{},
		Pending: map[string]bool{}, Reversals: map[string]bool{}, Advices: map[string]bool{}}
	db, err := openReadOnly(dir, lockWait)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	err = view(db, func(tx *bolt.Tx) error {
		var problems []string
		for e := range tx.Check() {
			problems = append(problems, e.Error())
		}
		if len(problems) > 0 {
			return fmt.Errorf("bbolt check: %s", strings.Join(problems, "; "))
		}
		if tx.Bucket(bucketTransactions) == nil {
			return errors.New("no transactions bucket")
		}
		records := &DB{db: db, readOnly: true}
		if err := each(tx, bucketTransactions, func(k, v []byte) error {
			var t daemon.Transaction
			if err := records.decodeRecord(tx, v, &t); err != nil {
				return fmt.Errorf("transaction %s: %w", k, err)
			}
			c.Transactions[string(k)] = &t
			return nil
		}); err != nil {
			return err
		}
		if err := each(tx, bucketBatches, func(k, v []byte) error {
			var b daemon.Batch
			if err := json.Unmarshal(v, &b); err != nil {
				return fmt.Errorf("batch %s: %w", k, err)
			}
			c.Batches[string(k)] = &b
			return nil
		}); err != nil {
			return err
		}
		for name, index := range map[string]map[string]string{string(bucketRefs): c.Refs, string(bucketBatchRefs): c.BatchRefs} {
			_ = each(tx, []byte(name), func(k, v []byte) error { index[string(k)] = string(v); return nil })
		}
		for name, ids := range map[string]map[string]bool{string(bucketPending): c.Pending, string(bucketReversals): c.Reversals, string(bucketAdvices): c.Advices} {
			_ = each(tx, []byte(name), func(k, _ []byte) error { ids[string(k)] = true; return nil })
		}
		if m := tx.Bucket(bucketMeta); m != nil {
			c.OpenBatch = string(m.Get(keyOpenBatch))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// each runs fn over a bucket's keys; a missing bucket has none.
func each(tx *bolt.Tx, bucket []byte, fn func(k, v []byte) error) error {
	b := tx.Bucket(bucket)
	if b == nil {
		return nil
	}
	return b.ForEach(fn)
}

// openReadOnly opens the database in dir read-only, creating nothing.
// bbolt panics on some kinds of damage instead of returning an error: that
// is an error too.
func openReadOnly(dir string, lockWait time.Duration) (db *bolt.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("the database is damaged: %v", r)
		}
	}()
	db, err = bolt.Open(filepath.Join(dir, FileName), 0o600, &bolt.Options{ReadOnly: true, Timeout: lockWait})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, ErrLocked
	}
	return db, err
}

// view runs fn in a read transaction; a panic on damage is an error.
func view(db *bolt.DB, fn func(*bolt.Tx) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the database is damaged: %v", r)
		}
	}()
	return db.View(fn)
}

// CommitRate measures how many commits per second the disk of dir takes,
// each writing one value of valueSize bytes, on a scratch database in dir:
// the ceiling a sale's commits are compared with.
func CommitRate(dir string, n, valueSize int) (float64, error) {
	db, err := bolt.Open(filepath.Join(dir, "ceiling.db"), 0o600, nil)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	value := []byte(strings.Repeat("x", valueSize))
	start := time.Now()
	for i := 0; i < n; i++ {
		err := db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte("t"))
			if err != nil {
				return err
			}
			return b.Put([]byte(fmt.Sprintf("%012d", i)), value)
		})
		if err != nil {
			return 0, err
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}
