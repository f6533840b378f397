package daemon

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// SaleRequest is a card-present payment.
type SaleRequest struct {
	Amount       int64
	TipAmount    int64
	Currency     string
	Reference    string
	PrintReceipt bool
}

// PreauthRequest reserves funds on a card.
type PreauthRequest struct {
	Amount       int64
	Currency     string
	Reference    string
	PrintReceipt bool
}

// CompletionRequest captures a pre-auth.
type CompletionRequest struct {
	OriginalReference string
	CaptureAmount     int64
	Currency          string
	Reference         string
	PrintReceipt      bool
}

// RefundRequest refunds an approved sale or completion, in part or whole.
type RefundRequest struct {
	OriginalReference string
	Amount            int64
	Currency          string
	Reference         string
	PrintReceipt      bool
}

// Result is a finished transaction; Replayed is set when an approved
// transaction with the same reference and parameters was returned instead of
// running a new one.
type Result struct {
	Tx       *Transaction
	Replayed bool
}

// CancelResult is what cancel answers.
type CancelResult struct {
	Reference   string
	CancelledAt time.Time
}

// Decline messages per decline code.
func declineMessage(code string) string {
	switch code {
	case "insufficient_funds":
		return "Insufficient funds"
	case "expired_card":
		return "Card expired"
	case "incorrect_pin":
		return "Incorrect PIN"
	case "declined_by_card":
		return "Declined by card"
	}
	return "Transaction not approved"
}

// checkCurrency refuses a currency the terminal is not configured for.
func (e *Engine) checkCurrency(cur string) error {
	if cur != e.cfg.Currency {
		return Errorf(CodeInvalidRequest, "currency: %q is not accepted by this terminal (configured: %s).", cur, e.cfg.Currency)
	}
	return nil
}

// replay is claimReference (references.go): the one reference namespace
// check, under the name the transaction paths have always called.
func (e *Engine) replay(kind Kind, ref string, same func(*Transaction) bool) (*Result, error) {
	return e.claimReference(kind, ref, same)
}

// storageError tells the ECR that the terminal could not write, so nothing
// was charged.
func storageError(err error) *Error {
	return Errorf(CodeStorageUnavailable, "The terminal cannot read or write its database (%v); nothing was charged.", err)
}

// Sale runs a card-present payment.
func (e *Engine) Sale(ctx context.Context, r SaleRequest) (*Result, error) {
	if err := e.checkCurrency(r.Currency); err != nil {
		return nil, err
	}
	if res, err := e.replay(KindSale, r.Reference, func(t *Transaction) bool {
		return t.Amount == r.Amount && t.TipAmount == r.TipAmount && t.Currency == r.Currency
	}); res != nil || err != nil {
		return res, err
	}
	t := &Transaction{Kind: KindSale, Reference: r.Reference, Amount: r.Amount, TipAmount: r.TipAmount,
		Currency: r.Currency, PrintReceipt: r.PrintReceipt}
	return e.runCardTransaction(ctx, t)
}

// Preauth reserves funds on a card.
func (e *Engine) Preauth(ctx context.Context, r PreauthRequest) (*Result, error) {
	if err := e.checkCurrency(r.Currency); err != nil {
		return nil, err
	}
	if res, err := e.replay(KindPreauth, r.Reference, func(t *Transaction) bool {
		return t.Amount == r.Amount && t.Currency == r.Currency
	}); res != nil || err != nil {
		return res, err
	}
	t := &Transaction{Kind: KindPreauth, Reference: r.Reference, Amount: r.Amount,
		Currency: r.Currency, PrintReceipt: r.PrintReceipt}
	return e.runCardTransaction(ctx, t)
}

