package daemon

import (
	"context"
	"errors"
	"time"
)

// BatchResult is a closed batch; Replayed is set when the reference had
// already closed it and nothing was settled again.
type BatchResult struct {
	Batch    *Batch
	Replayed bool
}

// CloseBatch settles the open batch with the host and closes it under the
// reference. Closing again with the same reference returns the same batch.
func (e *Engine) CloseBatch(ctx context.Context, reference string) (*BatchResult, error) {
	return e.closeBatch(ctx, reference, false)
}

func (e *Engine) closeBatch(ctx context.Context, reference string, automatic bool) (*BatchResult, error) {
	if b, err := e.deps.Store.BatchByReference(reference); err == nil {
		return &BatchResult{Batch: b, Replayed: true}, nil
	} else if !errors.Is(err, ErrNotFound) {
		return nil, storageError(err)
	}
	a := &active{kind: "batch_close", reference: reference, stage: StageAuthorising, startedAt: e.Now(), ecrID: ECRFrom(ctx)}
	if err := e.acquire(a); err != nil {
		return nil, err
	}
	e.emitStage(a, StageAuthorising)
	var (
		res  *BatchResult
		rerr error
	)
	go func() {
		defer e.release(a)
		res, rerr = e.settle(reference, automatic)
	}()
	if err := wait(ctx, a); err != nil {
		return nil, err
	}
	return res, rerr
}

// settle runs under the terminal. A batch already handed to the host
// (settling) is finished first, with the very totals and batch number it
// was first sent with; then the open batch begins settling under the
// reference, the host confirms it and it is closed locally.
func (e *Engine) settle(reference string, automatic bool) (*BatchResult, error) {
	// A close that raced in with the same reference already finished.
	if b, err := e.deps.Store.BatchByReference(reference); err == nil {
		return &BatchResult{Batch: b, Replayed: true}, nil
	}
	var finished *Batch
	settling, err := e.deps.Store.SettlingBatch()
	switch {
	case err == nil:
		if finished, _, err = e.finishSettlement(settling); err != nil {
			return nil, pendingSettlementError(settling, err)
		}
		if finished.Reference == reference {
			return &BatchResult{Batch: finished}, nil
		}
	case !errors.Is(err, ErrNotFound):
		return nil, storageError(err)
	}
	open, err := e.deps.Store.OpenBatch()
	switch {
	case errors.Is(err, ErrNotFound):
		open = nil
	case err != nil:
		return nil, storageError(err)
	}
	if open == nil || open.TransactionCount() == 0 {
		if automatic && finished != nil {
			// The daily close finished the pending settlement; an
			// empty batch on top of it would say nothing.
			return &BatchResult{Batch: finished}, nil
		}
		b, err := e.deps.Store.CloseBatch(reference, e.Now(), automatic, e.ids.New("batch"), e.cfg.Currency)
		if err != nil {
			return nil, storageError(err)
		}
		return &BatchResult{Batch: e.closed(b)}, nil
	}
	// Reversals and offline approvals reach the host before the totals.
	e.retryReversals(e.base)
	if n := e.pendingOfflineAdvices(); n > 0 {
		return nil, Errorf(CodeCommunicationError, "%d offline approvals could not be forwarded to the acquirer host yet; the batch stays open. Retry batch/close.", n)
	}
	// From here the totals may reach the host: the batch takes no more
	// transactions and keeps its batch number until the host confirms it.
	settling, err = e.deps.Store.BeginSettlement(reference, automatic)
	if err != nil {
		return nil, storageError(err)
	}
	e.emitBatch(settling)
	b, maybeSettled, err := e.finishSettlement(settling)
	switch {
	case err == nil:
		return &BatchResult{Batch: b}, nil
	case maybeSettled:
		return nil, pendingSettlementError(settling, err)
	}
	// The host surely did not settle (never reached, or it refused):
	// the batch is open again, as if this close had not been tried.
	if rerr := e.deps.Store.ReopenSettlement(settling.ID); rerr != nil {
		e.deps.Log.Warn().Err(rerr).Str("batchId", settling.ID).Msg("batch stays settling")
		return nil, pendingSettlementError(settling, err)
	}
	return nil, Errorf(CodeCommunicationError, "The acquirer host did not settle the batch; it stays open. Retry batch/close.")
}

// pendingSettlementError answers a close whose settlement the host may
// have made without the terminal knowing; an error that already speaks to
// the ECR (storage) is passed on.
func pendingSettlementError(s *Batch, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Errorf(CodeCommunicationError, "The acquirer host did not confirm the settlement of the batch closed under reference %q; it stays pending and new transactions go to the next batch. Retry batch/close.", s.Reference)
}

