package host_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/host"
	"github.com/vinr/cashlessd/daemon/host/hostsim"
	"github.com/vinr/cashlessd/emv"
)

// chipData is field 55 after a second GENERATE AC: cryptogram, its type
// (cid), TVR and the ARC the card was given.
func chipData(cid byte, arc string) []byte {
	b := emv.AppendTLV(nil, emv.TagCryptogram, []byte{0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6, 0x07, 0x18})
	b = emv.AppendTLV(b, emv.TagCID, []byte{cid})
	b = emv.AppendTLV(b, emv.TagATC, []byte{0x00, 0x11})
	b = emv.AppendTLV(b, emv.TagTVR, []byte{0x80, 0, 0, 0, 0})
	if arc != "" {
		b = emv.AppendTLV(b, emv.TagARC, []byte(arc))
	}
	return b
}

func advice(id string, amount int64) daemon.AdviceRequest {
	return daemon.AdviceRequest{TransactionID: id, Reference: "ref-" + id, Amount: amount, Currency: "MYR",
		AuthCode: "Y30042", ICCData: chipData(emv.CryptogramTC, "Y3"), Time: time.Now(),
		Card: daemon.CardInfo{MaskedPAN: "************1111", Scheme: "visa", EntryMethod: daemon.EntryChip}}
}

// offlineApprovals returns the ledger's offline approvals of a transaction.
func offlineApprovals(l hostsim.Ledger, id string) []hostsim.Approval {
	var out []hostsim.Approval
	for _, a := range l.Approvals {
		if a.TransactionID == id && a.Offline {
			out = append(out, a)
		}
	}
	return out
}

func TestAdviceBookedOnceWhenRepeated(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := testCtx(t)
	req := advice("tx-adv", 1850)
	if err := r.client.Advise(ctx, req); err != nil {
		t.Fatal(err)
	}
	got := offlineApprovals(r.srv.Ledger(), "tx-adv")
	if len(got) != 1 {
		t.Fatalf("offline approvals %+v", got)
	}
	a := got[0]
	if a.Kind != "sale" || a.MTI != "0220" || a.AuthCode != "Y30042" || a.Amount != 1850 || a.Currency != "MYR" ||
		a.Batch != "000001" || a.TerminalID != "T0000001" || a.MaskedPAN != "" || !rrnRe.MatchString(a.RRN) {
		t.Errorf("ledger entry %+v", a)
	}
	// The engine sends it again (it did not learn that the first one
	// arrived): a repeat, 0221, acknowledged and not booked twice.
	if err := r.client.Advise(ctx, req); err != nil {
		t.Fatal(err)
	}
	if got := offlineApprovals(r.srv.Ledger(), "tx-adv"); len(got) != 1 || got[0].RRN != a.RRN {
		t.Errorf("after the repeat: %+v", got)
	}
	logs := r.logs.String()
	if !strings.Contains(logs, `"mti":"0221"`) || !strings.Contains(logs, "repeated advice, already booked") {
		t.Errorf("the second advice was not a repeat booked once:\n%s", logs)
	}
	// Without an auth code the offline response code stands in for it.
	req = advice("tx-adv-2", 100)
	req.AuthCode = ""
	if err := r.client.Advise(ctx, req); err != nil {
		t.Fatal(err)
	}
	if got := offlineApprovals(r.srv.Ledger(), "tx-adv-2"); len(got) != 1 || got[0].AuthCode != "Y3" {
		t.Errorf("advice without auth code: %+v", got)
	}
}

func TestAdviceToOfflineHostIsUnreachable(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := testCtx(t)
	r.srv.SetOffline(true)
	err := r.client.Advise(ctx, advice("tx-adv-off", 900))
	if !errors.Is(err, daemon.ErrHostUnreachable) || errors.Is(err, daemon.ErrOutcomeUnknown) {
		t.Fatalf("advice to an offline host: %v, want ErrHostUnreachable", err)
	}
	if l := r.srv.Ledger(); len(l.Approvals) != 0 {
		t.Fatalf("offline host booked %+v", l.Approvals)
	}
	r.srv.SetOffline(false)
	if err := r.client.Advise(ctx, advice("tx-adv-off", 900)); err != nil {
		t.Fatal(err)
	}
	// Nothing left the first time, so the second is an original 0220.
	if got := offlineApprovals(r.srv.Ledger(), "tx-adv-off"); len(got) != 1 || got[0].MTI != "0220" {
		t.Errorf("after the host came back: %+v", got)
	}
}