// start writes the pending transaction and takes the terminal.
// Everything status and cancel read is set before the terminal is taken.
func (e *Engine) start(t *Transaction, stage Stage, cancel context.CancelFunc) (*active, error) {
	t.ID = e.ids.New("tpay")
	t.Status = StatusPending
	t.Stage = stage
	t.StartedAt = e.Now()
	a := &active{tx: t, kind: string(t.Kind), reference: t.Reference, stage: stage, cancellable: cancel != nil,
		cancel: cancel, startedAt: t.StartedAt}
	if err := e.acquire(a); err != nil {
		return nil, err
	}
	if err := e.deps.Store.CreateTransaction(t); err != nil {
		e.release(a)
		return nil, referenceTaken(t.Reference, err)
	}
	e.emitStage(a, stage)
	return a, nil
}

// runCardTransaction takes the terminal, runs the card and host steps in the
// background and waits for the outcome or for the caller to go away.
func (e *Engine) runCardTransaction(ctx context.Context, t *Transaction) (*Result, error) {
	t.ECRID = ECRFrom(ctx)
	detectCtx, cancel := context.WithTimeout(e.base, e.cfg.CardTimeout)
	a, err := e.start(t, StageWaitingForCard, cancel)
	if err != nil {
		cancel()
		return nil, err
	}
	go func() {
		defer e.release(a)
		defer cancel()
		e.card(detectCtx, a)
	}()
	if err := wait(ctx, a); err != nil {
		return nil, err
	}
	return &Result{Tx: t}, nil
}

// card is the body of a sale or pre-auth: detect, read, authorise,
// complete, book, print.
// shutDownMessage ends a transaction the shutdown grace cut short before
// the host was asked.
const shutDownMessage = "The terminal shut down before the card was read; nothing was charged."

