package host_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/host"
	"github.com/vinr/cashlessd/daemon/host/hostsim"
	"github.com/vinr/cashlessd/pan"
)

var (
	authCodeRe = regexp.MustCompile(`^[A-Z0-9]{6}$`)
	rrnRe      = regexp.MustCompile(`^[0-9]{12}$`)
)

func TestSaleApproved(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := testCtx(t)
	resp, err := r.client.Authorise(ctx, sale("tx-sale", approvedPAN, 1250))
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Approved || resp.ResponseCode != "00" || !authCodeRe.MatchString(resp.AuthCode) || !rrnRe.MatchString(resp.HostReference) {
		t.Fatalf("unexpected answer %+v", resp)
	}
	if len(resp.IssuerData) == 0 || resp.IssuerData[0] != 0x91 {
		t.Errorf("chip sale got no issuer authentication data: % X", resp.IssuerData)
	}
	a := approval(t, r.srv.Ledger(), "tx-sale")
	if a.Kind != "sale" || a.Amount != 1250 || a.Currency != "MYR" || a.RRN != resp.HostReference ||
		a.AuthCode != resp.AuthCode || a.MaskedPAN != "************4242" || a.Batch != "000001" || a.TerminalID != "T0000001" {
		t.Errorf("ledger entry %+v", a)
	}
}

func TestDeclinesMapToDeclineCodes(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := testCtx(t)
	for _, tc := range []struct {
		pan, rc, decline string
		unreachable      bool
	}{
		{"4000000000000002", "05", "card_declined", false},
		{"4000000000009995", "51", "insufficient_funds", false},
		{"4000000000000069", "54", "expired_card", false},
		{"4000000000000127", "55", "incorrect_pin", false},
		{"4000000000000119", "96", "communication_error", true},
	} {
		resp, err := r.client.Authorise(ctx, sale("tx-"+tc.rc, tc.pan, 500))
		if tc.unreachable {
			if !errors.Is(err, daemon.ErrHostUnreachable) || errors.Is(err, daemon.ErrOutcomeUnknown) {
				t.Errorf("%s: error %v, want ErrHostUnreachable (retry-safe)", tc.pan, err)
			}
		} else if err != nil {
			t.Errorf("%s: %v", tc.pan, err)
		}
		if resp.Approved || resp.ResponseCode != tc.rc || resp.DeclineCode != tc.decline || resp.DeclineMessage == "" {
			t.Errorf("%s: answer %+v, want %s/%s", tc.pan, resp, tc.rc, tc.decline)
		}
	}
	if l := r.srv.Ledger(); len(l.Approvals) != 0 {
		t.Errorf("declines were booked: %+v", l.Approvals)
	}
}

func TestPreauthAndCompletion(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := testCtx(t)
	pre := sale("tx-pre", approvedPAN, 10000)
	pre.Kind = daemon.KindPreauth
	pr, err := r.client.Authorise(ctx, pre)
	if err != nil || !pr.Approved {
		t.Fatalf("pre-auth: %+v %v", pr, err)
	}
	completion := daemon.AuthRequest{Kind: daemon.KindCompletion, TransactionID: "tx-comp", Amount: 9000, Currency: "MYR",
		Original: &daemon.HostOriginal{TransactionID: "tx-pre", AuthCode: pr.AuthCode, HostReference: pr.HostReference,
			Amount: 10000, Kind: daemon.KindPreauth, Message: pr.Sent}}
	cr, err := r.client.Authorise(ctx, completion)
	if err != nil || !cr.Approved || cr.AuthCode != pr.AuthCode {
		t.Fatalf("completion: %+v %v (pre-auth code %s)", cr, err, pr.AuthCode)
	}
	l := r.srv.Ledger()
	if c := approval(t, l, "tx-comp"); c.Kind != "completion" || c.OriginalRRN != pr.HostReference || c.Amount != 9000 {
		t.Errorf("completion in ledger: %+v", c)
	}
	if p := approval(t, l, "tx-pre"); p.Kind != "preauth" || p.CompletedBy != cr.HostReference {
		t.Errorf("pre-auth in ledger: %+v", p)
	}
	if n := netHeld(l); n != 9000 {
		t.Errorf("host holds %d, want 9000 (pre-auths do not capture)", n)
	}

	// A second completion of the same pre-auth, and one of a pre-auth the
	// host never approved, are declined.
	completion.TransactionID = "tx-comp2"
	if cr, err := r.client.Authorise(ctx, completion); err != nil || cr.Approved || cr.DeclineCode != "card_declined" {
		t.Errorf("second completion: %+v %v", cr, err)
	}
	completion.TransactionID = "tx-comp3"
	completion.Original = &daemon.HostOriginal{TransactionID: "nope", AuthCode: "ZZZZZZ", HostReference: "999999999999", Kind: daemon.KindPreauth}
	if cr, err := r.client.Authorise(ctx, completion); err != nil || cr.Approved || cr.ResponseCode != "25" {
		t.Errorf("completion of unknown pre-auth: %+v %v", cr, err)
	}
}