func TestAdviceWithDroppedAnswerIsResent(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := testCtx(t)
	if err := r.client.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	r.srv.SetDropResponse(true)
	err := r.client.Advise(shortCtx(ctx, t), advice("tx-adv-drop", 2500))
	if !errors.Is(err, daemon.ErrOutcomeUnknown) || errors.Is(err, daemon.ErrHostUnreachable) {
		t.Fatalf("advice with dropped answer: %v, want ErrOutcomeUnknown", err)
	}
	if got := offlineApprovals(r.srv.Ledger(), "tx-adv-drop"); len(got) != 1 {
		t.Fatalf("the host should have booked the advice it did not answer: %+v", got)
	}
	r.srv.SetDropResponse(false)
	if err := r.client.Advise(ctx, advice("tx-adv-drop", 2500)); err != nil {
		t.Fatal(err)
	}
	if got := offlineApprovals(r.srv.Ledger(), "tx-adv-drop"); len(got) != 1 || got[0].MTI != "0220" {
		t.Errorf("resent advice booked again: %+v", got)
	}
	if !strings.Contains(r.logs.String(), `"mti":"0221"`) {
		t.Error("the resend was not a repeat (0221)")
	}
}

func TestAdviceWithSlowAnswerIsResent(t *testing.T) {
	t.Parallel()
	// No ledger file: nothing but the latency may delay the answers.
	r := newRig(t, withTimeout(300*time.Millisecond), withLedgerInMemory)
	ctx := testCtx(t)
	if err := r.client.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	r.srv.SetLatency(time.Second)
	if err := r.client.Advise(ctx, advice("tx-adv-slow", 700)); !errors.Is(err, daemon.ErrOutcomeUnknown) {
		t.Fatalf("advice with slow host: %v, want ErrOutcomeUnknown", err)
	}
	r.logs.waitFor(ctx, t, "late host response dropped, not booked")
	r.srv.SetLatency(0)
	if err := r.client.Advise(ctx, advice("tx-adv-slow", 700)); err != nil {
		t.Fatal(err)
	}
	if got := offlineApprovals(r.srv.Ledger(), "tx-adv-slow"); len(got) != 1 {
		t.Errorf("booked %d times", len(got))
	}
}

func TestSettlementIncludesAdvices(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := testCtx(t)
	if resp, err := r.client.Authorise(ctx, sale("tx-online", approvedPAN, 1000)); err != nil || !resp.Approved {
		t.Fatal(resp, err)
	}
	if err := r.client.Advise(ctx, advice("tx-offline", 450)); err != nil {
		t.Fatal(err)
	}
	// A batch that forgot the offline sale does not settle.
	without := &daemon.Batch{ID: "b1", Currency: "MYR", SaleCount: 1, SaleAmount: 1000}
	err := r.client.Settle(ctx, daemon.SettlementRequest{Batch: without})
	var mm *host.MismatchError
	if !errors.As(err, &mm) || mm.Host != (host.BatchTotals{CaptureCount: 2, CaptureAmount: 1450}) {
		t.Fatalf("settlement without the advice: %v", err)
	}
	with := &daemon.Batch{ID: "b1", Currency: "MYR", SaleCount: 2, SaleAmount: 1450}
	if err := r.client.Settle(ctx, daemon.SettlementRequest{Batch: with}); err != nil {
		t.Fatalf("settlement with the advice: %v", err)
	}
	for _, a := range r.srv.Ledger().Approvals {
		if !a.Settled {
			t.Errorf("not settled: %+v", a)
		}
	}
}

func TestAdviceAndCompletionStayApart(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := testCtx(t)
	pre := sale("tx-pre", approvedPAN, 5000)
	pre.Kind = daemon.KindPreauth
	pr, err := r.client.Authorise(ctx, pre)
	if err != nil || !pr.Approved {
		t.Fatal(pr, err)
	}
	if err := r.client.Advise(ctx, advice("tx-adv", 300)); err != nil {
		t.Fatal(err)
	}
	cr, err := r.client.Authorise(ctx, daemon.AuthRequest{Kind: daemon.KindCompletion, TransactionID: "tx-comp",
		Amount: 4000, Currency: "MYR", Original: &daemon.HostOriginal{TransactionID: "tx-pre", AuthCode: pr.AuthCode,
			HostReference: pr.HostReference, Amount: 5000, Kind: daemon.KindPreauth, Message: pr.Sent}})
	if err != nil || !cr.Approved {
		t.Fatalf("completion after an advice: %+v %v", cr, err)
	}
	l := r.srv.Ledger()
	if c := approval(t, l, "tx-comp"); c.Kind != "completion" || c.Offline || c.OriginalRRN != pr.HostReference {
		t.Errorf("completion %+v", c)
	}
	if a := approval(t, l, "tx-adv"); a.Kind != "sale" || !a.Offline || a.OriginalRRN != "" {
		t.Errorf("advice %+v", a)
	}
	if n := netHeld(l); n != 4300 {
		t.Errorf("host holds %d, want 4300", n)
	}
}

