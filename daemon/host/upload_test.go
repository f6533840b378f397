package host_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/host"
	"github.com/vinr/cashlessd/daemon/host/hostsim"
	"github.com/vinr/cashlessd/emv"
)

// termBatch is the engine's side of a batch: its totals and its
// transactions, as the store keeps them.
type termBatch struct {
	batch *daemon.Batch
	txs   []*daemon.Transaction
}

func newTermBatch() *termBatch {
	return &termBatch{batch: &daemon.Batch{ID: "batch-1", Status: daemon.BatchOpen, Currency: "MYR"}}
}

// add books an approved transaction as the store does: pre-auths are
// listed but stay out of the totals.
func (b *termBatch) add(t *daemon.Transaction) *daemon.Transaction {
	b.batch.Add(t)
	b.txs = append(b.txs, t)
	return t
}

func (b *termBatch) upload() daemon.BatchUploadRequest {
	return daemon.BatchUploadRequest{Batch: b.batch, Transactions: b.txs}
}

func (b *termBatch) settlement() daemon.SettlementRequest {
	return daemon.SettlementRequest{Batch: b.batch}
}

// approved is the stored transaction of an approved host answer.
func approved(id string, kind daemon.Kind, amount int64, resp daemon.AuthResponse) *daemon.Transaction {
	return &daemon.Transaction{ID: id, Kind: kind, Reference: "ref-" + id, Status: daemon.StatusApproved,
		Stage: daemon.StageDone, Amount: amount, Currency: "MYR", AuthCode: resp.AuthCode,
		HostReference: resp.HostReference, ResponseCode: resp.ResponseCode, HostMessage: resp.Sent,
		StartedAt: time.Now(), CompletedAt: time.Now(),
		Card: &daemon.CardInfo{MaskedPAN: "************4242", Scheme: "visa", EntryMethod: daemon.EntryChip}}
}

// offlineSale is a chip sale the card approved offline: no RRN.
func offlineSale(id string, amount int64) *daemon.Transaction {
	t := approved(id, daemon.KindSale, amount, daemon.AuthResponse{AuthCode: "Y30042", ResponseCode: "Y3"})
	t.Offline = true
	return t
}

// onlineSale authorises a sale at the host and returns the stored
// transaction.
func onlineSale(t *testing.T, r *rig, id string, amount int64) *daemon.Transaction {
	t.Helper()
	resp, err := r.client.Authorise(testCtx(t), sale(id, approvedPAN, amount))
	if err != nil || !resp.Approved {
		t.Fatalf("sale %s: %+v %v", id, resp, err)
	}
	return approved(id, daemon.KindSale, amount, resp)
}

func settlementCodes(l hostsim.Ledger) string {
	var codes []string
	for _, s := range l.Settlements {
		c := s.ResponseCode
		if s.AfterUpload {
			c += "/upload"
		}
		codes = append(codes, c)
	}
	return strings.Join(codes, ",")
}

func approvalsOf(l hostsim.Ledger, id string) []hostsim.Approval {
	var out []hostsim.Approval
	for _, a := range l.Approvals {
		if a.TransactionID == id {
			out = append(out, a)
		}
	}
	return out
}