func TestRefund(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := testCtx(t)
	sr, err := r.client.Authorise(ctx, sale("tx-s", approvedPAN, 3000))
	if err != nil || !sr.Approved {
		t.Fatalf("sale: %+v %v", sr, err)
	}
	refund := daemon.AuthRequest{Kind: daemon.KindRefund, TransactionID: "tx-r", Amount: 1000, Currency: "MYR",
		Card: card(approvedPAN),
		Original: &daemon.HostOriginal{TransactionID: "tx-s", AuthCode: sr.AuthCode, HostReference: sr.HostReference, Amount: 3000, Kind: daemon.KindSale,
			Message: sr.Sent}}
	rr, err := r.client.Authorise(ctx, refund)
	if err != nil || !rr.Approved || rr.HostReference == sr.HostReference {
		t.Fatalf("refund: %+v %v", rr, err)
	}
	l := r.srv.Ledger()
	if a := approval(t, l, "tx-r"); a.Kind != "refund" || a.OriginalRRN != sr.HostReference {
		t.Errorf("refund in ledger: %+v", a)
	}
	if n := netHeld(l); n != 2000 {
		t.Errorf("host holds %d, want 2000", n)
	}
	// More than is left to refund, and a refund of nothing, are declined.
	refund.TransactionID, refund.Amount = "tx-r2", 2500
	if rr, err := r.client.Authorise(ctx, refund); err != nil || rr.Approved || rr.ResponseCode != "13" {
		t.Errorf("over-refund: %+v %v", rr, err)
	}
	refund.TransactionID, refund.Amount = "tx-r3", 100
	refund.Original = &daemon.HostOriginal{TransactionID: "x", HostReference: "000000000000", Kind: daemon.KindSale}
	if rr, err := r.client.Authorise(ctx, refund); err != nil || rr.Approved || rr.ResponseCode != "25" || rr.DeclineCode != "card_declined" {
		t.Errorf("refund of unknown sale: %+v %v", rr, err)
	}
}

func TestReversalIsIdempotent(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := testCtx(t)
	sr, err := r.client.Authorise(ctx, sale("tx-rev", approvedPAN, 700))
	if err != nil || !sr.Approved {
		t.Fatalf("sale: %+v %v", sr, err)
	}
	rev := daemon.ReversalRequest{TransactionID: "tx-rev", Kind: daemon.KindSale, Amount: 700, Currency: "MYR",
		HostReference: sr.HostReference, Reason: "test"}
	for i := range 2 { // the second goes out as a repeat (0401)
		if err := r.client.Reverse(ctx, rev); err != nil {
			t.Fatalf("reversal %d: %v", i, err)
		}
	}
	// A reversal of something the host never booked is acknowledged too.
	if err := r.client.Reverse(ctx, daemon.ReversalRequest{TransactionID: "tx-never", Kind: daemon.KindSale, Amount: 1, Currency: "MYR"}); err != nil {
		t.Fatal(err)
	}
	l := r.srv.Ledger()
	if a := approval(t, l, "tx-rev"); !a.Reversed || a.ReversedAt == nil {
		t.Errorf("approval not reversed: %+v", a)
	}
	if len(l.Reversals) != 1 || l.Reversals[0].MTI != "0400" || l.Reversals[0].RRN != sr.HostReference {
		t.Errorf("reversals recorded: %+v", l.Reversals)
	}
	if n := netHeld(l); n != 0 {
		t.Errorf("host holds %d after reversal", n)
	}
}

