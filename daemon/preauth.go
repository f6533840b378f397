package daemon

import (
	"context"
	"slices"
	"time"
)

// The kinds of the pre-auth lifecycle after the pre-auth itself: an
// increment raises what it holds, a release gives the hold back. Neither
// joins a batch.
const (
	KindIncrement Kind = "increment"
	KindRelease   Kind = "release"
)

// HoldState is where an approved pre-auth's hold stands.
type HoldState string

// Hold states. Only HoldReleased and HoldExpired are stored (in
// Transaction.HoldEnd); the others follow from the pre-auth's record.
const (
	HoldOpen      HoldState = "open"
	HoldCompleted HoldState = "completed"
	HoldReleased  HoldState = "released"
	HoldExpired   HoldState = "expired"
)

// maxHeld is the largest amount a pre-auth may hold (12 digits, ISO 8583
// field 4).
const maxHeld = 999_999_999_999

// Held is what an approved pre-auth holds on the card: its amount plus
// its approved increments.
func (t *Transaction) Held() int64 { return t.Amount + t.IncrementedAmount }

// Hold tells where an approved pre-auth's hold stands at now: a hold
// past its expiry that the engine has not released yet is expired.
func (t *Transaction) Hold(now time.Time) HoldState {
	switch {
	case t.HoldEnd != "":
		return t.HoldEnd
	case t.CompletionID != "":
		return HoldCompleted
	case !now.Before(t.ExpiresAt):
		return HoldExpired
	}
	return HoldOpen
}

// reversalAmount is what a reversal of t gives back: a pre-auth's whole
// hold, else the amount charged.
func (t *Transaction) reversalAmount() int64 { return t.TotalAmount() + t.IncrementedAmount }

// IncrementRequest raises what an approved pre-auth holds by Amount.
type IncrementRequest struct {
	OriginalReference string
	Amount            int64
	Reference         string
}

// ReleaseRequest gives an approved pre-auth's hold back to the card.
type ReleaseRequest struct {
	OriginalReference string
	Reference         string
}

// HoldStore keeps the index of the pre-auths that hold funds (*store.DB
// implements it); the engine lists and expires holds through it.
type HoldStore interface {
	// OpenHolds returns every approved pre-auth whose hold was neither
	// completed, released nor expired.
	OpenHolds() ([]*Transaction, error)
	// ExpireHold ends an open hold as expired at the time and queues the
	// pre-auth's reversal, in one commit.
	ExpireHold(id string, at time.Time) (*Transaction, error)
}

// holdStore is the store's HoldStore.
func (e *Engine) holdStore() (HoldStore, error) {
	hs, ok := e.deps.Store.(HoldStore)
	if !ok {
		return nil, Errorf(CodeInternalError, "This terminal's database keeps no pre-auth holds.")
	}
	return hs, nil
}

// Increment raises an open pre-auth's hold by an incremental
// authorisation at the host; the hold's validity restarts from the
// approval. A declined increment leaves the hold as it was. No card is
// needed.
func (e *Engine) Increment(ctx context.Context, r IncrementRequest) (*Result, error) {
	if res, err := e.replay(KindIncrement, r.Reference, func(t *Transaction) bool {
		return t.Amount == r.Amount && t.OriginalReference == r.OriginalReference
	}); res != nil || err != nil {
		return res, err
	}
	t := &Transaction{Kind: KindIncrement, Reference: r.Reference, Amount: r.Amount, OriginalReference: r.OriginalReference}
	return e.runOnOriginal(ctx, t, func() (*Transaction, error) {
		orig, err := e.openHold(r.OriginalReference)
		if err != nil {
			return nil, err
		}
		if orig.Held()+r.Amount > maxHeld {
			return nil, Errorf(CodeInvalidRequest, "amount: the pre-auth would hold more than %d.", int64(maxHeld))
		}
		t.Currency, t.HeldAmount = orig.Currency, orig.Held()+r.Amount
		return orig, nil
	}, e.capture)
}