func (e *Engine) card(detectCtx context.Context, a *active) {
	t := a.tx
	log := e.deps.Log.With().Str("transactionId", t.ID).Str("reference", t.Reference).Str("kind", string(t.Kind)).Logger()
	sess, err := e.deps.Reader.Detect(detectCtx, CardRequest{Kind: t.Kind, Amount: t.TotalAmount(), Currency: t.Currency,
		TransactionID: t.ID, Wait: cardWait{e: e, a: a}})
	e.mu.Lock()
	cancelled := a.cancelled
	a.cancellable = false
	if err == nil && !cancelled {
		e.observeStage(a, StageReadingCard)
		a.stage, t.Stage = StageReadingCard, StageReadingCard
	}
	e.mu.Unlock()
	if err == nil && !cancelled {
		e.emitStage(a, StageReadingCard)
	}
	switch {
	case cancelled:
		if sess != nil {
			_ = sess.Close()
		}
		e.fail(t, StatusCancelled, CodeTransactionCancelled, "The transaction was cancelled by the ECR before a card was presented.")
		return
	case errors.Is(err, ErrCardholderCancelled):
		e.fail(t, StatusCancelled, CodeTransactionCancelled, "The cardholder cancelled at the terminal.")
		return
	case err != nil && e.base.Err() != nil:
		e.fail(t, StatusCancelled, CodeTransactionCancelled, shutDownMessage)
		return
	case errors.Is(err, ErrNoCard), err != nil && errors.Is(detectCtx.Err(), context.DeadlineExceeded):
		e.fail(t, StatusCancelled, CodeTransactionCancelled, fmt.Sprintf("No card was presented within %s.", e.cfg.CardTimeout))
		return
	case err != nil:
		log.Warn().Err(err).Msg("card detection failed")
		e.fail(t, StatusFailed, CodeReaderError, "The card reader failed: "+err.Error())
		return
	}
	defer func() { _ = sess.Close() }()
	data, err := sess.Read(e.base)
	// The session may have waited for a card again (a tap sent to the
	// chip), which the ECR could cancel.
	e.mu.Lock()
	cancelled = a.cancelled
	a.cancellable = false
	e.mu.Unlock()
	switch {
	case cancelled:
		e.fail(t, StatusCancelled, CodeTransactionCancelled, "The transaction was cancelled by the ECR before the card was inserted.")
		return
	case errors.Is(err, ErrCardholderCancelled):
		e.fail(t, StatusCancelled, CodeTransactionCancelled, "The cardholder cancelled at the terminal.")
		return
	case errors.Is(err, ErrDeclinedByCard):
		info := data.Info
		t.Card = &info
		e.decline(t, CodeCardDeclined, declineMessage("declined_by_card"))
		return
	case err != nil && e.base.Err() != nil:
		e.fail(t, StatusCancelled, CodeTransactionCancelled, shutDownMessage)
		return
	case errors.Is(err, ErrNoCard):
		// A tapped card was sent to the chip and none was inserted.
		e.fail(t, StatusCancelled, CodeTransactionCancelled, fmt.Sprintf("No card was inserted within %s after the reader asked for the chip.", e.cfg.CardTimeout))
		return
	case err != nil:
		log.Warn().Err(err).Msg("card read failed")
		e.fail(t, StatusFailed, CodeReaderError, "The card could not be read: "+err.Error())
		return
	}
	info := data.Info
	t.Card = &info
	e.setStage(a, StageAuthorising)
	// Reversals go to the host before any new financial message.
	e.retryReversals(e.base)
	resp, err := e.deps.Host.Authorise(e.base, AuthRequest{Kind: t.Kind, TransactionID: t.ID, Reference: t.Reference,
		Amount: t.TotalAmount(), Currency: t.Currency, Card: &data, Time: t.StartedAt})
	// Stored at finish, for the reversal, completion or refund that may
	// quote it, also when no answer came.
	t.HostMessage = resp.Sent
	if err != nil {
		// The card is told the host gave no answer: it declines (AAC) or,
		// where offline approvals are allowed, may approve offline (TC).
		unreachable := errors.Is(err, ErrHostUnreachable) && !errors.Is(err, ErrOutcomeUnknown)
		ok, cerr := sess.Complete(e.base, AuthResponse{Unreachable: unreachable, ResponseCode: "Z3"})
		if cerr == nil && ok && unreachable && e.offlineAllowed(t) {
			if e.approveOffline(a, sess) {
				return
			}
		}
		e.hostFailed(t, err)
		return
	}
	e.setStage(a, StageCompleting)
	t.ResponseCode = resp.ResponseCode
	if !resp.Approved {
		_, _ = sess.Complete(e.base, resp)
		e.decline(t, resp.DeclineCode, resp.DeclineMessage)
		return
	}
	t.AuthCode, t.HostReference = resp.AuthCode, resp.HostReference
	ok, err := sess.Complete(e.base, resp)
	if err != nil || !ok {
		// The host approved but the card refused the approval (or was
		// pulled out): the authorisation must not stand.
		log.Warn().Err(err).Msg("card refused the host's approval; reversing")
		if f, ok := sess.(offlineICC); ok && err == nil {
			// The reversal tells the issuer what the card answered.
			t.ReversalICC = f.FinalICCData()
		}
		e.reverse(t, "card refused approval")
		if err != nil {
			e.fail(t, StatusFailed, CodeReaderError, "The card was removed before the transaction finished; the authorisation was reversed.")
			return
		}
		e.decline(t, "card_declined", declineMessage("declined_by_card"))
		return
	}
	keepFinalICC(t, sess)
	e.approve(a)
}

// cardWait lets the card session of the running transaction a wait for a
// card again (a tapped card sent to the chip): cancellable by the ECR
// and shown as waiting_for_card, as while the first card was awaited.
type cardWait struct {
	e *Engine
	a *active
}

// WaitingForCard puts the transaction back at StageWaitingForCard and
// lets Cancel end the returned context until stop or CardPresented.
func (w cardWait) WaitingForCard(ctx context.Context) (context.Context, context.CancelFunc) {
	e, a := w.e, w.a
	ctx, cancel := context.WithCancel(ctx)
	e.mu.Lock()
	e.observeStage(a, StageWaitingForCard)
	a.stage, a.tx.Stage = StageWaitingForCard, StageWaitingForCard
	a.cancel, a.cancellable = cancel, !a.cancelled
	e.mu.Unlock()
	e.emitStage(a, StageWaitingForCard)
	stop := func() {
		e.mu.Lock()
		a.cancellable = false
		e.mu.Unlock()
		cancel()
	}
	return ctx, stop
}