func TestDroppedAnswerIsReversed(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := testCtx(t)
	if err := r.client.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	r.srv.SetDropResponse(true)
	resp, err := r.client.Authorise(shortCtx(ctx, t), sale("tx-drop", approvedPAN, 4200))
	if !errors.Is(err, daemon.ErrOutcomeUnknown) || errors.Is(err, daemon.ErrHostUnreachable) {
		t.Fatalf("Authorise with dropped answer: %+v, %v; want ErrOutcomeUnknown", resp, err)
	}
	if resp.Approved {
		t.Fatal("an unanswered request reported approved")
	}
	r.srv.SetDropResponse(false)
	// The host booked it: the engine's reversal takes it back.
	if a := approval(t, r.srv.Ledger(), "tx-drop"); a.Reversed {
		t.Fatalf("approval already reversed: %+v", a)
	}
	if err := r.client.Reverse(ctx, daemon.ReversalRequest{TransactionID: "tx-drop", Kind: daemon.KindSale,
		Amount: 4200, Currency: "MYR", Reason: "no answer from host"}); err != nil {
		t.Fatal(err)
	}
	l := r.srv.Ledger()
	if a := approval(t, l, "tx-drop"); !a.Reversed {
		t.Errorf("approval not reversed: %+v", a)
	}
	if n := netHeld(l); n != 0 {
		t.Errorf("host holds %d, want net zero", n)
	}
}

func TestLateAnswerIsNotBooked(t *testing.T) {
	t.Parallel()
	// No ledger file: nothing but the latency may delay the answers.
	r := newRig(t, withTimeout(300*time.Millisecond), withLedgerInMemory)
	ctx := testCtx(t)
	if err := r.client.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	r.srv.SetLatency(time.Second)
	resp, err := r.client.Authorise(ctx, sale("tx-late", approvedPAN, 999))
	if !errors.Is(err, daemon.ErrOutcomeUnknown) || resp.Approved || resp.AuthCode != "" {
		t.Fatalf("Authorise with slow host: %+v, %v; want ErrOutcomeUnknown and nothing else", resp, err)
	}
	// The approval arrives after the request gave up: it is logged and
	// dropped, never handed to the engine.
	r.logs.waitFor(ctx, t, "late host response dropped, not booked")
	r.srv.SetLatency(0)
	if err := r.client.Reverse(ctx, daemon.ReversalRequest{TransactionID: "tx-late", Kind: daemon.KindSale,
		Amount: 999, Currency: "MYR"}); err != nil {
		t.Fatal(err)
	}
	if n := netHeld(r.srv.Ledger()); n != 0 {
		t.Errorf("host holds %d, want net zero", n)
	}
}