func TestAdviceVoidedThenRepeated(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := testCtx(t)
	if err := r.client.Advise(ctx, advice("tx-void", 600)); err != nil {
		t.Fatal(err)
	}
	if err := r.client.Reverse(ctx, daemon.ReversalRequest{TransactionID: "tx-void", Kind: daemon.KindSale, Amount: 600,
		Currency: "MYR", Reason: "void"}); err != nil {
		t.Fatal(err)
	}
	// A late repeat of the advice must not bring the voided sale back.
	if err := r.client.Advise(ctx, advice("tx-void", 600)); err != nil {
		t.Fatal(err)
	}
	l := r.srv.Ledger()
	if got := offlineApprovals(l, "tx-void"); len(got) != 1 || !got[0].Reversed {
		t.Errorf("voided advice: %+v", got)
	}
	if n := netHeld(l); n != 0 {
		t.Errorf("host holds %d after the void", n)
	}
}

func TestAdviceOfSaleApprovedOnlineIsNotBookedTwice(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := testCtx(t)
	resp, err := r.client.Authorise(ctx, sale("tx-both", approvedPAN, 800))
	if err != nil || !resp.Approved {
		t.Fatal(resp, err)
	}
	if err := r.client.Advise(ctx, advice("tx-both", 800)); err != nil {
		t.Fatal(err)
	}
	if n := netHeld(r.srv.Ledger()); n != 800 {
		t.Errorf("host holds %d, want 800", n)
	}
}

func TestAdviceRejected(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := testCtx(t)
	if err := r.client.Advise(ctx, advice("tx-amt", 1000)); err != nil {
		t.Fatal(err)
	}
	// The same transaction with another amount is not a repeat.
	err := r.client.Advise(ctx, advice("tx-amt", 1001))
	if !errors.Is(err, host.ErrAdviceRejected) || errors.Is(err, daemon.ErrOutcomeUnknown) || errors.Is(err, daemon.ErrHostUnreachable) {
		t.Fatalf("changed advice: %v, want ErrAdviceRejected", err)
	}
	if got := offlineApprovals(r.srv.Ledger(), "tx-amt"); len(got) != 1 || got[0].Amount != 1000 {
		t.Errorf("ledger %+v", got)
	}
}

