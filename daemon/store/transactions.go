package store

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/vinr/cashlessd/daemon"
)

// CreateTransaction writes a new pending transaction and indexes it under
// its reference, in one commit; it refuses (daemon.ErrReferenceTaken) an
// attempt the reference namespace does not allow (daemon.ReferenceHolder).
func (s *DB) CreateTransaction(t *daemon.Transaction) error {
	if !s.readOnly {
		if err := s.roomForWork(); err != nil {
			return err
		}
	}
	return s.update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketTransactions).Get([]byte(t.ID)) != nil {
			return fmt.Errorf("transaction %s already exists", t.ID)
		}
		if err := claimReference(tx, t); err != nil {
			return err
		}
		if err := s.putTx(tx, t); err != nil {
			return err
		}
		return tx.Bucket(bucketPending).Put([]byte(t.ID), nil)
	})
}

// UpdateTransaction rewrites a transaction's record and its reversal flag.
func (s *DB) UpdateTransaction(t *daemon.Transaction) error {
	return s.update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketTransactions).Get([]byte(t.ID)) == nil {
			return daemon.ErrNotFound
		}
		return s.putTransaction(tx, t)
	})
}

// putTransaction writes the record and keeps the reversal and advice
// queues in step with its flags.
func (s *DB) putTransaction(tx *bolt.Tx, t *daemon.Transaction) error {
	if err := s.putTx(tx, t); err != nil {
		return err
	}
	if err := queue(tx.Bucket(bucketReversals), t.ID, t.ReversalPending); err != nil {
		return err
	}
	return queue(tx.Bucket(bucketAdvices), t.ID, t.AdvicePending)
}

// queue adds id to a queue bucket or takes it out.
func queue(b *bolt.Bucket, id string, in bool) error {
	if in {
		return b.Put([]byte(id), nil)
	}
	return b.Delete([]byte(id))
}

// FinishTransaction writes a final transaction with its indexes, the
// original's bookkeeping and the open batch, in one commit.
func (s *DB) FinishTransaction(t *daemon.Transaction, newBatchID string) error {
	if !t.Final() {
		return fmt.Errorf("transaction %s is not final", t.ID)
	}
	return s.update(func(tx *bolt.Tx) error { return s.finish(tx, t, newBatchID) })
}

// Import books transactions that are already final, many per commit: for
// migrations and for building large histories. Each gets the same indexes
// and batch bookkeeping as FinishTransaction; newBatchID is asked for an ID
// whenever a batch must be opened.
func (s *DB) Import(txs []*daemon.Transaction, newBatchID func() string) error {
	return s.update(func(tx *bolt.Tx) error {
		for _, t := range txs {
			if !t.Final() {
				return fmt.Errorf("transaction %s is not final", t.ID)
			}
			if err := s.finish(tx, t, newBatchID()); err != nil {
				return err
			}
		}
		return nil
	})
}

// finish is FinishTransaction inside a bbolt transaction.
func (s *DB) finish(tx *bolt.Tx, t *daemon.Transaction, newBatchID string) error {
	meta := tx.Bucket(bucketMeta)
	if err := indexAttempt(tx, t); err != nil {
		return err
	}
	if t.Status == daemon.StatusApproved {
		refs := tx.Bucket(bucketRefs)
		key := refKey(t.Kind, t.Reference)
		if id := refs.Get(key); id != nil && string(id) != t.ID {
			return fmt.Errorf("reference %q already approved as %s", t.Reference, id)
		}
		if err := refs.Put(key, []byte(t.ID)); err != nil {
			return err
		}
		if err := s.bookOriginal(tx, t); err != nil {
			return err
		}
		if err := s.bookHold(tx, t); err != nil {
			return err
		}
		if t.Kind != daemon.KindPreauth {
			if err := joinBatch(tx, t, newBatchID); err != nil {
				return err
			}
		}
	}
	if err := s.putTransaction(tx, t); err != nil {
		return err
	}
	if err := tx.Bucket(bucketPending).Delete([]byte(t.ID)); err != nil {
		return err
	}
	if t.Receipts != nil {
		if err := meta.Put(keyLastReceipt, []byte(t.ID)); err != nil {
			return err
		}
	}
	return meta.Put(keyLastTx, []byte(t.ID))
}

