package daemon

import (
	"errors"
	"fmt"
	"sort"
)

// One reference namespace.
//
// A reference is the ECR's order key and belongs to one transaction
// intent, whatever its kind (batch closes keep their own namespace): at
// most one approved (or running) transaction exists per reference. Every
// attempt under a reference is indexed by the store in the same commit
// that creates it (ReferenceStore.ReferenceAttempts).
//
//   - An approved or running reference used again with the same endpoint
//     and parameters replays the approval (or, while it runs, answers
//     terminal_busy); with another endpoint or other parameters it is 409
//     duplicate_reference naming the transaction that holds it.
//   - After a decline, cancel or failure the reference may be tried again
//     with the same endpoint: a new attempt, listed by a lookup.
//
// Every path that creates a transaction calls Engine.claimReference with
// its kind before it takes the terminal, and the store checks the same
// rule (ReferenceHolder) again in the commit that creates the attempt, so
// a new transaction kind fits by calling claimReference with its Kind and
// a function telling whether a stored transaction has the same parameters.

// ErrReferenceTaken is returned by a store's CreateTransaction when the
// reference already belongs to another transaction (see ReferenceHolder).
var ErrReferenceTaken = errors.New("reference already in use")

// ReferenceStore indexes every attempt under a reference, across kinds.
type ReferenceStore interface {
	// ReferenceAttempts returns every transaction created under the
	// reference, oldest first, or an empty list when it was never seen.
	ReferenceAttempts(reference string) ([]*Transaction, error)
}

// Retryable reports whether a transaction with this status leaves its
// reference free for a new attempt of the same kind: declined, cancelled
// and failed ones do. Any other status (approved, pending, and final
// statuses added later such as voided) keeps the reference.
func (s Status) Retryable() bool {
	return s == StatusDeclined || s == StatusCancelled || s == StatusFailed
}

// ReferenceHolder returns the earlier attempt that stops a new attempt of
// kind under the same reference: one that still holds the reference
// (approved, running or otherwise not retryable), or one of another kind
// (a reference is one intent). It returns nil when a new attempt may run.
func ReferenceHolder(attempts []*Transaction, kind Kind) *Transaction {
	for _, t := range attempts {
		if !t.Status.Retryable() {
			return t
		}
	}
	for _, t := range attempts {
		if t.Kind != kind {
			return t
		}
	}
	return nil
}

// SortAttempts orders attempts as they were started (ID breaks ties).
func SortAttempts(list []*Transaction) {
	sort.SliceStable(list, func(i, j int) bool {
		if !list[i].StartedAt.Equal(list[j].StartedAt) {
			return list[i].StartedAt.Before(list[j].StartedAt)
		}
		return list[i].ID < list[j].ID
	})
}

// claimReference is the one namespace check every transaction-creating
// path calls before it takes the terminal. It returns the stored approval
// to replay when kind and parameters match (same reports whether a stored
// transaction of the same kind carries the request's parameters), 409
// duplicate_reference when the reference belongs to another transaction,
// and nil, nil when a new attempt may start. A running transaction with
// the same kind and parameters passes, so that taking the terminal answers
// terminal_busy for it as before.
func (e *Engine) claimReference(kind Kind, ref string, same func(*Transaction) bool) (*Result, error) {
	e.mu.Lock()
	var running *Transaction
	if a := e.active; a != nil && a.tx != nil && a.reference == ref {
		// ID, kind and parameters are set before the terminal is taken
		// and never change afterwards.
		running = &Transaction{ID: a.tx.ID, Kind: a.tx.Kind, Reference: a.tx.Reference, Status: StatusPending,
			Amount: a.tx.Amount, TipAmount: a.tx.TipAmount, Currency: a.tx.Currency, OriginalReference: a.tx.OriginalReference}
	}
	e.mu.Unlock()
	if running != nil {
		if running.Kind != kind || !same(running) {
			return nil, duplicateReference(ref, running)
		}
		return nil, nil
	}
	attempts, err := e.deps.Store.ReferenceAttempts(ref)
	if err != nil {
		return nil, storageError(err)
	}
	holder := ReferenceHolder(attempts, kind)
	if holder == nil {
		return nil, nil
	}
	if holder.Status == StatusApproved && holder.Kind == kind && same(holder) {
		return &Result{Tx: holder, Replayed: true}, nil
	}
	if holder.Status == StatusPending && holder.Kind == kind && same(holder) {
		// Written but not (or no longer) active: the terminal is between
		// creating it and taking it, or it is being finished.
		busy := Errorf(CodeTerminalBusy, "Transaction %q is still running.", ref)
		busy.Cause = ErrStillRunning
		return nil, busy
	}
	return nil, duplicateReference(ref, holder)
}

// duplicateReference is the 409 naming the transaction that holds a
// reference.
func duplicateReference(ref string, holder *Transaction) *Error {
	why := fmt.Sprintf("is held by %s %s (%s)", holder.Kind, holder.ID, holder.Status)
	switch {
	case holder.Status == StatusPending:
		why = fmt.Sprintf("belongs to the running %s %s", holder.Kind, holder.ID)
	case holder.Status.Retryable():
		why = fmt.Sprintf("belongs to %s %s (%s); a failed reference may only be retried as a %s", holder.Kind, holder.ID, holder.Status, holder.Kind)
	case holder.Status == StatusApproved:
		why = fmt.Sprintf("was already approved as %s %s with other parameters", holder.Kind, holder.ID)
	}
	return Errorf(CodeDuplicateReference, "Reference %q %s; use a new reference for a new transaction.", ref, why)
}

// referenceTaken maps a store's ErrReferenceTaken (another request claimed
// the reference between the check and the commit) to the ECR's 409.
func referenceTaken(ref string, err error) error {
	if errors.Is(err, ErrReferenceTaken) {
		return Errorf(CodeDuplicateReference, "Reference %q: %v; use a new reference for a new transaction.", ref, err)
	}
	return storageError(err)
}