func TestBatchUploadAfterTotalsMismatch(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := testCtx(t)
	b := newTermBatch()
	a := b.add(onlineSale(t, r, "tx-a", 1000))
	lost := b.add(onlineSale(t, r, "tx-b", 2500))
	refund := daemon.AuthRequest{Kind: daemon.KindRefund, TransactionID: "tx-r", Amount: 300, Currency: "MYR",
		Original: &daemon.HostOriginal{TransactionID: "tx-a", AuthCode: a.AuthCode, HostReference: a.HostReference, Kind: daemon.KindSale,
			Message: a.HostMessage}}
	rr, err := r.client.Authorise(ctx, refund)
	if err != nil || !rr.Approved {
		t.Fatal(rr, err)
	}
	b.add(approved("tx-r", daemon.KindRefund, 300, rr))
	pre := sale("tx-p", approvedPAN, 5000)
	pre.Kind = daemon.KindPreauth
	pr, err := r.client.Authorise(ctx, pre)
	if err != nil || !pr.Approved {
		t.Fatal(pr, err)
	}
	b.add(approved("tx-p", daemon.KindPreauth, 5000, pr)) // listed, never uploaded
	cr, err := r.client.Authorise(ctx, daemon.AuthRequest{Kind: daemon.KindCompletion, TransactionID: "tx-c", Amount: 4000,
		Currency: "MYR", Original: &daemon.HostOriginal{TransactionID: "tx-p", AuthCode: pr.AuthCode,
			HostReference: pr.HostReference, Amount: 5000, Kind: daemon.KindPreauth, Message: pr.Sent}})
	if err != nil || !cr.Approved {
		t.Fatal(cr, err)
	}
	comp := b.add(approved("tx-c", daemon.KindCompletion, 4000, cr))
	comp.Card = nil
	// An offline sale whose advice the host has, and one whose advice
	// never arrived.
	if err := r.client.Advise(ctx, advice("tx-adv", 700)); err != nil {
		t.Fatal(err)
	}
	b.add(offlineSale("tx-adv", 700))
	b.add(offlineSale("tx-off", 450))
	// The host approved a sale the terminal does not have in its batch (a
	// reversal not delivered yet), and lost its approval of tx-b.
	extra := onlineSale(t, r, "tx-x", 999)
	if err := r.srv.ForgetApproval("T0000001", "tx-b"); err != nil {
		t.Fatal(err)
	}

	err = r.client.Settle(ctx, b.settlement())
	var mm *host.MismatchError
	if !errors.Is(err, daemon.ErrTotalsMismatch) || !errors.Is(err, host.ErrTotalsMismatch) || !errors.As(err, &mm) {
		t.Fatalf("settlement with totals that differ: %v", err)
	}
	wantHost := host.BatchTotals{CaptureCount: 4, CaptureAmount: 1000 + 4000 + 700 + 999, RefundCount: 1, RefundAmount: 300}
	if mm.AfterUpload || mm.Host != wantHost || mm.Terminal != host.TotalsOf(b.batch) {
		t.Fatalf("mismatch %+v, host totals want %+v", mm, wantHost)
	}

	if err := r.client.UploadBatch(ctx, b.upload()); err != nil {
		t.Fatalf("upload: %v", err)
	}
	l := r.srv.Ledger()
	if got := approvalsOf(l, "tx-b"); len(got) != 1 || got[0].MTI != "0320" || got[0].RRN != lost.HostReference ||
		got[0].AuthCode != lost.AuthCode || got[0].Amount != 2500 || got[0].Batch != "000001" || !got[0].Uploaded || got[0].Offline {
		t.Errorf("lost approval re-booked from the upload: %+v", got)
	}
	if got := approvalsOf(l, "tx-off"); len(got) != 1 || got[0].MTI != "0320" || !got[0].Offline || !rrnRe.MatchString(got[0].RRN) ||
		got[0].AuthCode != "Y30042" || got[0].Amount != 450 || got[0].Kind != "sale" || !got[0].Uploaded {
		t.Errorf("offline sale booked from the upload: %+v", got)
	}
	if c := approval(t, l, "tx-c"); c.Kind != "completion" || c.MTI != "0220" || !c.Uploaded {
		t.Errorf("completion after upload: %+v", c)
	}
	if p := approval(t, l, "tx-p"); p.Uploaded {
		t.Errorf("pre-auth uploaded: %+v", p)
	}
	if x := approval(t, l, "tx-x"); x.Uploaded || x.RRN != extra.HostReference {
		t.Errorf("host-only approval marked uploaded: %+v", x)
	}

	if err := r.client.Settle(ctx, b.settlement()); err != nil {
		t.Fatalf("settlement after upload: %v", err)
	}
	if n, _ := r.counters.Current(host.CounterBatch); n != 1 {
		t.Errorf("batch counter %d, want 1", n)
	}
	l = r.srv.Ledger()
	if got := settlementCodes(l); got != "95,00/upload" {
		t.Fatalf("settlements %s, want 95 then 00 after upload", got)
	}
	st := l.Settlements[1]
	if st.Terminal != host.TotalsOf(b.batch) || st.Host != st.Terminal || !slices.Equal(st.Excluded, []string{"tx-x"}) {
		t.Errorf("settlement after upload: %+v, want the terminal's totals %+v", st, host.TotalsOf(b.batch))
	}
	for _, a := range l.Approvals {
		want := a.Uploaded
		if a.Settled != want {
			t.Errorf("approval %s (%s) settled=%v, want %v", a.TransactionID, a.Kind, a.Settled, want)
		}
	}
	if n := len(l.Approvals); n != 8 {
		t.Errorf("%d approvals, want 8 (7, tx-b forgotten, booked again, tx-off)", n)
	}

	// The next batch settles the usual way (920000).
	next := newTermBatch()
	next.add(onlineSale(t, r, "tx-n", 100))
	if err := r.client.Settle(ctx, next.settlement()); err != nil {
		t.Fatal(err)
	}
	if got := settlementCodes(r.srv.Ledger()); got != "95,00/upload,00" {
		t.Errorf("settlements %s", got)
	}
}

