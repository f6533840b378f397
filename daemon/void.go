package daemon

import (
	"context"
	"errors"
	"fmt"
)

// KindVoid cancels an approved sale, completion or refund that is still in
// the open batch, without a card: the original is reversed at the host and
// leaves the batch.
const KindVoid Kind = "void"

// StatusVoided is the final status of a transaction a void cancelled.
const StatusVoided Status = "voided"

// VoidRequest voids the approved transaction with OriginalReference.
type VoidRequest struct {
	OriginalReference string
	Reference         string
	PrintReceipt      bool
}

// Void cancels an approved sale, completion or refund of the open batch.
// The void is booked, with the original marked voided, taken out of the
// batch and queued for reversal, in one commit before the host is asked;
// the reversal goes out at once and, when the host does not acknowledge
// it, is retried like every queued reversal until it is. A batch that was
// closed (or is settling) cannot be voided into: the ECR refunds instead.
func (e *Engine) Void(ctx context.Context, r VoidRequest) (*Result, error) {
	if res, err := e.replay(KindVoid, r.Reference, func(t *Transaction) bool {
		return t.OriginalReference == r.OriginalReference
	}); res != nil || err != nil {
		return res, err
	}
	t := &Transaction{Kind: KindVoid, Reference: r.Reference, OriginalReference: r.OriginalReference,
		PrintReceipt: r.PrintReceipt, ID: e.ids.New("tpay"), Status: StatusPending, Stage: StageAuthorising, StartedAt: e.Now(),
		ECRID: ECRFrom(ctx)}
	a := &active{tx: t, kind: string(t.Kind), reference: t.Reference, stage: StageAuthorising, startedAt: t.StartedAt}
	if err := e.acquire(a); err != nil {
		return nil, err
	}
	var refused error
	go func() {
		defer e.release(a)
		refused = e.void(a)
	}()
	if err := wait(ctx, a); err != nil {
		return nil, err
	}
	if refused != nil {
		return nil, refused
	}
	return &Result{Tx: t}, nil
}

// void is the body of a void, under the terminal. It returns the refusal
// when the original cannot be voided; nothing was written then.
func (e *Engine) void(a *active) error {
	t := a.tx
	// Queued reversals and advices go first, and no background pass may
	// rewrite the original while the void changes it.
	e.reversing.Lock()
	defer e.reversing.Unlock()
	e.sendReversals(e.base)
	orig, err := e.voidable(t.OriginalReference)
	if err != nil {
		return err
	}
	t.OriginalID, t.OriginalKind = orig.ID, orig.Kind
	t.Amount, t.Currency = orig.TotalAmount(), orig.Currency
	t.AuthCode, t.HostReference = orig.AuthCode, orig.HostReference
	if orig.Card != nil {
		c := CardInfo{MaskedPAN: orig.Card.MaskedPAN, Scheme: orig.Card.Scheme, CardholderName: orig.Card.CardholderName,
			AID: orig.Card.AID, ApplicationLabel: orig.Card.ApplicationLabel}
		t.Card = &c
	}
	t.Status, t.Stage, t.CompletedAt = StatusApproved, StageDone, e.Now()
	t.Receipts = BuildReceipts(e.cfg.Receipt, t)
	voided, err := e.deps.Store.VoidTransaction(t)
	if err != nil {
		e.deps.Log.Error().Err(err).Str("transactionId", t.ID).Msg("cannot book void")
		return referenceTaken(t.Reference, err)
	}
	e.deps.Log.Info().Str("transactionId", t.ID).Str("reference", t.Reference).Str("originalId", voided.ID).
		Int64("amount", t.Amount).Msg("void booked; reversing the original")
	e.reverse(voided, "void")
	if !voided.ReversalPending {
		if err := e.deps.Store.UpdateTransaction(voided); err != nil {
			// The reversal stays queued; resending it is harmless.
			e.deps.Log.Error().Err(err).Str("transactionId", voided.ID).Msg("cannot record the void's reversal")
		}
	}
	e.print(a)
	return nil
}

// voidable finds the approved sale, completion or refund with the
// reference and checks that a void may cancel it.
func (e *Engine) voidable(ref string) (*Transaction, error) {
	var orig *Transaction
	for _, kind := range []Kind{KindSale, KindCompletion, KindRefund} {
		t, err := e.deps.Store.ApprovedByReference(kind, ref)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, storageError(err)
		}
		orig = t
		break
	}
	if orig == nil {
		return nil, Errorf(CodeTransactionNotFound, "originalReference %q does not match an approved sale, completion or refund.", ref)
	}
	if orig.Status == StatusVoided {
		return nil, Errorf(CodeVoidNotAllowed, "Transaction %q (%s) was already voided.", ref, orig.ID)
	}
	if orig.RefundedAmount > 0 {
		return nil, Errorf(CodeVoidNotAllowed, "Transaction %q has refunds (%d); void those first.", ref, orig.RefundedAmount)
	}
	open, err := e.deps.Store.OpenBatch()
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, storageError(err)
	}
	if open == nil || orig.BatchID == "" || orig.BatchID != open.ID {
		return nil, Errorf(CodeVoidNotAllowed, "Transaction %q is in a batch that was closed (or is being settled); it can no longer be voided. Use a refund.", ref)
	}
	return orig, nil
}

// Remove takes a voided transaction out of the batch totals: the opposite
// of Add.
func (b *Batch) Remove(t *Transaction) {
	total := t.TotalAmount()
	signed := total
	switch t.Kind {
	case KindSale:
		b.SaleCount--
		b.SaleAmount -= total
	case KindCompletion:
		b.CompletionCount--
		b.CompletionAmount -= total
	case KindRefund:
		b.RefundCount--
		b.RefundAmount -= total
		signed = -total
	default:
		return
	}
	name := schemeName(t)
	s := b.Schemes[name]
	if s == nil {
		return
	}
	s.Count--
	s.Amount -= signed
	s.Gross -= total
	if s.Count <= 0 {
		delete(b.Schemes, name)
	}
}

// schemeName is the scheme a transaction is counted under in a batch.
func schemeName(t *Transaction) string {
	if t.Card != nil && t.Card.Scheme != "" {
		return t.Card.Scheme
	}
	return "unknown"
}

// voidReceiptTotal is the signed total a void's receipt shows: the money
// going back (a voided capture) is negative, a voided refund positive.
func voidReceiptTotal(t *Transaction) int64 {
	if t.OriginalKind == KindRefund {
		return t.TotalAmount()
	}
	return -t.TotalAmount()
}

// voidTitle is the title of a void's receipt, naming what it cancelled.
func voidTitle(t *Transaction) string {
	if t.OriginalKind == "" {
		return "VOID"
	}
	return fmt.Sprintf("VOID %s", receiptTitle(t.OriginalKind))
}
