package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/vinr/cashlessd/daemon"
)

// VoidTransaction books an approved void in one commit: the void's record
// and reference, its original marked voided and queued for reversal (an
// advice still waiting is dropped: the host must never book it), the
// original taken out of the open batch's totals and members, and what the
// original booked on its own original (a refund's amount, a completion's
// capture) undone. It refuses, changing nothing, when the original is not
// an approved transaction of the open batch, or (daemon.ErrReferenceTaken)
// when the reference belongs to another transaction.
func (s *DB) VoidTransaction(v *daemon.Transaction) (*daemon.Transaction, error) {
	if v.Kind != daemon.KindVoid || v.Status != daemon.StatusApproved || v.OriginalID == "" {
		return nil, fmt.Errorf("transaction %s is not an approved void", v.ID)
	}
	var orig daemon.Transaction
	err := s.update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if err := s.getTx(tx, []byte(v.OriginalID), &orig); err != nil {
			return fmt.Errorf("original %s: %w", v.OriginalID, err)
		}
		switch {
		case orig.Status != daemon.StatusApproved:
			return fmt.Errorf("original %s is %s, not approved", orig.ID, orig.Status)
		case orig.Kind != daemon.KindSale && orig.Kind != daemon.KindCompletion && orig.Kind != daemon.KindRefund:
			return fmt.Errorf("original %s is a %s, which cannot be voided", orig.ID, orig.Kind)
		case orig.BatchID == "" || string(meta.Get(keyOpenBatch)) != orig.BatchID:
			return fmt.Errorf("original %s is not in the open batch", orig.ID)
		case orig.RefundedAmount > 0:
			return fmt.Errorf("original %s has refunds", orig.ID)
		}
		// The void's reference, in the one namespace and in the index of
		// approvals.
		if err := claimReference(tx, v); err != nil {
			return err
		}
		if err := tx.Bucket(bucketRefs).Put(refKey(v.Kind, v.Reference), []byte(v.ID)); err != nil {
			return err
		}
		if err := leaveBatch(tx, &orig); err != nil {
			return err
		}
		if err := s.unbookOriginal(tx, &orig); err != nil {
			return err
		}
		orig.Status = daemon.StatusVoided
		orig.ReversalPending = true
		orig.AdvicePending = false
		if err := s.putTransaction(tx, &orig); err != nil {
			return err
		}
		if err := s.putTransaction(tx, v); err != nil {
			return err
		}
		if err := tx.Bucket(bucketPending).Delete([]byte(v.ID)); err != nil {
			return err
		}
		if err := meta.Put(keyLastReceipt, []byte(v.ID)); err != nil {
			return err
		}
		return meta.Put(keyLastTx, []byte(v.ID))
	})
	if err != nil {
		return nil, err
	}
	return &orig, nil
}

// leaveBatch takes a transaction out of its batch's totals and members.
func leaveBatch(tx *bolt.Tx, t *daemon.Transaction) error {
	batches := tx.Bucket(bucketBatches)
	var b daemon.Batch
	if err := getJSON(batches, []byte(t.BatchID), &b); err != nil {
		return fmt.Errorf("batch %s: %w", t.BatchID, err)
	}
	b.Remove(t)
	if err := tx.Bucket(bucketBatchMembers).Delete([]byte(b.ID + "/" + t.ID)); err != nil {
		return err
	}
	return putJSON(batches, []byte(b.ID), &b)
}

// unbookOriginal undoes bookOriginal for a voided completion or refund:
// the pre-auth holds its funds again and may be completed (or released)
// again, the sale's refundable amount is back, as the host's reversal does
// on its side.
func (s *DB) unbookOriginal(tx *bolt.Tx, t *daemon.Transaction) error {
	if t.OriginalID == "" || (t.Kind != daemon.KindRefund && t.Kind != daemon.KindCompletion) {
		return nil
	}
	var orig daemon.Transaction
	if err := s.getTx(tx, []byte(t.OriginalID), &orig); err != nil {
		return fmt.Errorf("original %s: %w", t.OriginalID, err)
	}
	switch t.Kind {
	case daemon.KindRefund:
		orig.RefundedAmount -= t.TotalAmount()
		if orig.RefundedAmount < 0 {
			return fmt.Errorf("voiding %s would leave %s refunded below zero", t.ID, orig.ID)
		}
	case daemon.KindCompletion:
		if orig.CompletionID != t.ID {
			return fmt.Errorf("pre-auth %s is not completed by %s", orig.ID, t.ID)
		}
		orig.CompletionID, orig.CapturedAmount = "", 0
		if isOpenHold(&orig) {
			// The pre-auth holds its funds again (as at the host): it is
			// listed, and released or expired like any open hold.
			idx, err := holdsIndex(tx)
			if err != nil {
				return err
			}
			if err := idx.Put([]byte(orig.ID), nil); err != nil {
				return err
			}
		}
	}
	return s.putTx(tx, &orig)
}
