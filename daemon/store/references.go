package store

import (
	"bytes"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/vinr/cashlessd/daemon"
)

// bucketAttempts indexes every attempt under a reference, across kinds:
// key reference NUL transaction ID, value the kind. CreateTransaction
// writes it in the commit that creates the attempt. It is not among
// allBuckets: a database written before it existed gets it (and its
// entries) at the first read-write open (indexAttempts), and one opened
// read-only without it is searched by a scan instead.
var bucketAttempts = []byte("ref_attempts")

// attemptKey is the index key of one attempt.
func attemptKey(ref, id string) []byte {
	k := make([]byte, 0, len(ref)+1+len(id))
	k = append(k, ref...)
	k = append(k, 0)
	return append(k, id...)
}

// claimReference checks the reference namespace for a new attempt and
// indexes it, inside CreateTransaction's commit.
func claimReference(tx *bolt.Tx, t *daemon.Transaction) error {
	prev, err := attempts(tx, t.Reference, func(raw []byte, t *daemon.Transaction) error {
		_, err := decodeTx(raw, t) // the namespace needs no receipts
		return err
	})
	if err != nil {
		return err
	}
	if h := daemon.ReferenceHolder(prev, t.Kind); h != nil {
		return fmt.Errorf("%w by %s %s (%s)", daemon.ErrReferenceTaken, h.Kind, h.ID, h.Status)
	}
	return indexAttempt(tx, t)
}

// indexAttempt writes one attempt's index entry (again, harmlessly, when
// it is there).
func indexAttempt(tx *bolt.Tx, t *daemon.Transaction) error {
	b := tx.Bucket(bucketAttempts)
	if b == nil {
		return nil
	}
	return b.Put(attemptKey(t.Reference, t.ID), []byte(t.Kind))
}

// attempts loads (with load) every transaction under the reference,
// oldest first: from the index, or by a scan of every record when the
// database was opened read-only before the index existed.
func attempts(tx *bolt.Tx, ref string, load func(raw []byte, t *daemon.Transaction) error) ([]*daemon.Transaction, error) {
	txs := tx.Bucket(bucketTransactions)
	var out []*daemon.Transaction
	b := tx.Bucket(bucketAttempts)
	if b == nil {
		err := txs.ForEach(func(_, raw []byte) error {
			var t daemon.Transaction
			if _, err := decodeTx(raw, &t); err != nil {
				return err
			}
			if t.Reference == ref {
				if err := load(raw, &t); err != nil {
					return err
				}
				out = append(out, &t)
			}
			return nil
		})
		daemon.SortAttempts(out)
		return out, err
	}
	prefix := attemptKey(ref, "")
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		var t daemon.Transaction
		raw := txs.Get(k[len(prefix):])
		if raw == nil {
			return nil, fmt.Errorf("attempt %s of reference %q: %w", k[len(prefix):], ref, daemon.ErrNotFound)
		}
		if err := load(raw, &t); err != nil {
			return nil, fmt.Errorf("attempt %s of reference %q: %w", k[len(prefix):], ref, err)
		}
		out = append(out, &t)
	}
	daemon.SortAttempts(out)
	return out, nil
}

// ReferenceAttempts returns every transaction created under the
// reference, across kinds, oldest first; an empty list when it was never
// seen.
func (s *DB) ReferenceAttempts(ref string) ([]*daemon.Transaction, error) {
	var out []*daemon.Transaction
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		out, err = attempts(tx, ref, func(raw []byte, t *daemon.Transaction) error { return s.decodeRecord(tx, raw, t) })
		return err
	})
	return out, err
}

// kindAndReference reads only a record's kind and reference.
func kindAndReference(raw []byte) (daemon.Transaction, error) {
	var t daemon.Transaction
	if len(raw) > 0 && raw[0] != recordFormat {
		var kr struct {
			Kind      daemon.Kind `json:"kind"`
			Reference string      `json:"reference"`
		}
		err := json.Unmarshal(raw, &kr)
		t.Kind, t.Reference = kr.Kind, kr.Reference
		return t, err
	}
	_, err := decodeTx(raw, &t)
	return t, err
}

// indexAttempts creates the attempts index when it is missing and adds
// the records written without it (by a release before it, or by one run
// after a downgrade). Transaction IDs sort by creation time, so it walks
// back from the newest record and stops at the first one indexed: at the
// first open after an upgrade it indexes every record once, afterwards it
// reads one.
func indexAttempts(tx *bolt.Tx) error {
	b, err := tx.CreateBucketIfNotExists(bucketAttempts)
	if err != nil {
		return err
	}
	c := tx.Bucket(bucketTransactions).Cursor()
	for id, raw := c.Last(); id != nil; id, raw = c.Prev() {
		t, err := kindAndReference(raw)
		if err != nil {
			return fmt.Errorf("transaction %s: %w", id, err)
		}
		key := attemptKey(t.Reference, string(id))
		if b.Get(key) != nil {
			return nil
		}
		if err := b.Put(key, []byte(t.Kind)); err != nil {
			return err
		}
	}
	return nil
}
