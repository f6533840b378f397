package daemon_test

import (
	"testing"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/host/hostsim"
	"github.com/vinr/cashlessd/daemon/store"
)

// hostApproval is the host's approval of a transaction.
func hostApproval(t *testing.T, l hostsim.Ledger, id string) hostsim.Approval {
	t.Helper()
	for _, a := range l.Approvals {
		if a.TransactionID == id {
			return a
		}
	}
	t.Fatalf("the host has no approval of %s: %+v", id, l.Approvals)
	return hostsim.Approval{}
}

// preauth runs an approved pre-auth with a card presented at once.
func (m *terminal) preauth(ref string, amount int64) *daemon.Transaction {
	m.t.Helper()
	m.card(daemon.SimCard{PresentAfter: ptr(time.Duration(0))})
	res, err := m.engine.Preauth(m.t.Context(), daemon.PreauthRequest{Amount: amount, Currency: "USD", Reference: ref})
	return wantApproved(m.t, res, err)
}

func (m *terminal) increment(orig, ref string, amount int64) (*daemon.Result, error) {
	return m.engine.Increment(m.t.Context(), daemon.IncrementRequest{OriginalReference: orig, Amount: amount, Reference: ref})
}

func (m *terminal) releaseHold(orig, ref string) (*daemon.Result, error) {
	return m.engine.Release(m.t.Context(), daemon.ReleaseRequest{OriginalReference: orig, Reference: ref})
}

func (m *terminal) complete(orig, ref string, amount int64) (*daemon.Result, error) {
	return m.engine.Complete(m.t.Context(), daemon.CompletionRequest{OriginalReference: orig, CaptureAmount: amount, Currency: "USD", Reference: ref})
}

// stored reads a transaction from the database.
func (m *terminal) stored(id string) *daemon.Transaction {
	m.t.Helper()
	t, err := m.db.Transaction(id)
	if err != nil {
		m.t.Fatal(err)
	}
	return t
}

func TestIncrementRaisesTheHoldAndTheCapture(t *testing.T) {
	t.Parallel()
	m := startTerminal(t, "", nil)
	pa := m.preauth("HOTEL-1", 10000)
	if err := m.sim.AdvanceClock(time.Hour); err != nil {
		t.Fatal(err)
	}
	res, err := m.increment("HOTEL-1", "HOTEL-1-INC-1", 2000)
	inc := wantApproved(t, res, err)
	if inc.Kind != daemon.KindIncrement || inc.HeldAmount != 12000 || inc.OriginalID != pa.ID || inc.Currency != "USD" || inc.AuthCode == "" {
		t.Fatalf("increment: %+v", inc)
	}
	if want := inc.CompletedAt.Add(7 * 24 * time.Hour); !inc.ExpiresAt.Equal(want) || !inc.ExpiresAt.After(pa.ExpiresAt) {
		t.Fatalf("expiresAt %s, want %s (validity restarts from the increment)", inc.ExpiresAt, want)
	}
	if got := m.stored(pa.ID); got.Held() != 12000 || !got.ExpiresAt.Equal(inc.ExpiresAt) {
		t.Fatalf("pre-auth after the increment: held %d, expires %s", got.Held(), got.ExpiresAt)
	}
	l := m.ledger()
	if a := hostApproval(t, l, pa.ID); a.Held() != 12000 || a.Incremented != 2000 {
		t.Fatalf("host's pre-auth: %+v", a)
	}
	if a := hostApproval(t, l, inc.ID); a.Kind != "increment" || a.MTI != "0100" || a.Amount != 2000 || a.OriginalRRN != pa.HostReference {
		t.Fatalf("host's increment: %+v", a)
	}

	// Repeats replay; other parameters under the reference are refused.
	again, err := m.increment("HOTEL-1", "HOTEL-1-INC-1", 2000)
	if err != nil || !again.Replayed || again.Tx.ID != inc.ID {
		t.Fatalf("repeat: %+v %v", again, err)
	}
	_, err = m.increment("HOTEL-1", "HOTEL-1-INC-1", 2500)
	wantCode(t, err, daemon.CodeDuplicateReference)
	_, err = m.increment("NO-SUCH", "HOTEL-1-INC-9", 100)
	wantCode(t, err, daemon.CodeTransactionNotFound)

	// The simulated issuer lets a hold grow to five times its first
	// amount: this one is declined and the hold stays as it was.
	res, err = m.increment("HOTEL-1", "HOTEL-1-INC-2", 40000)
	d := wantFinished(t, res, err, daemon.StatusDeclined, daemon.CodeCardDeclined)
	if d.DeclineCode == "" {
		t.Fatalf("decline without a code: %+v", d)
	}
	if got := m.stored(pa.ID); got.Held() != 12000 {
		t.Fatalf("a declined increment changed the hold to %d", got.Held())
	}
	if a := hostApproval(t, m.ledger(), pa.ID); a.Held() != 12000 {
		t.Fatalf("a declined increment changed the host's hold: %+v", a)
	}
	if st := m.status(); st.OpenBatchCount != 0 {
		t.Fatal("an increment must not join the batch")
	}

	_, err = m.complete("HOTEL-1", "HOTEL-1-FINAL", 12001)
	wantCode(t, err, daemon.CodeAmountExceedsOriginal)
	res, err = m.complete("HOTEL-1", "HOTEL-1-FINAL", 12000)
	wantApproved(t, res, err)
	_, err = m.increment("HOTEL-1", "HOTEL-1-INC-3", 100)
	wantCode(t, err, daemon.CodePreauthCompleted)
	if holds, err := m.engine.Holds(); err != nil || len(holds) != 0 {
		t.Fatalf("holds after the completion: %+v %v", holds, err)
	}
}