// CardPresented ends the wait with a card: from now on cancel is
// refused. It reports false when the ECR cancelled first.
func (w cardWait) CardPresented() bool {
	e, a := w.e, w.a
	e.mu.Lock()
	a.cancellable = false
	if a.cancelled {
		e.mu.Unlock()
		return false
	}
	e.observeStage(a, StageReadingCard)
	a.stage, a.tx.Stage = StageReadingCard, StageReadingCard
	e.mu.Unlock()
	e.emitStage(a, StageReadingCard)
	return true
}

// scriptResults is offered by card sessions that can tell, after the
// second GENERATE AC, the results of the issuer scripts the host's answer
// carried (EMV tag 9F5B): nil when it carried none.
type scriptResults interface {
	IssuerScriptResults() []byte
}

// keepFinalICC keeps, with an online approval, the card's final chip data
// (the TC of the second GENERATE AC; no PAN or track data) for the batch
// upload. When the issuer's answer carried scripts, their results reach
// the host only in a TC advice: it is queued with the approval, in the
// same commit, and sent in the background (approve), so a crash or a
// lost link delays it but never loses it, and the cardholder never waits
// for it.
func keepFinalICC(t *Transaction, sess CardSession) {
	f, ok := sess.(offlineICC)
	if !ok || len(f.FinalICCData()) == 0 {
		return
	}
	t.AdviceICC = f.FinalICCData()
	if r, ok := sess.(scriptResults); ok && len(r.IssuerScriptResults()) > 0 {
		t.AdvicePending = true
	}
}

// offlineAllowed reports whether a sale the host never saw may stand on
// the card's offline approval (under the floor limit, as the kernel
// judges it).
func (e *Engine) offlineAllowed(t *Transaction) bool {
	return e.cfg.OfflineApprovals && t.Kind == KindSale && t.Card != nil && t.Card.EntryMethod == EntryChip &&
		t.TotalAmount() < e.cfg.FloorLimit
}

// offlineICC is offered by card sessions that can hand over the final chip
// data (the TC) of an offline approval for the advice.
type offlineICC interface {
	FinalICCData() []byte
}

// approveOffline books a sale the card approved offline and queues its
// advice for the host. Without the card's final chip data (its TC) there
// is nothing the host could clear, and it reports false.
func (e *Engine) approveOffline(a *active, sess CardSession) bool {
	t := a.tx
	f, ok := sess.(offlineICC)
	if !ok || len(f.FinalICCData()) == 0 {
		return false
	}
	t.AdviceICC = f.FinalICCData()
	t.Offline, t.AdvicePending = true, true
	t.AuthCode = offlineAuthCode()
	t.ResponseCode = "Y3"
	e.deps.Log.Info().Str("transactionId", t.ID).Msg("approved offline; advice queued")
	e.approve(a)
	return true
}

// offlineAuthCode is the terminal's own approval code: "Y3" (approved
// offline) and four random digits.
func offlineAuthCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(10000))
	if err != nil {
		return "Y30000"
	}
	return fmt.Sprintf("Y3%04d", n.Int64())
}

// approve books an approved transaction and prints it when asked.
func (e *Engine) approve(a *active) {
	t := a.tx
	t.Status = StatusApproved
	t.CompletedAt = e.Now()
	if t.Kind == KindPreauth || t.Kind == KindIncrement {
		t.ExpiresAt = t.CompletedAt.Add(e.cfg.PreauthValidity)
	}
	if !e.finish(t) {
		return
	}
	if t.AdvicePending && !t.Offline {
		// A TC advice with the issuer script results: booked with the
		// approval, sent now in the background.
		e.kickReversals()
	}
	e.print(a)
}