func TestBatchUploadRepeatsSettleOnce(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := testCtx(t)
	b := newTermBatch()
	b.add(onlineSale(t, r, "tx-a", 1000))
	b.add(onlineSale(t, r, "tx-b", 2000))
	if err := r.srv.ForgetApproval("T0000001", "tx-b"); err != nil {
		t.Fatal(err)
	}
	if err := r.client.Settle(ctx, b.settlement()); !errors.Is(err, daemon.ErrTotalsMismatch) {
		t.Fatalf("settlement: %v", err)
	}
	for range 2 {
		if err := r.client.UploadBatch(ctx, b.upload()); err != nil {
			t.Fatalf("upload: %v", err)
		}
	}
	if l := r.srv.Ledger(); len(l.Approvals) != 2 || len(approvalsOf(l, "tx-b")) != 1 {
		t.Fatalf("repeated upload booked twice: %+v", l.Approvals)
	}

	// The answer to the settlement after upload is lost; it is sent again.
	r.srv.SetDropResponse(true)
	if err := r.client.Settle(shortCtx(ctx, t), b.settlement()); !errors.Is(err, daemon.ErrOutcomeUnknown) {
		t.Fatalf("settlement with dropped answer: %v", err)
	}
	r.srv.SetDropResponse(false)
	if err := r.client.Settle(ctx, b.settlement()); err != nil {
		t.Fatalf("settlement repeated: %v", err)
	}
	l := r.srv.Ledger()
	if got := settlementCodes(l); got != "95,00/upload" {
		t.Errorf("settlements %s, want one 00", got)
	}
	for _, a := range l.Approvals {
		if !a.Settled {
			t.Errorf("not settled: %+v", a)
		}
	}
	if n, _ := r.counters.Current(host.CounterBatch); n != 1 {
		t.Errorf("batch counter %d, want 1", n)
	}
}

// After a restart the client no longer knows the batch was uploaded: its
// settlement goes out as 920000. When the host holds an approval the
// upload left out, that is 95 again; uploading again and settling settles
// nothing twice.
func TestBatchUploadAfterRestartSettlesOnce(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := testCtx(t)
	b := newTermBatch()
	b.add(onlineSale(t, r, "tx-a", 1000))
	b.add(offlineSale("tx-off", 450))
	onlineSale(t, r, "tx-x", 999) // the host's only
	if err := r.client.Settle(ctx, b.settlement()); !errors.Is(err, daemon.ErrTotalsMismatch) {
		t.Fatalf("settlement: %v", err)
	}
	if err := r.client.UploadBatch(ctx, b.upload()); err != nil {
		t.Fatal(err)
	}
	r.srv.SetDropResponse(true)
	if err := r.client.Settle(shortCtx(ctx, t), b.settlement()); !errors.Is(err, daemon.ErrOutcomeUnknown) {
		t.Fatalf("settlement with dropped answer: %v", err)
	}
	r.srv.SetDropResponse(false)

	restarted, err := host.New(host.Config{Address: r.srv.Addr(), TerminalID: "T0000001", MerchantID: "M00000000000001",
		Timeout: 5 * time.Second, Counters: r.counters})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = restarted.Close() })
	err = restarted.Settle(ctx, b.settlement())
	var mm *host.MismatchError
	if !errors.As(err, &mm) || mm.AfterUpload || mm.Host != (host.BatchTotals{CaptureCount: 1, CaptureAmount: 999}) {
		t.Fatalf("settlement after restart: %v", err)
	}
	if err := restarted.UploadBatch(ctx, b.upload()); err != nil {
		t.Fatal(err)
	}
	if err := restarted.Settle(ctx, b.settlement()); err != nil {
		t.Fatal(err)
	}
	l := r.srv.Ledger()
	if got := settlementCodes(l); got != "95,00/upload,95" {
		t.Errorf("settlements %s, want one 00", got)
	}
	if x := approval(t, l, "tx-x"); x.Settled {
		t.Errorf("approval the terminal never had was settled: %+v", x)
	}
	if n, _ := r.counters.Current(host.CounterBatch); n != 1 {
		t.Errorf("batch counter %d, want 1", n)
	}
}