func TestCancelledContextMeansOutcomeUnknown(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := testCtx(t)
	if err := r.client.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	r.srv.SetDropResponse(true)
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := r.client.Authorise(cctx, sale("tx-cancel", approvedPAN, 100))
		done <- err
	}()
	// Cancel once the host has booked the request.
	for len(r.srv.Ledger().Approvals) == 0 {
		select {
		case <-ctx.Done():
			t.Fatal("request never reached the host")
		case <-time.After(5 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, daemon.ErrOutcomeUnknown) {
		t.Fatalf("cancelled request: %v, want ErrOutcomeUnknown", err)
	}
}

func TestOfflineHostIsUnreachable(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := testCtx(t)
	r.srv.SetOffline(true)
	_, err := r.client.Authorise(ctx, sale("tx-off", approvedPAN, 100))
	if !errors.Is(err, daemon.ErrHostUnreachable) || errors.Is(err, daemon.ErrOutcomeUnknown) {
		t.Fatalf("offline host: %v, want ErrHostUnreachable", err)
	}
	if err := r.client.Reverse(ctx, daemon.ReversalRequest{TransactionID: "tx-off", Kind: daemon.KindSale, Amount: 100}); !errors.Is(err, daemon.ErrHostUnreachable) {
		t.Errorf("reversal to offline host: %v", err)
	}
	if err := r.client.Settle(ctx, daemon.SettlementRequest{Batch: &daemon.Batch{ID: "b"}}); !errors.Is(err, daemon.ErrHostUnreachable) {
		t.Errorf("settlement to offline host: %v", err)
	}
	if l := r.srv.Ledger(); len(l.Approvals) != 0 {
		t.Errorf("offline host booked %+v", l.Approvals)
	}
	r.srv.SetOffline(false)
	if resp, err := r.client.Authorise(ctx, sale("tx-on", approvedPAN, 100)); err != nil || !resp.Approved {
		t.Fatalf("after the host came back: %+v %v", resp, err)
	}
}

func TestReconnectsAfterLinkLoss(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := testCtx(t)
	if resp, err := r.client.Authorise(ctx, sale("tx-1", approvedPAN, 100)); err != nil || !resp.Approved {
		t.Fatalf("%+v %v", resp, err)
	}
	r.srv.SetOffline(true) // drops the open connection
	_, err := r.client.Authorise(shortCtx(ctx, t), sale("tx-2", approvedPAN, 100))
	if !errors.Is(err, daemon.ErrHostUnreachable) && !errors.Is(err, daemon.ErrOutcomeUnknown) {
		t.Fatalf("link lost: %v", err)
	}
	r.srv.SetOffline(false)
	if resp, err := r.client.Authorise(ctx, sale("tx-3", approvedPAN, 100)); err != nil || !resp.Approved {
		t.Fatalf("after reconnect: %+v %v", resp, err)
	}
	l := r.srv.Ledger()
	if len(l.Approvals) != 2 || l.Approvals[0].STAN >= l.Approvals[1].STAN {
		t.Errorf("approvals after reconnect: %+v", l.Approvals)
	}
}

func TestSettlement(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := testCtx(t)
	batch := &daemon.Batch{ID: "batch-1", Currency: "MYR"}
	add := func(tx *daemon.Transaction) { batch.Add(tx) }
	for i, amt := range []int64{1000, 2500} {
		id := []string{"tx-a", "tx-b"}[i]
		resp, err := r.client.Authorise(ctx, sale(id, approvedPAN, amt))
		if err != nil || !resp.Approved {
			t.Fatal(resp, err)
		}
		add(&daemon.Transaction{ID: id, Kind: daemon.KindSale, Amount: amt})
	}
	sr, _ := r.client.Authorise(ctx, sale("tx-c", approvedPAN, 800))
	refund := daemon.AuthRequest{Kind: daemon.KindRefund, TransactionID: "tx-d", Amount: 300, Currency: "MYR",
		Original: &daemon.HostOriginal{TransactionID: "tx-c", AuthCode: sr.AuthCode, HostReference: sr.HostReference, Kind: daemon.KindSale,
			Message: sr.Sent}}
	if resp, err := r.client.Authorise(ctx, refund); err != nil || !resp.Approved {
		t.Fatal(resp, err)
	}
	add(&daemon.Transaction{ID: "tx-c", Kind: daemon.KindSale, Amount: 800})
	add(&daemon.Transaction{ID: "tx-d", Kind: daemon.KindRefund, Amount: 300})
	// A reversed sale is in neither total.
	if _, err := r.client.Authorise(ctx, sale("tx-e", approvedPAN, 5000)); err != nil {
		t.Fatal(err)
	}
	if err := r.client.Reverse(ctx, daemon.ReversalRequest{TransactionID: "tx-e", Kind: daemon.KindSale, Amount: 5000}); err != nil {
		t.Fatal(err)
	}

	// Wrong totals: 95, nothing settled, batch number unchanged.
	wrong := *batch
	wrong.SaleAmount++
	err := r.client.Settle(ctx, daemon.SettlementRequest{Batch: &wrong})
	var mm *host.MismatchError
	if !errors.Is(err, host.ErrTotalsMismatch) || !errors.As(err, &mm) {
		t.Fatalf("settlement with wrong totals: %v", err)
	}
	want := host.BatchTotals{CaptureCount: 3, CaptureAmount: 4300, RefundCount: 1, RefundAmount: 300}
	if mm.Host != want || mm.Batch != "000001" {
		t.Errorf("mismatch %+v, host totals want %+v", mm, want)
	}
	if n, _ := r.counters.Current(host.CounterBatch); n != 0 {
		t.Errorf("batch counter advanced on a mismatch: %d", n)
	}

	// Right totals, answer lost: the host settled, the terminal does not
	// know. Sending again is acknowledged without settling twice.
	r.srv.SetDropResponse(true)
	if err := r.client.Settle(shortCtx(ctx, t), daemon.SettlementRequest{Batch: batch}); !errors.Is(err, daemon.ErrOutcomeUnknown) {
		t.Fatalf("settlement with dropped answer: %v", err)
	}
	r.srv.SetDropResponse(false)
	if err := r.client.Settle(ctx, daemon.SettlementRequest{Batch: batch}); err != nil {
		t.Fatalf("settlement repeated: %v", err)
	}
	if n, _ := r.counters.Current(host.CounterBatch); n != 1 {
		t.Errorf("batch counter %d after settlement, want 1", n)
	}
	l := r.srv.Ledger()
	var results []string
	for _, s := range l.Settlements {
		results = append(results, s.ResponseCode)
	}
	if strings.Join(results, ",") != "95,00" {
		t.Errorf("settlements recorded: %v, want 95 then 00 once", results)
	}
	for _, a := range l.Approvals {
		if capture, refund := a.Counts(); (capture || refund) != a.Settled {
			t.Errorf("approval %s settled=%v", a.TransactionID, a.Settled)
		}
	}

	// The next sale joins batch 2, which settles on its own.
	if _, err := r.client.Authorise(ctx, sale("tx-f", approvedPAN, 100)); err != nil {
		t.Fatal(err)
	}
	if a := approval(t, r.srv.Ledger(), "tx-f"); a.Batch != "000002" {
		t.Errorf("sale after settlement in batch %s", a.Batch)
	}
	next := &daemon.Batch{ID: "batch-2", Currency: "MYR", SaleCount: 1, SaleAmount: 100}
	if err := r.client.Settle(ctx, daemon.SettlementRequest{Batch: next}); err != nil {
		t.Fatal(err)
	}
}

func TestEchoKeepsLinkAlive(t *testing.T) {
	t.Parallel()
	r := newRig(t, func(c *host.Config, _ *hostsim.Config) { c.EchoInterval = 20 * time.Millisecond })
	ctx := testCtx(t)
	if err := r.client.Echo(ctx); err != nil {
		t.Fatal(err)
	}
	// Sign-on, the explicit echo, then idle echoes from the keep-alive.
	for r.srv.Traffic().MessagesIn < 4 {
		select {
		case <-ctx.Done():
			t.Fatalf("no keep-alive echoes: %+v", r.srv.Traffic())
		case <-time.After(10 * time.Millisecond):
		}
	}
	if resp, err := r.client.Authorise(ctx, sale("tx-echo", approvedPAN, 100)); err != nil || !resp.Approved {
		t.Fatalf("%+v %v", resp, err)
	}
}

func TestCountersPersistAcrossClients(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := testCtx(t)
	if _, err := r.client.Authorise(ctx, sale("tx-1", approvedPAN, 100)); err != nil {
		t.Fatal(err)
	}
	_ = r.client.Close()
	if _, err := r.client.Authorise(ctx, sale("tx-x", approvedPAN, 100)); !errors.Is(err, host.ErrClosed) {
		t.Errorf("closed client: %v", err)
	}
	// A restarted daemon: new client, same counters.
	c2, err := host.New(host.Config{Address: r.srv.Addr(), TerminalID: "T0000001", MerchantID: "M00000000000001", Counters: r.counters})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err := c2.Authorise(ctx, sale("tx-2", approvedPAN, 100)); err != nil {
		t.Fatal(err)
	}
	l := r.srv.Ledger()
	if len(l.Approvals) != 2 || l.Approvals[0].STAN >= l.Approvals[1].STAN {
		t.Errorf("STANs did not continue: %+v", l.Approvals)
	}
}

func TestLedgerFileHasNoPAN(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := testCtx(t)
	if _, err := r.client.Authorise(ctx, sale("tx-pan", approvedPAN, 100)); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(r.ledger)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("ledger file mode %v, want 0600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(r.ledger)
	if strings.Contains(string(b), approvedPAN) || strings.Contains(r.logs.String(), approvedPAN) {
		t.Error("a full PAN reached the ledger file or the log")
	}
	l, err := hostsim.ReadLedger(r.ledger)
	if err != nil || len(l.Approvals) != 1 || l.Approvals[0].MaskedPAN != pan.Mask(approvedPAN) {
		t.Errorf("ledger read by another process: %+v %v", l, err)
	}
}

func TestInvalidRequestsNeverLeave(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := testCtx(t)
	for name, req := range map[string]daemon.AuthRequest{
		"no card":         {Kind: daemon.KindSale, TransactionID: "a", Amount: 1, Currency: "MYR"},
		"zero amount":     sale("b", approvedPAN, 0),
		"unknown kind":    {Kind: "void", TransactionID: "c", Amount: 1, Currency: "MYR"},
		"refund, no orig": {Kind: daemon.KindRefund, TransactionID: "d", Amount: 1, Currency: "MYR"},
		"bad currency":    {Kind: daemon.KindSale, TransactionID: "e", Amount: 1, Currency: "XXZ", Card: card(approvedPAN)},
		"bad PAN":         sale("f", "4242 4242 4242 4242", 1),
	} {
		if _, err := r.client.Authorise(ctx, req); !errors.Is(err, host.ErrInvalidRequest) || errors.Is(err, daemon.ErrOutcomeUnknown) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if tr := r.srv.Traffic(); tr.MessagesIn != 0 {
		t.Errorf("invalid requests reached the host: %+v", tr)
	}
}

// A host that closes every connection as soon as it accepts it races the
// sign-on: the request can slip onto the connection while the library is
// failing it. It must still come back unreachable at once, not after the
// client's whole timeout (which here is longer than the test's).
func TestHostClosingEveryConnectionIsUnreachableAtOnce(t *testing.T) {
	t.Parallel()
	r := newRig(t, withTimeout(time.Minute))
	r.srv.SetOffline(true)
	for i := range 100 {
		ctx := testCtx(t)
		_, err := r.client.Authorise(ctx, sale(fmt.Sprintf("tx-closed-%d", i), approvedPAN, 100))
		if !errors.Is(err, daemon.ErrHostUnreachable) || ctx.Err() != nil {
			t.Fatalf("attempt %d: %v (context: %v), want ErrHostUnreachable", i, err, ctx.Err())
		}
	}
}