// finish books a final transaction. When an approval cannot be written it
// is reversed at the host and the ECR gets storage_unavailable.
func (e *Engine) finish(t *Transaction) bool {
	t.Stage = StageDone
	if t.Status == StatusApproved || t.Status == StatusDeclined {
		t.Receipts = BuildReceipts(e.cfg.Receipt, t)
	}
	err := e.deps.Store.FinishTransaction(t, e.ids.New("batch"))
	if err == nil {
		e.deps.Log.Info().Str("transactionId", t.ID).Str("reference", t.Reference).Str("kind", string(t.Kind)).
			Str("status", string(t.Status)).Int64("amount", t.TotalAmount()).Msg("transaction finished")
		return true
	}
	e.deps.Log.Error().Err(err).Str("transactionId", t.ID).Msg("cannot book transaction")
	if t.Status == StatusApproved {
		e.reverse(t, "cannot book")
	}
	t.Status = StatusFailed
	se := storageError(err)
	t.ErrorCode, t.ErrorMessage = se.Code, se.Message
	t.Receipts = nil
	return false
}

// fail ends a transaction that was not approved or declined.
func (e *Engine) fail(t *Transaction, status Status, code, msg string) {
	t.Status = status
	t.ErrorCode, t.ErrorMessage = code, msg
	t.CompletedAt = e.Now()
	e.finish(t)
}

// decline ends a transaction the issuer or card declined.
func (e *Engine) decline(t *Transaction, code, msg string) {
	if code == "" {
		code = CodeCardDeclined
	}
	if msg == "" {
		msg = declineMessage(code)
	}
	t.Status = StatusDeclined
	t.DeclineCode, t.DeclineMessage = code, msg
	t.ErrorCode, t.ErrorMessage = CodeCardDeclined, msg
	t.CompletedAt = e.Now()
	e.finish(t)
}

// hostFailed ends a transaction whose host request failed; when the request
// may have reached the host it is reversed.
func (e *Engine) hostFailed(t *Transaction, err error) {
	msg := "The acquirer host could not be reached; nothing was charged."
	unknown := errors.Is(err, ErrOutcomeUnknown)
	if unknown {
		// The reversal is queued durably with the failure and sent in the
		// background, so the ECR is not kept waiting for a host that just
		// failed to answer.
		t.ReversalPending = true
		msg = "The acquirer host did not answer; the authorisation is being reversed and nothing will be charged."
	}
	e.deps.Log.Warn().Err(err).Str("transactionId", t.ID).Msg("host request failed")
	e.fail(t, StatusFailed, CodeCommunicationError, msg)
	if unknown {
		e.kickReversals()
	}
}

// reverse sends a reversal now; when the host cannot take it, the
// transaction is flagged so the reversal loop retries until acknowledged.
func (e *Engine) reverse(t *Transaction, reason string) {
	err := e.deps.Host.Reverse(e.base, ReversalRequest{TransactionID: t.ID, Kind: t.Kind, Amount: t.reversalAmount(),
		Currency: t.Currency, HostReference: t.HostReference, AuthCode: t.AuthCode, Original: t.HostMessage,
		Reason: reason, ICCData: t.ReversalICC})
	t.ReversalPending = err != nil
	if err != nil {
		e.deps.Log.Warn().Err(err).Str("transactionId", t.ID).Msg("reversal queued for retry")
	}
}

// kickReversals sends the pending reversals in the background now.
func (e *Engine) kickReversals() {
	e.loops.Add(1)
	go func() {
		defer e.loops.Done()
		e.tryReversals(e.base)
	}()
}

// tryReversals sends the pending reversals unless a pass is running.
func (e *Engine) tryReversals(ctx context.Context) {
	if !e.reversing.TryLock() {
		return
	}
	defer e.reversing.Unlock()
	e.sendReversals(ctx)
}

// retryReversals sends every pending reversal, after any pass already
// running: a new financial message waits for the reversals before it.
func (e *Engine) retryReversals(ctx context.Context) {
	e.reversing.Lock()
	defer e.reversing.Unlock()
	e.sendReversals(ctx)
}