// bookOriginal records a completion on its pre-auth and a refund on its
// sale or completion.
func (s *DB) bookOriginal(tx *bolt.Tx, t *daemon.Transaction) error {
	if t.OriginalID == "" || (t.Kind != daemon.KindRefund && t.Kind != daemon.KindCompletion) {
		return nil
	}
	var orig daemon.Transaction
	if err := s.getTx(tx, []byte(t.OriginalID), &orig); err != nil {
		return fmt.Errorf("original %s: %w", t.OriginalID, err)
	}
	switch t.Kind {
	case daemon.KindRefund:
		if orig.RefundedAmount+t.TotalAmount() > orig.TotalAmount() {
			return fmt.Errorf("refunds would exceed %s's captured amount", orig.ID)
		}
		orig.RefundedAmount += t.TotalAmount()
	case daemon.KindCompletion:
		if orig.CompletionID != "" {
			return fmt.Errorf("pre-auth %s already completed", orig.ID)
		}
		orig.CompletionID = t.ID
		orig.CapturedAmount = t.TotalAmount()
	}
	return s.putTx(tx, &orig)
}

// Transaction returns a transaction by ID.
func (s *DB) Transaction(id string) (*daemon.Transaction, error) {
	var t daemon.Transaction
	err := s.db.View(func(tx *bolt.Tx) error {
		return s.loadTx(tx, []byte(id), &t)
	})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// ApprovedByReference looks the reference up in the index. The receipts
// are not laid out (see daemon.Store).
func (s *DB) ApprovedByReference(kind daemon.Kind, ref string) (*daemon.Transaction, error) {
	var t daemon.Transaction
	err := s.db.View(func(tx *bolt.Tx) error {
		id := tx.Bucket(bucketRefs).Get(refKey(kind, ref))
		if id == nil {
			return daemon.ErrNotFound
		}
		return s.getTx(tx, id, &t)
	})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// byMetaPointer loads the transaction a meta key points to.
func (s *DB) byMetaPointer(key []byte) (*daemon.Transaction, error) {
	var t daemon.Transaction
	err := s.db.View(func(tx *bolt.Tx) error {
		id := tx.Bucket(bucketMeta).Get(key)
		if id == nil {
			return daemon.ErrNotFound
		}
		return s.loadTx(tx, id, &t)
	})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// LastTransaction returns the most recently finished transaction.
func (s *DB) LastTransaction() (*daemon.Transaction, error) { return s.byMetaPointer(keyLastTx) }

// LastReceipt returns the most recent transaction with receipts.
func (s *DB) LastReceipt() (*daemon.Transaction, error) { return s.byMetaPointer(keyLastReceipt) }

// listed loads every transaction whose ID is a key of the bucket.
func (s *DB) listed(bucket []byte) ([]*daemon.Transaction, error) {
	var out []*daemon.Transaction
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(id, _ []byte) error {
			var t daemon.Transaction
			if err := s.loadTx(tx, id, &t); err != nil {
				if errors.Is(err, daemon.ErrNotFound) {
					return nil
				}
				return err
			}
			out = append(out, &t)
			return nil
		})
	})
	return out, err
}

// PendingTransactions returns every transaction not yet final.
func (s *DB) PendingTransactions() ([]*daemon.Transaction, error) { return s.listed(bucketPending) }

// PendingReversals returns every transaction whose reversal waits.
func (s *DB) PendingReversals() ([]*daemon.Transaction, error) { return s.listed(bucketReversals) }

// PendingAdvices returns every offline approval whose advice waits.
func (s *DB) PendingAdvices() ([]*daemon.Transaction, error) { return s.listed(bucketAdvices) }

// CountPendingReversals counts the reversal queue without loading it.
func (s *DB) CountPendingReversals() (int, error) {
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketReversals).Stats().KeyN
		return nil
	})
	return n, err
}
