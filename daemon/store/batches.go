package store

import (
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/vinr/cashlessd/daemon"
)

// maxBatchNumber is the last acquirer batch number (six digits); the
// counter wraps to 1 after it.
const maxBatchNumber = 999999

// joinBatch adds an approved capture or refund to the open batch, opening a
// new batch with newID when none is open. Totals are kept on the batch, so
// closing it needs no scan.
func joinBatch(tx *bolt.Tx, t *daemon.Transaction, newID string) error {
	meta := tx.Bucket(bucketMeta)
	batches := tx.Bucket(bucketBatches)
	var b daemon.Batch
	if id := meta.Get(keyOpenBatch); id != nil {
		if err := getJSON(batches, id, &b); err != nil {
			return err
		}
	} else {
		b = daemon.Batch{ID: newID, Status: daemon.BatchOpen, Currency: t.Currency, OpenedAt: t.CompletedAt.UTC()}
		if err := meta.Put(keyOpenBatch, []byte(newID)); err != nil {
			return err
		}
	}
	b.Add(t)
	t.BatchID = b.ID
	members := tx.Bucket(bucketBatchMembers)
	members.FillPercent = appendFill // batch IDs and transaction IDs grow with time
	if err := members.Put([]byte(b.ID+"/"+t.ID), nil); err != nil {
		return err
	}
	return putJSON(batches, []byte(b.ID), &b)
}

// OpenBatch returns the open batch.
func (s *DB) OpenBatch() (*daemon.Batch, error) { return s.batchAt(bucketMeta, keyOpenBatch) }

// SettlingBatch returns the batch being settled.
func (s *DB) SettlingBatch() (*daemon.Batch, error) { return s.batchAt(bucketMeta, keySettling) }

// BatchByReference returns the batch closed under the reference.
func (s *DB) BatchByReference(ref string) (*daemon.Batch, error) {
	return s.batchAt(bucketBatchRefs, []byte(ref))
}

// batchAt loads the batch whose ID is stored under key in bucket, or
// returns daemon.ErrNotFound.
func (s *DB) batchAt(bucket, key []byte) (*daemon.Batch, error) {
	var b daemon.Batch
	err := s.db.View(func(tx *bolt.Tx) error {
		id := tx.Bucket(bucket).Get(key)
		if id == nil {
			return daemon.ErrNotFound
		}
		return getJSON(tx.Bucket(bucketBatches), id, &b)
	})
	if err != nil {
		return nil, err
	}
	return &b, nil
}

// CloseBatch closes the open batch under the reference; with no open batch
// it records an empty closed batch with emptyID. A reference that already
// closed a batch returns that batch unchanged.
func (s *DB) CloseBatch(ref string, closedAt time.Time, automatic bool, emptyID, currency string) (*daemon.Batch, error) {
	var b daemon.Batch
	err := s.update(func(tx *bolt.Tx) error {
		refs := tx.Bucket(bucketBatchRefs)
		batches := tx.Bucket(bucketBatches)
		if id := refs.Get([]byte(ref)); id != nil {
			return getJSON(batches, id, &b)
		}
		meta := tx.Bucket(bucketMeta)
		if id := meta.Get(keyOpenBatch); id != nil {
			if err := getJSON(batches, id, &b); err != nil {
				return err
			}
		} else {
			b = daemon.Batch{ID: emptyID, Currency: currency, OpenedAt: closedAt.UTC()}
		}
		b.Status = daemon.BatchClosed
		b.Reference = ref
		b.ClosedAt = closedAt.UTC()
		b.Automatic = automatic
		if err := meta.Delete(keyOpenBatch); err != nil {
			return err
		}
		if err := advance(tx, daemon.CounterBatch, 1, maxBatchNumber); err != nil {
			return err
		}
		if err := refs.Put([]byte(ref), []byte(b.ID)); err != nil {
			return err
		}
		return putJSON(batches, []byte(b.ID), &b)
	})
	if err != nil {
		return nil, err
	}
	return &b, nil
}

