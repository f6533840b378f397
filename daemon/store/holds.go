package store

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/vinr/cashlessd/daemon"
)

// bucketHolds indexes the approved pre-auths that still hold funds (key:
// transaction ID). It is created on first use and filled then from the
// transactions already stored, so databases from before it need no
// migration.
var bucketHolds = []byte("holds")

// isOpenHold reports whether t is an approved pre-auth whose hold was
// neither completed, released nor expired.
func isOpenHold(t *daemon.Transaction) bool {
	return t.Kind == daemon.KindPreauth && t.Status == daemon.StatusApproved && t.CompletionID == "" && t.HoldEnd == ""
}

// holdsIndex returns the holds index for writing, creating and filling it
// when it is missing.
func holdsIndex(tx *bolt.Tx) (*bolt.Bucket, error) {
	if b := tx.Bucket(bucketHolds); b != nil {
		return b, nil
	}
	b, err := tx.CreateBucket(bucketHolds)
	if err != nil {
		return nil, err
	}
	return b, tx.Bucket(bucketTransactions).ForEach(func(k, v []byte) error {
		var t daemon.Transaction
		if _, err := decodeTx(v, &t); err == nil && isOpenHold(&t) {
			return b.Put(k, nil)
		}
		return nil
	})
}

// bookHold keeps a pre-auth's hold and the index in step with a final
// transaction, in finish's commit: an approved pre-auth joins the index;
// an approved completion (booked on the pre-auth by bookOriginal) or
// release leaves it; an approved increment raises the hold and moves its
// expiry; a release ends the hold and queues the pre-auth's reversal.
func (s *DB) bookHold(tx *bolt.Tx, t *daemon.Transaction) error {
	if t.Status != daemon.StatusApproved {
		return nil
	}
	switch t.Kind {
	case daemon.KindPreauth, daemon.KindCompletion, daemon.KindIncrement, daemon.KindRelease:
	default:
		return nil
	}
	idx, err := holdsIndex(tx)
	if err != nil {
		return err
	}
	if t.Kind == daemon.KindPreauth {
		return idx.Put([]byte(t.ID), nil)
	}
	var orig daemon.Transaction
	if err := s.getTx(tx, []byte(t.OriginalID), &orig); err != nil {
		return fmt.Errorf("pre-auth %q of %s: %w", t.OriginalID, t.ID, err)
	}
	if orig.Kind != daemon.KindPreauth || orig.HoldEnd != "" || (orig.CompletionID != "" && t.Kind != daemon.KindCompletion) {
		return fmt.Errorf("pre-auth %s holds nothing (%s %s)", orig.ID, orig.HoldEnd, orig.CompletionID)
	}
	switch t.Kind {
	case daemon.KindIncrement:
		orig.IncrementedAmount += t.Amount
		orig.ExpiresAt = t.ExpiresAt
		return s.putTransaction(tx, &orig)
	case daemon.KindRelease:
		orig.HoldEnd, orig.ReleasedAt, orig.ReleaseID = daemon.HoldReleased, t.CompletedAt, t.ID
		orig.ReversalPending = true
		if err := s.putTransaction(tx, &orig); err != nil {
			return err
		}
	}
	return idx.Delete([]byte(orig.ID))
}

// OpenHolds returns the approved pre-auths that hold funds, from the
// index (built first when missing; a read-only database is scanned).
func (s *DB) OpenHolds() ([]*daemon.Transaction, error) {
	missing := false
	_ = s.db.View(func(tx *bolt.Tx) error {
		missing = tx.Bucket(bucketHolds) == nil
		return nil
	})
	if missing && !s.readOnly {
		if err := s.update(func(tx *bolt.Tx) error { _, err := holdsIndex(tx); return err }); err != nil {
			return nil, err
		}
	}
	var out []*daemon.Transaction
	err := s.db.View(func(tx *bolt.Tx) error {
		txs := tx.Bucket(bucketTransactions)
		idx := tx.Bucket(bucketHolds)
		if idx == nil {
			return txs.ForEach(func(_, v []byte) error {
				var t daemon.Transaction
				if _, err := decodeTx(v, &t); err == nil && isOpenHold(&t) {
					if err := s.decodeRecord(tx, v, &t); err != nil {
						return err
					}
					out = append(out, &t)
				}
				return nil
			})
		}
		return idx.ForEach(func(id, _ []byte) error {
			var t daemon.Transaction
			if err := s.loadTx(tx, id, &t); err != nil {
				return fmt.Errorf("hold %s: %w", id, err)
			}
			out = append(out, &t)
			return nil
		})
	})
	return out, err
}

// ExpireHold ends an open hold as expired at the time and queues the
// pre-auth's reversal, in one commit.
func (s *DB) ExpireHold(id string, at time.Time) (*daemon.Transaction, error) {
	var t daemon.Transaction
	err := s.update(func(tx *bolt.Tx) error {
		if err := s.getTx(tx, []byte(id), &t); err != nil {
			return err
		}
		if !isOpenHold(&t) {
			return fmt.Errorf("pre-auth %s holds nothing", id)
		}
		t.HoldEnd, t.ReleasedAt, t.ReversalPending = daemon.HoldExpired, at, true
		if err := s.putTransaction(tx, &t); err != nil {
			return err
		}
		idx, err := holdsIndex(tx)
		if err != nil {
			return err
		}
		return idx.Delete([]byte(id))
	})
	if err != nil {
		return nil, err
	}
	return &t, nil
}