// finishSettlement sends a settling batch's totals (uploading the batch
// when the host's totals differ) and closes it once the host confirms.
// When it fails, maybeSettled tells whether a settlement went out without
// an answer, so the host may have made it.
func (e *Engine) finishSettlement(s *Batch) (b *Batch, maybeSettled bool, err error) {
	err = e.deps.Host.Settle(e.base, SettlementRequest{Batch: s})
	maybeSettled = errors.Is(err, ErrOutcomeUnknown)
	if errors.Is(err, ErrTotalsMismatch) {
		maybeSettled, err = e.uploadAndSettle(s)
	}
	if err != nil {
		e.deps.Log.Warn().Err(err).Str("batchId", s.ID).Uint32("hostBatch", s.HostBatch).Bool("maybeSettled", maybeSettled).
			Msg("settlement failed")
		return nil, maybeSettled, err
	}
	if b, err = e.deps.Store.FinishSettlement(s.ID, e.Now()); err != nil {
		// The host settled; only the local close failed.
		return nil, true, storageError(err)
	}
	return e.closed(b), false, nil
}

// closed logs a closed batch and prints its settlement report.
func (e *Engine) closed(b *Batch) *Batch {
	e.emitBatch(b)
	e.deps.Log.Info().Str("batchId", b.ID).Str("reference", b.Reference).Int64("count", b.TransactionCount()).
		Int64("total", b.TotalAmount()).Bool("automatic", b.Automatic).Uint32("hostBatch", b.HostBatch).Msg("batch closed")
	if e.cfg.PrintSettlement && e.cfg.HasPrinter && e.deps.Printer != nil {
		ctx, cancel := context.WithTimeout(e.base, printTimeout)
		err := e.deps.Printer.Print(ctx, BuildSettlementReport(e.cfg.Receipt, b))
		e.printed()
		if err != nil {
			e.deps.Log.Warn().Err(err).Str("batchId", b.ID).Msg("settlement report not printed")
		}
		cancel()
	}
	return b
}

// uploadAndSettle answers a totals mismatch: every transaction of the
// batch goes to the host (batch upload), then the settlement is repeated.
// It reports, as finishSettlement does, whether the second settlement may
// have been made without an answer.
func (e *Engine) uploadAndSettle(b *Batch) (maybeSettled bool, err error) {
	up, ok := e.deps.Host.(BatchUploader)
	if !ok {
		return false, ErrTotalsMismatch
	}
	txs, err := e.deps.Store.BatchTransactions(b.ID)
	if err != nil {
		return false, err
	}
	e.deps.Log.Warn().Str("batchId", b.ID).Int("transactions", len(txs)).Msg("host totals differ: uploading the batch")
	if err := up.UploadBatch(e.base, BatchUploadRequest{Batch: b, Transactions: txs}); err != nil {
		return false, err
	}
	err = e.deps.Host.Settle(e.base, SettlementRequest{Batch: b})
	return errors.Is(err, ErrOutcomeUnknown), err
}

// nextSettlement is the first daily settlement time after now.
func (e *Engine) nextSettlement(now time.Time) time.Time {
	if !e.cfg.AutoSettle {
		return time.Time{}
	}
	loc := e.cfg.Receipt.Location
	if loc == nil {
		loc = time.UTC
	}
	local := now.In(loc)
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	at := day.Add(e.cfg.SettleAt)
	if !at.After(now) {
		at = day.AddDate(0, 0, 1).Add(e.cfg.SettleAt)
	}
	return at
}

// autoRetryEvery is how long a failed daily settlement waits before it is
// tried again.
const autoRetryEvery = time.Minute

// CheckSchedule releases the pre-auth holds that expired (expireHolds) and
// closes the batch when the daily settlement time has come.
// The engine calls it every second; the simulator's clock calls it after
// moving time forward. A busy terminal settles as soon as it is free.
func (e *Engine) CheckSchedule() {
	// One check at a time: the loop's ticker and the simulator's clock
	// both call it, and two checks that both found the settlement due
	// would close the batch twice (the second seeing terminal_busy).
	e.scheduling.Lock()
	defer e.scheduling.Unlock()
	e.expireHolds()
	e.mu.Lock()
	due := e.nextAuto
	now := e.Now()
	if due.IsZero() || now.Before(due) || now.Before(e.autoRetryAt) || e.active != nil || e.draining {
		e.mu.Unlock()
		return
	}
	e.mu.Unlock()
	loc := e.cfg.Receipt.Location
	if loc == nil {
		loc = time.UTC
	}
	ref := "AUTO-" + due.In(loc).Format("20060102-1504")
	open, err := e.deps.Store.OpenBatch()
	_, serr := e.deps.Store.SettlingBatch()
	if (err == nil && open.TransactionCount() > 0) || serr == nil {
		if _, err := e.closeBatch(e.base, ref, true); err != nil {
			e.mu.Lock()
			e.autoRetryAt = now.Add(autoRetryEvery)
			e.mu.Unlock()
			e.deps.Log.Warn().Err(err).Dur("retryIn", autoRetryEvery).Msg("automatic settlement will be retried")
			return
		}
	}
	e.mu.Lock()
	e.nextAuto = e.nextSettlement(now)
	e.autoRetryAt = time.Time{}
	e.mu.Unlock()
}

// pendingOfflineAdvices counts the offline approvals whose advice waits:
// the host's totals lack them. A waiting TC advice (an online approval's
// script results) does not hold the settlement back: the host has the
// approval already.
func (e *Engine) pendingOfflineAdvices() int {
	adv, err := e.deps.Store.PendingAdvices()
	if err != nil {
		return 0
	}
	n := 0
	for _, t := range adv {
		if t.Offline {
			n++
		}
	}
	return n
}