func TestReleaseEndsTheHold(t *testing.T) {
	t.Parallel()
	m := startTerminal(t, "", nil)
	pa := m.preauth("ROOM-1", 8000)
	other := m.preauth("ROOM-2", 3000)
	holds, err := m.engine.Holds()
	if err != nil || len(holds) != 2 || holds[0].Tx.ID != pa.ID || holds[1].Tx.ID != other.ID || holds[0].State != daemon.HoldOpen {
		t.Fatalf("holds: %+v %v", holds, err)
	}
	res, err := m.increment("ROOM-1", "ROOM-1-INC", 1000)
	wantApproved(t, res, err)

	res, err = m.releaseHold("ROOM-1", "ROOM-1-REL")
	rel := wantApproved(t, res, err)
	if rel.Kind != daemon.KindRelease || rel.Amount != 9000 || rel.OriginalID != pa.ID {
		t.Fatalf("release: %+v", rel)
	}
	got := m.stored(pa.ID)
	if got.HoldEnd != daemon.HoldReleased || got.ReleaseID != rel.ID || got.ReversalPending || got.Hold(m.engine.Now()) != daemon.HoldReleased {
		t.Fatalf("pre-auth after the release: %+v", got)
	}
	if a := hostApproval(t, m.ledger(), pa.ID); !a.Reversed || a.Held() != 0 {
		t.Fatalf("the host still holds the pre-auth: %+v", a)
	}
	if st := m.status(); st.PendingReversals != 0 || st.OpenBatchCount != 0 {
		t.Fatalf("status: %+v", st)
	}
	holds, err = m.engine.Holds()
	if err != nil || len(holds) != 1 || holds[0].Tx.ID != other.ID {
		t.Fatalf("holds after the release: %+v %v", holds, err)
	}

	_, err = m.complete("ROOM-1", "ROOM-1-FINAL", 100)
	wantCode(t, err, daemon.CodePreauthReleased)
	_, err = m.increment("ROOM-1", "ROOM-1-INC-2", 100)
	wantCode(t, err, daemon.CodePreauthReleased)
	_, err = m.releaseHold("ROOM-1", "ROOM-1-REL-2")
	wantCode(t, err, daemon.CodePreauthReleased)
	again, err := m.releaseHold("ROOM-1", "ROOM-1-REL")
	if err != nil || !again.Replayed || again.Tx.ID != rel.ID {
		t.Fatalf("repeat: %+v %v", again, err)
	}
	_, err = m.releaseHold("ROOM-2", "ROOM-1-REL")
	wantCode(t, err, daemon.CodeDuplicateReference)
}

// TestReleaseWithTheHostDownIsDelivered: the hold is released at once
// and its reversal waits in the queue until the host takes it.
func TestReleaseWithTheHostDownIsDelivered(t *testing.T) {
	t.Parallel()
	m := startTerminal(t, "", hostTimeout)
	pa := m.preauth("CAR-1", 5000)
	m.hostOffline()
	res, err := m.releaseHold("CAR-1", "CAR-1-REL")
	wantApproved(t, res, err)
	if st := m.status(); st.PendingReversals != 1 {
		t.Fatalf("the reversal should be queued: %+v", st)
	}
	_, err = m.complete("CAR-1", "CAR-1-FINAL", 100)
	wantCode(t, err, daemon.CodePreauthReleased)
	m.host(daemon.SimHost{Offline: ptr(false)})
	// Queued reversals go out before the next host message.
	m.preauth("CAR-2", 100)
	if st := m.status(); st.PendingReversals != 0 {
		t.Fatalf("reversal still queued: %d", st.PendingReversals)
	}
	if a := hostApproval(t, m.ledger(), pa.ID); !a.Reversed {
		t.Fatalf("the host still holds the pre-auth: %+v", a)
	}
}