func TestBatchUploadToOfflineHostIsUnreachable(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := testCtx(t)
	b := newTermBatch()
	b.add(onlineSale(t, r, "tx-a", 1000))
	b.add(offlineSale("tx-off", 450))
	if err := r.client.Settle(ctx, b.settlement()); !errors.Is(err, daemon.ErrTotalsMismatch) {
		t.Fatalf("settlement: %v", err)
	}
	r.srv.SetOffline(true)
	// The host dropped the link; once the client has seen that, nothing
	// can leave.
	r.logs.waitFor(ctx, t, "host link closed")
	err := r.client.UploadBatch(ctx, b.upload())
	if !errors.Is(err, daemon.ErrHostUnreachable) || errors.Is(err, daemon.ErrOutcomeUnknown) || !strings.Contains(err.Error(), "tx-a") {
		t.Fatalf("upload to an offline host: %v, want ErrHostUnreachable naming tx-a", err)
	}
	r.srv.SetOffline(false)
	// Nothing was uploaded: the settlement is still the ordinary one.
	var mm *host.MismatchError
	if err := r.client.Settle(ctx, b.settlement()); !errors.As(err, &mm) || mm.AfterUpload {
		t.Fatalf("settlement after a failed upload: %v", err)
	}
	if err := r.client.UploadBatch(ctx, b.upload()); err != nil {
		t.Fatal(err)
	}
	if err := r.client.Settle(ctx, b.settlement()); err != nil {
		t.Fatal(err)
	}
}

func TestBatchUploadWithoutAnswerIsOutcomeUnknown(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := testCtx(t)
	b := newTermBatch()
	b.add(offlineSale("tx-off", 450))
	r.srv.SetDropResponse(true)
	err := r.client.UploadBatch(shortCtx(ctx, t), b.upload())
	if !errors.Is(err, daemon.ErrOutcomeUnknown) || !strings.Contains(err.Error(), "tx-off") {
		t.Fatalf("upload without answer: %v", err)
	}
	r.srv.SetDropResponse(false)
	// The host booked it; uploading again does not book it twice.
	if err := r.client.UploadBatch(ctx, b.upload()); err != nil {
		t.Fatal(err)
	}
	if got := approvalsOf(r.srv.Ledger(), "tx-off"); len(got) != 1 {
		t.Fatalf("booked %d times: %+v", len(got), got)
	}
	if err := r.client.Settle(ctx, b.settlement()); err != nil {
		t.Fatal(err)
	}
}

