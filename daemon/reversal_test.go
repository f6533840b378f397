package daemon_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/host"
	"github.com/vinr/cashlessd/daemon/host/hostsim"
	"github.com/vinr/cashlessd/daemon/store"
	"github.com/vinr/cashlessd/internal/logbuf"
	"github.com/vinr/cashlessd/pan"
)

// recoveryRig is what a restarted daemon finds: its bbolt file (written by
// the run before) and the acquirer host, a simulator on loopback TCP.
type recoveryRig struct {
	db      *store.DB
	srv     *hostsim.Server
	client  *host.Client
	hostLog *logbuf.Buffer
}

func newRecoveryRig(t *testing.T) *recoveryRig {
	t.Helper()
	db, err := store.Open(t.TempDir(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	r := &recoveryRig{db: db, hostLog: &logbuf.Buffer{}}
	r.srv, err = hostsim.New(hostsim.Config{Log: zerolog.New(r.hostLog)})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.srv.Listen(context.Background(), "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.srv.Close() })
	r.client, err = host.New(host.Config{Address: r.srv.Addr(), TerminalID: "T0000001", MerchantID: "M00000000000001",
		Timeout: 5 * time.Second, Counters: host.NewMemoryCounters(nil), Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.client.Close() })
	return r
}

// authorise has the host approve a sale of tx, as the run before the
// restart did.
func (r *recoveryRig) authorise(t *testing.T, tx *daemon.Transaction) {
	t.Helper()
	const number = "4242424242424242"
	card := &daemon.CardData{PAN: number, ExpiryYYMM: "3012", CardSequenceNo: "1",
		Info:    daemon.CardInfo{MaskedPAN: pan.Mask(number), Scheme: "visa", EntryMethod: daemon.EntryChip},
		ICCData: []byte{0x9F, 0x26, 0x08, 1, 2, 3, 4, 5, 6, 7, 8}}
	resp, err := r.client.Authorise(context.Background(), daemon.AuthRequest{Kind: tx.Kind, TransactionID: tx.ID,
		Reference: tx.Reference, Amount: tx.Amount, Currency: tx.Currency, Card: card, Time: tx.StartedAt})
	if err != nil || !resp.Approved {
		t.Fatalf("the host did not approve %s: %+v %v", tx.ID, resp, err)
	}
	tx.AuthCode, tx.HostReference = resp.AuthCode, resp.HostReference
}

// start runs an engine over the rig with a retry interval no test could
// wait for: whatever reaches the host came from Start or the loop's first
// pass.
func (r *recoveryRig) start(t *testing.T) *daemon.Engine {
	t.Helper()
	e := daemon.New(daemon.Config{TerminalID: "T0000001", Currency: "USD", ReversalRetry: time.Hour},
		daemon.Deps{Store: r.db, Host: r.client, Log: zerolog.Nop()})
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = e.Stop(ctx)
	})
	return e
}

// reversed waits until the host's ledger shows tx's approval reversed; the
// deadline is a safety net an hour short of the retry interval.
func (r *recoveryRig) reversed(t *testing.T, id string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, a := range r.srv.Ledger().Approvals {
			if a.TransactionID == id && a.Reversed {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the host still holds %s: %+v", id, r.srv.Ledger().Approvals)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func pendingSale(id, ref string) *daemon.Transaction {
	return &daemon.Transaction{ID: id, Kind: daemon.KindSale, Reference: ref, Status: daemon.StatusPending,
		Stage: daemon.StageAuthorising, Amount: 2500, Currency: "USD", StartedAt: time.Now().UTC()}
}

// TestQueuedReversalsGoOutRightAfterStart: a reversal the host could not
// take before the restart (the sale failed, its reversal queued) reaches
// the host as soon as the engine starts, not one retry interval (here an
// hour) later, so the customer's hold is released at once.
func TestQueuedReversalsGoOutRightAfterStart(t *testing.T) {
	t.Parallel()
	r := newRecoveryRig(t)
	tx := pendingSale("tpay_QUEUED", "Q-1")
	r.authorise(t, tx)
	if err := r.db.CreateTransaction(tx); err != nil {
		t.Fatal(err)
	}
	tx.Status, tx.Stage, tx.CompletedAt, tx.ReversalPending = daemon.StatusFailed, daemon.StageDone, time.Now().UTC(), true
	tx.ErrorCode = daemon.CodeCommunicationError
	if err := r.db.FinishTransaction(tx, "batch_1"); err != nil {
		t.Fatal(err)
	}

	e := r.start(t)
	r.reversed(t, tx.ID)
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := e.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.PendingReversals == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the reversal stays queued: %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRecoveryReversesEveryPendingTransaction: after a crash nothing on
// disk says whether a pending transaction's request had left, so Start
// reverses each one: the one the host approved is reversed there, and the
// one the crash caught before the host was contacted costs one reversal
// the host acknowledges without booking anything. Both end failed, with
// nothing left queued, before Start returns.
func TestRecoveryReversesEveryPendingTransaction(t *testing.T) {
	t.Parallel()
	r := newRecoveryRig(t)
	before := pendingSale("tpay_BEFOREHOST", "B-1")
	before.Stage = daemon.StageWaitingForCard
	after := pendingSale("tpay_AFTERHOST", "A-1")
	r.authorise(t, after)
	for _, tx := range []*daemon.Transaction{before, after} {
		if err := r.db.CreateTransaction(tx); err != nil {
			t.Fatal(err)
		}
	}

	r.start(t)
	r.reversed(t, after.ID)
	for _, a := range r.srv.Ledger().Approvals {
		if a.TransactionID == before.ID {
			t.Fatalf("the host booked a sale it never saw: %+v", a)
		}
	}
	if logs := r.hostLog.String(); !strings.Contains(logs, before.ID) {
		t.Fatalf("no reversal of %s reached the host:\n%s", before.ID, logs)
	}
	for _, tx := range []*daemon.Transaction{before, after} {
		got, err := r.db.Transaction(tx.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != daemon.StatusFailed || got.ReversalPending || !strings.Contains(got.ErrorMessage, "it was reversed") {
			t.Errorf("%s after recovery: %s %q reversalPending=%v", tx.ID, got.Status, got.ErrorMessage, got.ReversalPending)
		}
	}
}