// TestLostIncrementAnswerIsReversed: the host booked the increment but its
// answer never came back; the increment is reversed and the hold is what
// it was.
func TestLostIncrementAnswerIsReversed(t *testing.T) {
	t.Parallel()
	m := startTerminal(t, "", hostTimeout)
	pa := m.preauth("BOAT-1", 6000)
	m.host(daemon.SimHost{DropResponse: ptr(true)})
	res, err := m.increment("BOAT-1", "BOAT-1-INC", 1500)
	inc := wantFinished(t, res, err, daemon.StatusFailed, daemon.CodeCommunicationError)
	m.host(daemon.SimHost{DropResponse: ptr(false)})
	res, err = m.increment("BOAT-1", "BOAT-1-INC", 1500)
	again := wantApproved(t, res, err)
	if again.ID == inc.ID || again.HeldAmount != 7500 {
		t.Fatalf("retried increment: %+v", again)
	}
	l := m.ledger()
	if a := hostApproval(t, l, inc.ID); !a.Reversed {
		t.Fatalf("the lost increment was not reversed: %+v", a)
	}
	if a := hostApproval(t, l, pa.ID); a.Held() != 7500 {
		t.Fatalf("host holds %d, want 7500: %+v", a.Held(), a)
	}
	if got := m.stored(pa.ID); got.Held() != 7500 {
		t.Fatalf("terminal holds %d, want 7500", got.Held())
	}
}

// TestInterruptedIncrementAndReleaseAreResolvedAtStart: what a power cut
// leaves of an increment and a release (pending records) is failed at the
// restart; the hold is what it was and the ECR may try again.
func TestInterruptedIncrementAndReleaseAreResolvedAtStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	m := startTerminal(t, dir, nil)
	pa := m.preauth("TENT-1", 4000)
	if err := m.stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(dir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for _, p := range []*daemon.Transaction{
		{ID: "tpay_01CRASHEDINC0000000000000", Kind: daemon.KindIncrement, Reference: "TENT-1-INC", Amount: 1000, HeldAmount: 5000,
			Currency: "USD", OriginalReference: "TENT-1", OriginalID: pa.ID, StartedAt: now},
		{ID: "tpay_01CRASHEDREL0000000000000", Kind: daemon.KindRelease, Reference: "TENT-1-REL", Amount: 4000,
			Currency: "USD", OriginalReference: "TENT-1", OriginalID: pa.ID, StartedAt: now},
	} {
		p.Status, p.Stage = daemon.StatusPending, daemon.StageAuthorising
		if err := db.CreateTransaction(p); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	m2 := startTerminal(t, dir, nil)
	if st := m2.status(); st.Busy || st.PendingReversals != 0 {
		t.Fatalf("status after recovery: %+v", st)
	}
	for _, id := range []string{"tpay_01CRASHEDINC0000000000000", "tpay_01CRASHEDREL0000000000000"} {
		if got := m2.stored(id); got.Status != daemon.StatusFailed {
			t.Fatalf("%s after recovery: %+v", id, got)
		}
	}
	if got := m2.stored(pa.ID); got.Held() != 4000 || got.HoldEnd != "" {
		t.Fatalf("pre-auth after recovery: %+v", got)
	}
	res, err := m2.increment("TENT-1", "TENT-1-INC", 1000)
	if inc := wantApproved(t, res, err); inc.HeldAmount != 5000 {
		t.Fatalf("increment after recovery: %+v", inc)
	}
	res, err = m2.releaseHold("TENT-1", "TENT-1-REL")
	if rel := wantApproved(t, res, err); rel.Amount != 5000 {
		t.Fatalf("release after recovery: %+v", rel)
	}
}

// TestExpiredHoldsAreReleased: when the clock passes a hold's expiry the
// engine marks it expired and reverses it at the host.
func TestExpiredHoldsAreReleased(t *testing.T) {
	t.Parallel()
	m := startTerminal(t, "", nil)
	pa := m.preauth("VAN-1", 7000)
	keep := m.preauth("VAN-2", 100)
	if err := m.sim.AdvanceClock(24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	res, err := m.increment("VAN-2", "VAN-2-INC", 100)
	wantApproved(t, res, err) // VAN-2's validity restarts
	if err := m.sim.AdvanceClock(6*24*time.Hour + time.Minute); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := m.stored(pa.ID)
		if got.HoldEnd == daemon.HoldExpired && !got.ReversalPending {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the expired hold was not released: %+v", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if a := hostApproval(t, m.ledger(), pa.ID); !a.Reversed {
		t.Fatalf("the host still holds the expired pre-auth: %+v", a)
	}
	_, err = m.complete("VAN-1", "VAN-1-FINAL", 100)
	wantCode(t, err, daemon.CodePreauthExpired)
	_, err = m.releaseHold("VAN-1", "VAN-1-REL")
	wantCode(t, err, daemon.CodePreauthExpired)
	holds, err := m.engine.Holds()
	if err != nil || len(holds) != 1 || holds[0].Tx.ID != keep.ID || holds[0].State != daemon.HoldOpen {
		t.Fatalf("holds: %+v %v", holds, err)
	}
	res, err = m.complete("VAN-2", "VAN-2-FINAL", 200)
	wantApproved(t, res, err)
}
