package daemon

import (
	"context"
	"errors"
)

// Complete captures an approved pre-auth. It needs no card.
func (e *Engine) Complete(ctx context.Context, r CompletionRequest) (*Result, error) {
	if err := e.checkCurrency(r.Currency); err != nil {
		return nil, err
	}
	if res, err := e.replay(KindCompletion, r.Reference, func(t *Transaction) bool {
		return t.Amount == r.CaptureAmount && t.Currency == r.Currency && t.OriginalReference == r.OriginalReference
	}); res != nil || err != nil {
		return res, err
	}
	t := &Transaction{Kind: KindCompletion, Reference: r.Reference, Amount: r.CaptureAmount, Currency: r.Currency,
		OriginalReference: r.OriginalReference, PrintReceipt: r.PrintReceipt}
	return e.runOnOriginal(ctx, t, func() (*Transaction, error) {
		orig, err := e.original(KindPreauth, r.OriginalReference)
		if err != nil {
			return nil, err
		}
		switch {
		case orig.CompletionID != "":
			return nil, Errorf(CodePreauthCompleted, "Pre-auth %q was already completed (%s).", r.OriginalReference, orig.CompletionID)
		case orig.HoldEnd == HoldReleased:
			return nil, Errorf(CodePreauthReleased, "Pre-auth %q was released; it holds nothing any more.", r.OriginalReference)
		case !e.Now().Before(orig.ExpiresAt):
			return nil, Errorf(CodePreauthExpired, "Pre-auth %q expired at %s; the held funds have been released.", r.OriginalReference, orig.ExpiresAt.Format("2006-01-02T15:04:05Z"))
		case orig.Currency != r.Currency:
			return nil, Errorf(CodeInvalidRequest, "currency: the pre-auth was in %s.", orig.Currency)
		case r.CaptureAmount > orig.Held():
			return nil, Errorf(CodeAmountExceedsOriginal, "captureAmount %d exceeds the authorised amount %d.", r.CaptureAmount, orig.Held())
		}
		return orig, nil
	}, e.capture)
}

// Refund refunds an approved sale or completion to the original card.
func (e *Engine) Refund(ctx context.Context, r RefundRequest) (*Result, error) {
	if err := e.checkCurrency(r.Currency); err != nil {
		return nil, err
	}
	if res, err := e.replay(KindRefund, r.Reference, func(t *Transaction) bool {
		return t.Amount == r.Amount && t.Currency == r.Currency && t.OriginalReference == r.OriginalReference
	}); res != nil || err != nil {
		return res, err
	}
	t := &Transaction{Kind: KindRefund, Reference: r.Reference, Amount: r.Amount, Currency: r.Currency,
		OriginalReference: r.OriginalReference, PrintReceipt: r.PrintReceipt}
	return e.runOnOriginal(ctx, t, func() (*Transaction, error) {
		orig, err := e.original(KindSale, r.OriginalReference)
		if errors.Is(err, errNoOriginal) {
			orig, err = e.original(KindCompletion, r.OriginalReference)
		}
		if err != nil {
			return nil, err
		}
		if orig.Currency != r.Currency {
			return nil, Errorf(CodeInvalidRequest, "currency: the original transaction was in %s.", orig.Currency)
		}
		if left := orig.TotalAmount() - orig.RefundedAmount; r.Amount > left {
			return nil, Errorf(CodeAmountExceedsOriginal, "Refund amount %d exceeds what is left to refund (%d of %d captured).", r.Amount, left, orig.TotalAmount())
		}
		return orig, nil
	}, e.capture)
}

// errNoOriginal marks an original reference with no approval.
var errNoOriginal = Errorf(CodeTransactionNotFound, "originalReference does not match a known transaction.")

// original looks up the approved transaction a completion or refund refers
// to.
func (e *Engine) original(kind Kind, ref string) (*Transaction, error) {
	t, err := e.deps.Store.ApprovedByReference(kind, ref)
	if errors.Is(err, ErrNotFound) {
		return nil, errNoOriginal
	}
	if err != nil {
		return nil, storageError(err)
	}
	if t.Status == StatusVoided {
		return nil, Errorf(CodeVoidNotAllowed, "Transaction %q (%s) was voided; there is nothing left to refund or capture.", ref, t.ID)
	}
	return t, nil
}

// runOnOriginal takes the terminal, checks the original under it (so two
// refunds, or two steps on one hold, cannot both pass the check), writes
// the pending transaction and runs body (the host request: capture for a
// completion or refund, an increment or a release) after the queued
// reversals.
func (e *Engine) runOnOriginal(ctx context.Context, t *Transaction, check func() (*Transaction, error),
	body func(a *active, orig *Transaction)) (*Result, error) {
	t.ECRID = ECRFrom(ctx)
	t.ID = e.ids.New("tpay")
	t.Status, t.Stage = StatusPending, StageAuthorising
	t.StartedAt = e.Now()
	a := &active{tx: t, kind: string(t.Kind), reference: t.Reference, stage: StageAuthorising, startedAt: t.StartedAt}
	if err := e.acquire(a); err != nil {
		return nil, err
	}
	orig, err := check()
	if err == nil {
		t.OriginalID = orig.ID
		if orig.Card != nil {
			c := CardInfo{MaskedPAN: orig.Card.MaskedPAN, Scheme: orig.Card.Scheme, CardholderName: orig.Card.CardholderName,
				AID: orig.Card.AID, ApplicationLabel: orig.Card.ApplicationLabel}
			t.Card = &c
		}
		if cerr := e.deps.Store.CreateTransaction(t); cerr != nil {
			err = referenceTaken(t.Reference, cerr)
		}
	}
	if err != nil {
		e.release(a)
		return nil, err
	}
	e.emitStage(a, StageAuthorising)
	go func() {
		defer e.release(a)
		e.retryReversals(e.base)
		body(a, orig)
	}()
	if err := wait(ctx, a); err != nil {
		return nil, err
	}
	return &Result{Tx: t}, nil
}

// capture is the body of a completion or refund.
func (e *Engine) capture(a *active, orig *Transaction) {
	t := a.tx
	resp, err := e.deps.Host.Authorise(e.base, AuthRequest{Kind: t.Kind, TransactionID: t.ID, Reference: t.Reference,
		Amount: t.TotalAmount(), Currency: t.Currency, Time: t.StartedAt,
		Original: &HostOriginal{TransactionID: orig.ID, AuthCode: orig.AuthCode, HostReference: orig.HostReference,
			Amount: orig.TotalAmount(), Kind: orig.Kind, Message: orig.HostMessage}})
	// Stored at finish, for the reversal or refund that may quote it.
	t.HostMessage = resp.Sent
	if err != nil {
		e.hostFailed(t, err)
		return
	}
	t.ResponseCode = resp.ResponseCode
	if !resp.Approved {
		e.decline(t, resp.DeclineCode, resp.DeclineMessage)
		return
	}
	t.AuthCode, t.HostReference = resp.AuthCode, resp.HostReference
	e.approve(a)
}
