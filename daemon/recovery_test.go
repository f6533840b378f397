package daemon_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/store"
)

func TestRestartLosesNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	m := startTerminal(t, dir, nil)
	m.card(daemon.SimCard{PresentAfter: ptr(time.Duration(0))})
	sale := m.approved("PERSIST-1", 4200)
	res, err := m.engine.Preauth(t.Context(), daemon.PreauthRequest{Amount: 9000, Currency: "USD", Reference: "PERSIST-PA"})
	wantApproved(t, res, err)
	if err := m.stop(t.Context()); err != nil {
		t.Fatal(err)
	}

	m2 := startTerminal(t, dir, nil)
	st := m2.status()
	if lt := st.LastTransaction; lt == nil || lt.Reference != "PERSIST-PA" {
		t.Fatalf("last transaction: %+v", lt)
	}
	if st.OpenBatchAmount != 4200 {
		t.Fatalf("open batch lost: %d", st.OpenBatchAmount)
	}
	again, err := m2.sale("PERSIST-1", 4200)
	if err != nil || !again.Replayed {
		t.Fatalf("no replay after restart: %+v %v", again, err)
	}
	want, _ := json.Marshal(sale)
	got, _ := json.Marshal(again.Tx)
	if !bytes.Equal(got, want) {
		t.Fatalf("replay after restart differs:\n%s\n%s", want, got)
	}
	res, err = m2.engine.Refund(t.Context(), daemon.RefundRequest{OriginalReference: "PERSIST-1", Amount: 4200, Currency: "USD", Reference: "PERSIST-R"})
	wantApproved(t, res, err)
	res, err = m2.engine.Complete(t.Context(), daemon.CompletionRequest{OriginalReference: "PERSIST-PA", CaptureAmount: 9000, Currency: "USD", Reference: "PERSIST-C"})
	wantApproved(t, res, err)
	if err := m2.stop(t.Context()); err != nil {
		t.Fatal(err)
	}

	m3 := startTerminal(t, dir, nil)
	_, err = m3.engine.Refund(t.Context(), daemon.RefundRequest{OriginalReference: "PERSIST-1", Amount: 1, Currency: "USD", Reference: "PERSIST-R2"})
	wantCode(t, err, daemon.CodeAmountExceedsOriginal)
	_, err = m3.engine.Complete(t.Context(), daemon.CompletionRequest{OriginalReference: "PERSIST-PA", CaptureAmount: 1, Currency: "USD", Reference: "PERSIST-C2"})
	wantCode(t, err, daemon.CodePreauthCompleted)
	if b := m3.closeBatch("EOD"); b.Batch.TransactionCount() != 3 || b.Batch.TotalAmount() != 9000 {
		t.Fatalf("batch: %+v", b.Batch)
	}
}

func TestInterruptedTransactionIsResolvedAtStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, err := store.Open(dir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// What a power cut in the middle of a sale leaves behind.
	pending := &daemon.Transaction{ID: "tpay_01CRASHED000000000000000", Kind: daemon.KindSale, Reference: "CRASH-1",
		Status: daemon.StatusPending, Stage: daemon.StageAuthorising, Amount: 5000, Currency: "USD", StartedAt: time.Now().UTC()}
	if err := db.CreateTransaction(pending); err != nil {
		t.Fatal(err)
	}
	db.Close()

	m := startTerminal(t, dir, nil)
	st := m.status()
	if lt := st.LastTransaction; st.Busy || lt == nil || lt.Reference != "CRASH-1" || lt.Status != daemon.StatusFailed || st.PendingReversals != 0 {
		t.Fatalf("status: %+v, last %+v", st, lt)
	}
	if !strings.Contains(m.logs.String(), "recovered interrupted transaction") {
		t.Error("recovery not logged")
	}
	// The ECR may retry the reference.
	m.card(daemon.SimCard{PresentAfter: ptr(time.Duration(0))})
	m.approved("CRASH-1", 5000)
}
