package daemon

import (
	"errors"
)

// LookupRequest names the transaction a lookup asks about: exactly one of
// a reference or a transaction ID.
type LookupRequest struct {
	Reference     string
	TransactionID string
}

// LookupResult is the truth about a reference: the current transaction
// (pending with its stage while it runs, final afterwards) and every
// earlier attempt under the same reference, oldest first.
type LookupResult struct {
	Tx       *Transaction
	Attempts []*Transaction
}

// Lookup answers the current truth about a reference (or the transaction
// with an ID), in flight or finished, any kind. It never waits for the
// running transaction: the active one is read under e.mu (its fields that
// do not change while it runs, and its stage), everything else from the
// store. transaction_not_found means the reference or ID was never seen.
func (e *Engine) Lookup(r LookupRequest) (*LookupResult, error) {
	running := e.runningSnapshot(r)
	ref := r.Reference
	if running != nil {
		ref = running.Reference
	} else if r.TransactionID != "" {
		t, err := e.deps.Store.Transaction(r.TransactionID)
		if errors.Is(err, ErrNotFound) {
			return nil, Errorf(CodeTransactionNotFound, "No transaction %q exists on this terminal.", r.TransactionID)
		}
		if err != nil {
			return nil, storageError(err)
		}
		ref = t.Reference
	}
	list, err := e.deps.Store.ReferenceAttempts(ref)
	if err != nil {
		return nil, storageError(err)
	}
	res := &LookupResult{Tx: running}
	for _, t := range list {
		if running != nil && t.ID == running.ID {
			// The store's copy of the running one is its pending record;
			// the snapshot carries the live stage.
			continue
		}
		res.Attempts = append(res.Attempts, t)
	}
	if res.Tx == nil {
		res.Tx = current(res.Attempts, r.TransactionID)
		if res.Tx == nil {
			if r.TransactionID != "" {
				return nil, Errorf(CodeTransactionNotFound, "No transaction %q exists on this terminal.", r.TransactionID)
			}
			return nil, Errorf(CodeTransactionNotFound, "No transaction with reference %q exists on this terminal.", ref)
		}
	}
	res.Attempts = earlier(res.Attempts, res.Tx)
	return res, nil
}

// runningSnapshot copies what a lookup may show of the active transaction
// when it is the one asked about, or returns nil. The engine goroutine
// writes the rest of the record without e.mu, so only the fields fixed
// before the terminal was taken are copied, with the stage.
func (e *Engine) runningSnapshot(r LookupRequest) *Transaction {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.active
	if a == nil || a.tx == nil {
		return nil
	}
	if (r.Reference != "" && a.reference != r.Reference) || (r.TransactionID != "" && a.tx.ID != r.TransactionID) {
		return nil
	}
	t := a.tx
	return &Transaction{ID: t.ID, Kind: t.Kind, Reference: t.Reference, Status: StatusPending, Stage: a.stage,
		Amount: t.Amount, TipAmount: t.TipAmount, Currency: t.Currency, OriginalReference: t.OriginalReference,
		StartedAt: a.startedAt}
}

// current picks the transaction a lookup answers about from a reference's
// attempts: the one with the ID when asked by ID, otherwise the one that
// holds the reference (approved or otherwise not retryable), otherwise the
// newest attempt.
func current(list []*Transaction, id string) *Transaction {
	if id != "" {
		for _, t := range list {
			if t.ID == id {
				return t
			}
		}
		return nil
	}
	for _, t := range list {
		if !t.Status.Retryable() {
			return t
		}
	}
	if len(list) == 0 {
		return nil
	}
	return list[len(list)-1]
}

// earlier is every attempt started before cur, oldest first (all of them
// but cur when cur is the running one, which the store lists last).
func earlier(list []*Transaction, cur *Transaction) []*Transaction {
	out := []*Transaction{}
	for _, t := range list {
		if t.ID == cur.ID {
			break
		}
		out = append(out, t)
	}
	return out
}

// ReceiptByReference is receipt/last for one reference: the receipt of
// the transaction a lookup of the reference answers, or
// transaction_not_found when that transaction has none (it is running,
// failed or was cancelled) or the reference was never seen. It never
// answers about another transaction.
func (e *Engine) ReceiptByReference(ref string) (*Transaction, error) {
	res, err := e.Lookup(LookupRequest{Reference: ref})
	if err != nil {
		return nil, err
	}
	if res.Tx.Receipts == nil {
		return nil, Errorf(CodeTransactionNotFound, "Transaction %s with reference %q (%s) has no receipt.", res.Tx.ID, ref, res.Tx.Status)
	}
	return res.Tx, nil
}