// Release gives an open pre-auth's hold back: the release and the end of
// the hold are booked in one commit that also queues the pre-auth's
// reversal (0400), which is then sent and, until the host acknowledges
// it, retried like every other reversal. A completion afterwards is
// refused with preauth_released.
func (e *Engine) Release(ctx context.Context, r ReleaseRequest) (*Result, error) {
	if res, err := e.replay(KindRelease, r.Reference, func(t *Transaction) bool {
		return t.OriginalReference == r.OriginalReference
	}); res != nil || err != nil {
		return res, err
	}
	t := &Transaction{Kind: KindRelease, Reference: r.Reference, OriginalReference: r.OriginalReference}
	return e.runOnOriginal(ctx, t, func() (*Transaction, error) {
		orig, err := e.openHold(r.OriginalReference)
		if err != nil {
			return nil, err
		}
		t.Currency, t.Amount = orig.Currency, orig.Held()
		return orig, nil
	}, e.releaseHold)
}

// HoldInfo is one pre-auth that holds funds and its hold's state now.
type HoldInfo struct {
	Tx    *Transaction
	State HoldState
}

// Holds lists the pre-auths that hold funds, oldest first. A hold past
// its expiry is listed (as expired) until the engine has released it.
func (e *Engine) Holds() ([]HoldInfo, error) {
	hs, err := e.holdStore()
	if err != nil {
		return nil, err
	}
	list, err := hs.OpenHolds()
	if err != nil {
		return nil, storageError(err)
	}
	slices.SortFunc(list, func(a, b *Transaction) int { return a.StartedAt.Compare(b.StartedAt) })
	now := e.Now()
	out := make([]HoldInfo, 0, len(list))
	for _, t := range list {
		out = append(out, HoldInfo{Tx: t, State: t.Hold(now)})
	}
	return out, nil
}

// openHold looks up the approved pre-auth a lifecycle step refers to and
// refuses one that holds nothing any more.
func (e *Engine) openHold(ref string) (*Transaction, error) {
	orig, err := e.original(KindPreauth, ref)
	if err != nil {
		return nil, err
	}
	switch orig.Hold(e.Now()) {
	case HoldCompleted:
		return nil, Errorf(CodePreauthCompleted, "Pre-auth %q was already completed (%s).", ref, orig.CompletionID)
	case HoldReleased:
		return nil, Errorf(CodePreauthReleased, "Pre-auth %q was released at %s; it holds nothing any more.", ref, orig.ReleasedAt.Format(time.RFC3339))
	case HoldExpired:
		return nil, Errorf(CodePreauthExpired, "Pre-auth %q expired at %s; the held funds have been released.", ref, orig.ExpiresAt.Format(time.RFC3339))
	}
	return orig, nil
}

// releaseHold is the body of a release: book it with the pre-auth's
// reversal queued, then send the queue.
func (e *Engine) releaseHold(a *active, _ *Transaction) {
	t := a.tx
	t.Status = StatusApproved
	t.CompletedAt = e.Now()
	if !e.finish(t) {
		return
	}
	e.retryReversals(e.base)
}

// expireHolds ends the holds whose validity ran out: each is marked
// expired with its reversal queued in one commit, and the queue is sent
// in the background. While the terminal is busy it waits for the next
// check. A read-only database is left alone (nothing could be booked).
func (e *Engine) expireHolds() {
	hs, ok := e.deps.Store.(HoldStore)
	if !ok {
		return
	}
	if ro, ok := e.deps.Store.(interface{ ReadOnly() bool }); ok && ro.ReadOnly() {
		// Nothing can be written; the holds wait for a writable database.
		return
	}
	now := e.Now()
	list, err := hs.OpenHolds()
	if err != nil {
		e.deps.Log.Warn().Err(err).Msg("cannot read the open pre-auth holds")
		return
	}
	list = slices.DeleteFunc(list, func(t *Transaction) bool { return now.Before(t.ExpiresAt) })
	if len(list) == 0 {
		return
	}
	// Status shows the work as the release of the first hold.
	a := &active{kind: string(KindRelease), reference: list[0].Reference, stage: StageAuthorising, startedAt: now}
	if e.acquire(a) != nil {
		return
	}
	expired := 0
	for _, t := range list {
		if _, err := hs.ExpireHold(t.ID, now); err != nil {
			e.deps.Log.Error().Err(err).Str("transactionId", t.ID).Msg("cannot expire pre-auth hold")
			continue
		}
		expired++
		e.deps.Log.Info().Str("transactionId", t.ID).Str("reference", t.Reference).Int64("held", t.Held()).
			Msg("pre-auth expired; hold is being released")
	}
	e.release(a)
	if expired > 0 {
		e.kickReversals()
	}
}