// sendAdvices forwards queued advices (offline approvals, and the TC
// advices of online approvals whose issuer scripts ran); the caller holds
// e.reversing (advices go after reversals).
func (e *Engine) sendAdvices(ctx context.Context) {
	list, err := e.deps.Store.PendingAdvices()
	if err != nil {
		return
	}
	for _, t := range list {
		if ctx.Err() != nil {
			return
		}
		var card CardInfo
		if t.Card != nil {
			card = *t.Card
		}
		req := AdviceRequest{TransactionID: t.ID, Reference: t.Reference, Amount: t.TotalAmount(),
			Currency: t.Currency, AuthCode: t.AuthCode, Card: card, ICCData: t.AdviceICC, Time: t.CompletedAt}
		if !t.Offline {
			// The TC advice of an online approval: the approval it
			// completes.
			req.HostReference, req.Kind, req.Original = t.HostReference, t.Kind, t.HostMessage
		}
		err := e.deps.Host.Advise(ctx, req)
		retry := errors.Is(err, ErrHostUnreachable) || errors.Is(err, ErrOutcomeUnknown)
		if err != nil && retry {
			e.deps.Log.Warn().Err(err).Str("transactionId", t.ID).Msg("advice not delivered; will retry")
			return
		}
		if err != nil {
			// The host refused it for good: resending cannot help, and one
			// bad advice must not hold back the others.
			t.AdviceRejected = true
			e.deps.Log.Error().Err(err).Str("transactionId", t.ID).Msg("advice rejected by the host; needs manual follow-up")
		}
		t.AdvicePending = false
		if err := e.deps.Store.UpdateTransaction(t); err != nil {
			e.deps.Log.Error().Err(err).Str("transactionId", t.ID).Msg("cannot record advice")
			return
		}
		if err == nil {
			e.deps.Log.Info().Str("transactionId", t.ID).Msg("advice delivered")
		}
	}
}

// sendReversals is one pass over the reversal queue, then the advice
// queue; the caller holds e.reversing.
func (e *Engine) sendReversals(ctx context.Context) {
	defer e.sendAdvices(ctx)
	list, err := e.deps.Store.PendingReversals()
	if err != nil {
		return
	}
	for _, t := range list {
		if ctx.Err() != nil {
			return
		}
		e.reverse(t, "retry")
		if !t.ReversalPending {
			if err := e.deps.Store.UpdateTransaction(t); err != nil {
				e.deps.Log.Error().Err(err).Str("transactionId", t.ID).Msg("cannot record reversal")
			}
		}
	}
}

// recoverPending resolves what a crash left pending: such a transaction's
// outcome at the host is unknown, so it is reversed and failed. Nothing on
// disk tells whether its request had left (that would cost a third commit
// per sale), so every pending transaction is reversed, including one that
// never reached the host: a reversal of something the host never booked
// is acknowledged and changes nothing there (as the host simulator does).
func (e *Engine) recoverPending(ctx context.Context) error {
	list, err := e.deps.Store.PendingTransactions()
	if err != nil {
		return err
	}
	for _, t := range list {
		e.reverse(t, "interrupted by restart")
		e.fail(t, StatusFailed, CodeCommunicationError, "The terminal restarted during this transaction; it was reversed and nothing was charged.")
		e.deps.Log.Warn().Str("transactionId", t.ID).Str("reference", t.Reference).Bool("reversalPending", t.ReversalPending).Msg("recovered interrupted transaction")
	}
	return nil
}

// Cancel aborts the active transaction while it waits for a card.
func (e *Engine) Cancel(reference string) (*CancelResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.active
	if a == nil || a.tx == nil || (reference != "" && reference != a.reference) {
		if reference == "" {
			return nil, Errorf(CodeTransactionNotFound, "No transaction is active on this terminal.")
		}
		return nil, Errorf(CodeTransactionNotFound, "Transaction %q is not the active transaction.", reference)
	}
	if !a.cancellable {
		return nil, Errorf(CodeCancelNotAllowed, "A card was already presented and authorisation is in flight; wait for the result and refund if needed.")
	}
	a.cancellable = false
	a.cancelled = true
	a.cancel()
	return &CancelResult{Reference: a.reference, CancelledAt: e.Now()}, nil
}