func TestInvalidAdvicesNeverLeave(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := testCtx(t)
	edit := func(f func(*daemon.AdviceRequest)) daemon.AdviceRequest {
		req := advice("tx-bad", 100)
		f(&req)
		return req
	}
	for name, req := range map[string]daemon.AdviceRequest{
		"no transaction ID": edit(func(r *daemon.AdviceRequest) { r.TransactionID = "" }),
		"zero amount":       edit(func(r *daemon.AdviceRequest) { r.Amount = 0 }),
		"bad currency":      edit(func(r *daemon.AdviceRequest) { r.Currency = "XXZ" }),
		"no chip data":      edit(func(r *daemon.AdviceRequest) { r.ICCData = nil }),
		"ARQC, not TC":      edit(func(r *daemon.AdviceRequest) { r.ICCData = chipData(emv.CryptogramARQC, "") }),
		"AAC, not TC":       edit(func(r *daemon.AdviceRequest) { r.ICCData = chipData(emv.CryptogramAAC, "Z3") }),
		"broken TLV":        edit(func(r *daemon.AdviceRequest) { r.ICCData = []byte{0x9F, 0x26, 0x08, 1} }),
		"long auth code":    edit(func(r *daemon.AdviceRequest) { r.AuthCode = "Y3000001" }),
	} {
		if err := r.client.Advise(ctx, req); !errors.Is(err, host.ErrInvalidRequest) || errors.Is(err, daemon.ErrOutcomeUnknown) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if tr := r.srv.Traffic(); tr.MessagesIn != 0 {
		t.Errorf("invalid advices reached the host: %+v", tr)
	}
}

// withScriptResults is chip data after the second GENERATE AC of an
// online approval (TC, ARC 00) with issuer script results.
func withScriptResults(results ...byte) []byte {
	return emv.AppendTLV(chipData(emv.CryptogramTC, "00"), emv.TagIssuerScriptResults, results)
}

// tcAdvice is the TC advice of an approval the host gave online.
func tcAdvice(req daemon.AuthRequest, resp daemon.AuthResponse, icc []byte) daemon.AdviceRequest {
	return daemon.AdviceRequest{TransactionID: req.TransactionID, Reference: req.Reference, Amount: req.Amount,
		Currency: req.Currency, AuthCode: resp.AuthCode, Card: req.Card.Info, ICCData: icc, Time: req.Time,
		HostReference: resp.HostReference, Kind: req.Kind, Original: resp.Sent}
}

func TestTCAdviceReportsScriptResults(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := testCtx(t)
	// A test amount makes the host's answer carry an issuer script.
	req := sale("tx-script", approvedPAN, hostsim.TestAmountMin+hostsim.TestScript)
	resp, err := r.client.Authorise(ctx, req)
	if err != nil || !resp.Approved {
		t.Fatalf("sale: %+v %v", resp, err)
	}
	if _, ok := emv.Find(resp.IssuerData, emv.TagIssuerScript2); !ok {
		t.Fatalf("no issuer script in the answer: %X", resp.IssuerData)
	}
	adv := tcAdvice(req, resp, withScriptResults(0x20, 'S', 'C', 0x00, 0x72))
	if err := r.client.Advise(ctx, adv); err != nil {
		t.Fatal(err)
	}
	a := approval(t, r.srv.Ledger(), "tx-script")
	if a.ScriptResults != "2053430072" || a.Offline || a.RRN != resp.HostReference {
		t.Fatalf("ledger %+v", a)
	}
	// Sent again (its answer lost): a repeat, acknowledged, nothing new.
	if err := r.client.Advise(ctx, adv); err != nil {
		t.Fatal(err)
	}
	l := r.srv.Ledger()
	if n := len(l.Approvals); n != 1 || l.Approvals[0].ScriptResults != "2053430072" {
		t.Fatalf("after the repeat: %+v", l.Approvals)
	}
	if !strings.Contains(r.logs.String(), `"mti":"0221"`) {
		t.Errorf("the second TC advice was not a repeat:\n%s", r.logs.String())
	}

	// A pre-authorisation's TC advice carries its POS condition (06).
	pre := sale("tx-script-pre", approvedPAN, hostsim.TestAmountMin+hostsim.TestScriptFailing)
	pre.Kind = daemon.KindPreauth
	presp, err := r.client.Authorise(ctx, pre)
	if err != nil || !presp.Approved {
		t.Fatalf("pre-auth: %+v %v", presp, err)
	}
	if err := r.client.Advise(ctx, tcAdvice(pre, presp, withScriptResults(0x12, 'S', 'C', 0x00, 0x73))); err != nil {
		t.Fatal(err)
	}
	if a := approval(t, r.srv.Ledger(), "tx-script-pre"); a.Kind != "preauth" || a.ScriptResults != "1253430073" {
		t.Fatalf("ledger %+v", a)
	}

	// A TC advice the host has no approval for is refused for good.
	ghost := adv
	ghost.TransactionID = "tx-ghost"
	if err := r.client.Advise(ctx, ghost); !errors.Is(err, host.ErrAdviceRejected) {
		t.Fatalf("advice of an unknown approval: %v", err)
	}

	before := r.srv.Traffic().MessagesIn
	for name, bad := range map[string]func(*daemon.AdviceRequest){
		"no auth code":      func(r *daemon.AdviceRequest) { r.AuthCode = "" },
		"refund":            func(r *daemon.AdviceRequest) { r.Kind = daemon.KindRefund },
		"ARQC":              func(r *daemon.AdviceRequest) { r.ICCData = chipData(emv.CryptogramARQC, "00") },
		"results of 4":      func(r *daemon.AdviceRequest) { r.ICCData = withScriptResults(0x20, 0, 0, 0) },
		"result nibble 3":   func(r *daemon.AdviceRequest) { r.ICCData = withScriptResults(0x30, 0, 0, 0, 0) },
		"long RRN":          func(r *daemon.AdviceRequest) { r.HostReference = "1234567890123" },
		"long auth code":    func(r *daemon.AdviceRequest) { r.AuthCode = "ABCDEFG" },
		"no transaction ID": func(r *daemon.AdviceRequest) { r.TransactionID = "" },
	} {
		req := adv
		bad(&req)
		if err := r.client.Advise(ctx, req); !errors.Is(err, host.ErrInvalidRequest) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if after := r.srv.Traffic().MessagesIn; after != before {
		t.Errorf("invalid TC advices reached the host: %d messages", after-before)
	}
}