func TestBatchUploadRefusedNamesTransactions(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := testCtx(t)
	b := newTermBatch()
	wrong := onlineSale(t, r, "tx-amt", 1000)
	wrong.Amount = 1200 // the terminal's record disagrees with the host's
	b.add(wrong)
	voided := b.add(onlineSale(t, r, "tx-void", 500))
	if err := r.client.Reverse(ctx, daemon.ReversalRequest{TransactionID: "tx-void", Kind: daemon.KindSale, Amount: 500,
		Currency: "MYR", HostReference: voided.HostReference}); err != nil {
		t.Fatal(err)
	}
	b.add(offlineSale("tx-off", 450))
	if err := r.client.Settle(ctx, b.settlement()); !errors.Is(err, daemon.ErrTotalsMismatch) {
		t.Fatalf("settlement: %v", err)
	}
	err := r.client.UploadBatch(ctx, b.upload())
	if !errors.Is(err, host.ErrUploadRejected) || errors.Is(err, daemon.ErrHostUnreachable) || errors.Is(err, daemon.ErrOutcomeUnknown) {
		t.Fatalf("upload with refused transactions: %v", err)
	}
	for _, want := range []string{"tx-amt", "answered 13", "tx-void", "answered 12", "2 of 3"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	// The others were still uploaded.
	if got := approvalsOf(r.srv.Ledger(), "tx-off"); len(got) != 1 || !got[0].Uploaded {
		t.Errorf("offline sale after the refused ones: %+v", got)
	}
	// The upload was not complete: the next settlement is the ordinary one.
	var mm *host.MismatchError
	if err := r.client.Settle(ctx, b.settlement()); !errors.As(err, &mm) || mm.AfterUpload {
		t.Fatalf("settlement after a refused upload: %v", err)
	}
	if n, _ := r.counters.Current(host.CounterBatch); n != 0 {
		t.Errorf("batch counter advanced: %d", n)
	}
}

func TestInvalidBatchUploadsNeverLeave(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := testCtx(t)
	good := func() *termBatch {
		b := newTermBatch()
		b.add(offlineSale("tx-1", 100))
		return b
	}
	for name, req := range map[string]daemon.BatchUploadRequest{
		"no batch": {Transactions: good().txs},
		"totals differ": func() daemon.BatchUploadRequest {
			b := good()
			b.batch.SaleAmount++
			return b.upload()
		}(),
		"transaction missing": func() daemon.BatchUploadRequest {
			b := good()
			b.txs = nil
			return b.upload()
		}(),
		"no ID": func() daemon.BatchUploadRequest {
			b := good()
			b.txs[0].ID = ""
			return b.upload()
		}(),
		"unknown currency": func() daemon.BatchUploadRequest {
			b := good()
			b.txs[0].Currency = "XXX"
			return b.upload()
		}(),
		"listed twice": func() daemon.BatchUploadRequest {
			b := good()
			b.add(offlineSale("tx-1", 100))
			return b.upload()
		}(),
	} {
		if err := r.client.UploadBatch(ctx, req); !errors.Is(err, host.ErrInvalidRequest) {
			t.Errorf("%s: %v, want ErrInvalidRequest", name, err)
		}
	}
	if tr := r.srv.Traffic(); tr.MessagesIn != 0 {
		t.Errorf("invalid uploads sent %d messages", tr.MessagesIn)
	}
}

// The batch upload carries each transaction's final chip data (55): the
// host learns the issuer script results of a sale whose TC advice it
// never got, and books an offline sale it never heard of with its TC.
func TestBatchUploadCarriesFinalChipData(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := testCtx(t)
	b := newTermBatch()
	scripted := b.add(onlineSale(t, r, "tx-s", hostsim.TestAmountMin+hostsim.TestScriptMalformed))
	scripted.AdviceICC = withScriptResults(0x10, 'S', 'C', 0x00, 0x74)
	off := b.add(offlineSale("tx-o", 450))
	off.AdviceICC = chipData(emv.CryptogramTC, "Y3")
	if err := r.client.Settle(ctx, b.settlement()); !errors.Is(err, daemon.ErrTotalsMismatch) {
		t.Fatalf("settlement: %v, want 95", err)
	}
	if err := r.client.UploadBatch(ctx, b.upload()); err != nil {
		t.Fatal(err)
	}
	l := r.srv.Ledger()
	if a := approval(t, l, "tx-s"); a.ScriptResults != "1053430074" || !a.Uploaded {
		t.Errorf("scripted sale %+v", a)
	}
	if a := approval(t, l, "tx-o"); !a.Offline || !a.Uploaded || a.ScriptResults != "" {
		t.Errorf("offline sale %+v", a)
	}
	if err := r.client.Settle(ctx, b.settlement()); err != nil {
		t.Fatal(err)
	}
}