// BeginSettlement moves the open batch to settling under ref, fixes its
// acquirer batch number (the one its transactions were authorised under)
// and advances the batch counter, all in one commit. A settling batch
// already there is returned unchanged; with no open batch it returns
// daemon.ErrNotFound.
func (s *DB) BeginSettlement(ref string, automatic bool) (*daemon.Batch, error) {
	var b daemon.Batch
	err := s.update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		batches := tx.Bucket(bucketBatches)
		if id := meta.Get(keySettling); id != nil {
			return getJSON(batches, id, &b)
		}
		id := meta.Get(keyOpenBatch)
		if id == nil {
			return daemon.ErrNotFound
		}
		if err := getJSON(batches, id, &b); err != nil {
			return err
		}
		number, err := advanceValue(tx, daemon.CounterBatch, 1, maxBatchNumber)
		if err != nil {
			return err
		}
		b.Status = daemon.BatchSettling
		b.Reference = ref
		b.Automatic = automatic
		b.HostBatch = number
		if err := meta.Put(keySettling, []byte(b.ID)); err != nil {
			return err
		}
		if err := meta.Delete(keyOpenBatch); err != nil {
			return err
		}
		return putJSON(batches, []byte(b.ID), &b)
	})
	if err != nil {
		return nil, err
	}
	return &b, nil
}

// ReopenSettlement undoes BeginSettlement for a batch whose totals never
// reached the host: the batch is open again under its old batch number.
// It refuses (and changes nothing) when the batch is not the settling one
// or when a new batch was opened meanwhile.
func (s *DB) ReopenSettlement(batchID string) error {
	return s.update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		batches := tx.Bucket(bucketBatches)
		if string(meta.Get(keySettling)) != batchID {
			return fmt.Errorf("batch %s is not settling", batchID)
		}
		if id := meta.Get(keyOpenBatch); id != nil {
			return fmt.Errorf("batch %s was opened after %s began settling", id, batchID)
		}
		var b daemon.Batch
		if err := getJSON(batches, []byte(batchID), &b); err != nil {
			return err
		}
		previous := uint64(b.HostBatch) - 1
		if err := tx.Bucket(bucketCounters).Put([]byte(daemon.CounterBatch), u64(previous)); err != nil {
			return err
		}
		b.Status, b.Reference, b.Automatic, b.HostBatch = daemon.BatchOpen, "", false, 0
		if err := meta.Delete(keySettling); err != nil {
			return err
		}
		if err := meta.Put(keyOpenBatch, []byte(batchID)); err != nil {
			return err
		}
		return putJSON(batches, []byte(batchID), &b)
	})
}

// FinishSettlement closes the settling batch batchID under the reference
// it began settling with. A batch already closed is returned unchanged.
func (s *DB) FinishSettlement(batchID string, closedAt time.Time) (*daemon.Batch, error) {
	var b daemon.Batch
	err := s.update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		batches := tx.Bucket(bucketBatches)
		if err := getJSON(batches, []byte(batchID), &b); err != nil {
			return err
		}
		if b.Status == daemon.BatchClosed {
			return nil
		}
		if b.Status != daemon.BatchSettling || string(meta.Get(keySettling)) != batchID {
			return fmt.Errorf("batch %s is %s, not settling", batchID, b.Status)
		}
		b.Status = daemon.BatchClosed
		b.ClosedAt = closedAt.UTC()
		if err := meta.Delete(keySettling); err != nil {
			return err
		}
		if err := tx.Bucket(bucketBatchRefs).Put([]byte(b.Reference), []byte(b.ID)); err != nil {
			return err
		}
		return putJSON(batches, []byte(b.ID), &b)
	})
	if err != nil {
		return nil, err
	}
	return &b, nil
}

// BatchMembers returns the IDs of the transactions in a batch, in order.
func (s *DB) BatchMembers(batchID string) ([]string, error) {
	var ids []string
	prefix := []byte(batchID + "/")
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketBatchMembers).Cursor()
		for k, _ := c.Seek(prefix); k != nil && len(k) > len(prefix) && string(k[:len(prefix)]) == string(prefix); k, _ = c.Next() {
			ids = append(ids, string(k[len(prefix):]))
		}
		return nil
	})
	if errors.Is(err, daemon.ErrNotFound) {
		return nil, nil
	}
	return ids, err
}

// BatchTransactions returns the transactions of a batch, in order.
func (s *DB) BatchTransactions(batchID string) ([]*daemon.Transaction, error) {
	ids, err := s.BatchMembers(batchID)
	if err != nil {
		return nil, err
	}
	out := make([]*daemon.Transaction, 0, len(ids))
	for _, id := range ids {
		t, err := s.Transaction(id)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}
