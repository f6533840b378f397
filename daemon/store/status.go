package store

import (
	"errors"

	bolt "go.etcd.io/bbolt"

	"github.com/vinr/cashlessd/daemon"
)

// statusEntry is the store's part of status as read after a number of
// commits.
type statusEntry struct {
	commits uint64
	summary daemon.StoreSummary
}

// StatusSummary is what status reports from the store: the last finished
// transaction, the open and settling batches and the depth of the
// reversal and advice queues. It is read in one bbolt transaction after
// each commit and kept: polls between commits read no bbolt transaction
// and decode no record. The summary's transaction and batches are shared
// by every caller until the next commit and must not be changed.
func (s *DB) StatusSummary() (daemon.StoreSummary, error) {
	// The count is read before the database: a commit that lands while
	// the summary is read makes the next call read it again.
	commits := s.commits.Load()
	if e := s.status.Load(); e != nil && e.commits == commits {
		return e.summary, nil
	}
	var sum daemon.StoreSummary
	err := s.db.View(func(tx *bolt.Tx) error {
		meta, txs := tx.Bucket(bucketMeta), tx.Bucket(bucketTransactions)
		if id := meta.Get(keyLastTx); id != nil {
			var t daemon.Transaction
			if err := s.loadTx(tx, id, &t); err != nil {
				if !errors.Is(err, daemon.ErrNotFound) {
					return err
				}
			} else {
				sum.LastTransaction = &t
			}
		}
		// As status always did, a batch or queue that cannot be read
		// leaves its part empty rather than failing status.
		sum.OpenBatch = batchIn(tx, keyOpenBatch)
		sum.SettlingBatch = batchIn(tx, keySettling)
		sum.PendingReversals = countListed(tx.Bucket(bucketReversals), txs)
		sum.PendingAdvices = countListed(tx.Bucket(bucketAdvices), txs)
		return nil
	})
	if err != nil {
		return daemon.StoreSummary{}, err
	}
	s.status.Store(&statusEntry{commits: commits, summary: sum})
	return sum, nil
}

// batchIn is the batch a meta key points to, or nil.
func batchIn(tx *bolt.Tx, key []byte) *daemon.Batch {
	id := tx.Bucket(bucketMeta).Get(key)
	if id == nil {
		return nil
	}
	var b daemon.Batch
	if err := getJSON(tx.Bucket(bucketBatches), id, &b); err != nil {
		return nil
	}
	return &b
}

// countListed counts the IDs of a queue bucket whose transaction exists:
// what listing the queue would return.
func countListed(queue, txs *bolt.Bucket) int {
	n := 0
	_ = queue.ForEach(func(id, _ []byte) error {
		if txs.Get(id) != nil {
			n++
		}
		return nil
	})
	return n
}
