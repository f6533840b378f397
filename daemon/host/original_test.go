package host_test

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/host"
	"github.com/vinr/cashlessd/daemon/host/hostsim"
)

// lastRequest returns the latest request the host received for a
// transaction ID.
func lastRequest(t *testing.T, srv *hostsim.Server, id string) hostsim.Request {
	t.Helper()
	reqs := srv.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].TransactionID == id {
			return reqs[i]
		}
	}
	t.Fatalf("the host received nothing for %s", id)
	return hostsim.Request{}
}

// wantQuotes fails the test unless field 90 of got names the booked
// approval a.
func wantQuotes(t *testing.T, got hostsim.Request, a hostsim.Approval) {
	t.Helper()
	o := got.Original
	if o == nil || o.MTI != a.MTI || o.STAN != a.STAN || o.TransmissionTime != a.TransmissionTime ||
		o.Acquirer != "00000000000" || o.Forwarder != "00000000000" {
		t.Fatalf("%s %s quotes %+v, want MTI %s STAN %s time %s", got.MTI, got.TransactionID, o, a.MTI, a.STAN, a.TransmissionTime)
	}
}

// A fresh client (as after a restart) quotes the original from the
// request data the caller stored, and the host refuses a completion,
// refund or reversal whose field 90 names another request.
func TestOriginalDataComesFromTheStoredRecord(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := testCtx(t)
	pre := sale("tx-pre", approvedPAN, 10000)
	pre.Kind = daemon.KindPreauth
	pr, err := r.client.Authorise(ctx, pre)
	if err != nil || !pr.Approved {
		t.Fatalf("pre-auth: %+v %v", pr, err)
	}
	booked := approval(t, r.srv.Ledger(), "tx-pre")
	if s := pr.Sent; s == nil || s.MTI != host.MTIAuthRequest || s.STAN != booked.STAN || s.TransmissionTime != booked.TransmissionTime {
		t.Fatalf("the answer says the pre-auth went out as %+v, the host booked %+v", pr.Sent, booked)
	}
	sr, err := r.client.Authorise(ctx, sale("tx-sale", approvedPAN, 3000))
	if err != nil || !sr.Approved {
		t.Fatalf("sale: %+v %v", sr, err)
	}

	// A restart: the in-memory state of the first client is gone.
	_ = r.client.Close()
	next, err := host.New(host.Config{Address: r.srv.Addr(), TerminalID: "T0000001", MerchantID: "M00000000000001",
		Counters: r.counters})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = next.Close() })

	original := func(id string, resp daemon.AuthResponse, kind daemon.Kind, amount int64, m *daemon.HostMessage) *daemon.HostOriginal {
		return &daemon.HostOriginal{TransactionID: id, AuthCode: resp.AuthCode, HostReference: resp.HostReference,
			Amount: amount, Kind: kind, Message: m}
	}
	completion := daemon.AuthRequest{Kind: daemon.KindCompletion, TransactionID: "tx-comp", Amount: 9000, Currency: "MYR"}
	wrong := *pr.Sent
	wrong.STAN = fmt.Sprintf("%06d", mustAtoi(t, wrong.STAN)+1)
	for _, m := range []*daemon.HostMessage{nil, &wrong} {
		completion.Original = original("tx-pre", pr, daemon.KindPreauth, 10000, m)
		if cr, err := next.Authorise(ctx, completion); err != nil || cr.Approved || cr.ResponseCode != host.RCNoOriginal {
			t.Fatalf("completion quoting %+v: %+v %v, want 25", m, cr, err)
		}
	}
	completion.Original = original("tx-pre", pr, daemon.KindPreauth, 10000, pr.Sent)
	if cr, err := next.Authorise(ctx, completion); err != nil || !cr.Approved {
		t.Fatalf("completion: %+v %v", cr, err)
	}
	wantQuotes(t, lastRequest(t, r.srv, "tx-comp"), booked)

	refund := daemon.AuthRequest{Kind: daemon.KindRefund, TransactionID: "tx-ref", Amount: 1000, Currency: "MYR",
		Original: original("tx-sale", sr, daemon.KindSale, 3000, sr.Sent)}
	rr, err := next.Authorise(ctx, refund)
	if err != nil || !rr.Approved {
		t.Fatalf("refund: %+v %v", rr, err)
	}
	wantQuotes(t, lastRequest(t, r.srv, "tx-ref"), approval(t, r.srv.Ledger(), "tx-sale"))

	// A reversal quoting another request is refused; quoting the
	// refund's own request it is acknowledged.
	rev := daemon.ReversalRequest{TransactionID: "tx-ref", Kind: daemon.KindRefund, Amount: 1000, Currency: "MYR",
		HostReference: rr.HostReference, AuthCode: rr.AuthCode, Original: sr.Sent, Reason: "test"}
	if err := next.Reverse(ctx, rev); err == nil {
		t.Fatal("a reversal quoting the sale's request was acknowledged for the refund")
	}
	rev.Original = rr.Sent
	if err := next.Reverse(ctx, rev); err != nil {
		t.Fatal(err)
	}
	if a := approval(t, r.srv.Ledger(), "tx-ref"); !a.Reversed {
		t.Fatalf("refund not reversed: %+v", a)
	}
	wantQuotes(t, lastRequest(t, r.srv, "tx-ref"), approval(t, r.srv.Ledger(), "tx-ref"))
}

// When no answer comes, the answer still says how the request went out,
// and a reversal after a restart quotes it.
func TestLostAnswerStillReportsTheRequest(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := testCtx(t)
	r.srv.SetDropResponse(true)
	resp, err := r.client.Authorise(shortCtx(ctx, t), sale("tx-lost", approvedPAN, 2500))
	if !errors.Is(err, daemon.ErrOutcomeUnknown) {
		t.Fatalf("want an unknown outcome, got %+v %v", resp, err)
	}
	booked := approval(t, r.srv.Ledger(), "tx-lost")
	if s := resp.Sent; s == nil || s.MTI != host.MTIFinancialRequest || s.STAN != booked.STAN {
		t.Fatalf("lost sale went out as %+v, the host booked %+v", resp.Sent, booked)
	}
	r.srv.SetDropResponse(false)
	_ = r.client.Close()
	next, err := host.New(host.Config{Address: r.srv.Addr(), TerminalID: "T0000001", MerchantID: "M00000000000001",
		Counters: r.counters})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = next.Close() })
	if err := next.Reverse(ctx, daemon.ReversalRequest{TransactionID: "tx-lost", Kind: daemon.KindSale, Amount: 2500,
		Currency: "MYR", Original: resp.Sent, Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	if a := approval(t, r.srv.Ledger(), "tx-lost"); !a.Reversed {
		t.Fatalf("lost sale not reversed: %+v", a)
	}
	wantQuotes(t, lastRequest(t, r.srv, "tx-lost"), booked)
}

// STANs leave in increasing order: messages sent at once from many
// goroutines, and a redial's sign-on, which comes before the request that
// caused the dial.
func TestSTANsIncreaseOnTheWire(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := testCtx(t)
	for round := range 3 {
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Add(2)
			go func() {
				defer wg.Done()
				id := fmt.Sprintf("tx-%d-%d", round, i)
				if resp, err := r.client.Authorise(ctx, sale(id, approvedPAN, 100)); err != nil || !resp.Approved {
					t.Errorf("sale %s: %+v %v", id, resp, err)
				}
			}()
			go func() {
				defer wg.Done()
				// An echo may find the dropped link before the client
				// does, and fail unsent: only the order is checked here.
				_ = r.client.Echo(ctx)
			}()
		}
		wg.Wait()
		// The host drops the link; the next message redials.
		r.srv.SetOffline(true)
		if err := r.client.Echo(ctx); err == nil {
			t.Fatal("an offline host answered an echo")
		}
		r.srv.SetOffline(false)
	}
	reqs := r.srv.Requests()
	wantIncreasingSTANs(t, reqs)
	signOns := 0
	for _, q := range reqs {
		if q.MTI == host.MTINetwork && q.NetworkCode == host.NetworkSignOn {
			signOns++
		}
	}
	if signOns < 3 {
		t.Fatalf("%d sign-ons, want one per dial (3)", signOns)
	}
}

// wantIncreasingSTANs fails the test unless every request but a reversal
// repeat carries a STAN above all before it; a repeat carries its 0400's.
func wantIncreasingSTANs(t *testing.T, reqs []hostsim.Request) {
	t.Helper()
	last := -1
	reversals := map[string]string{}
	for i, q := range reqs {
		if q.MTI == host.MTIReversalRepeat {
			if reversals[q.TransactionID] != q.STAN {
				t.Fatalf("request %d: 0401 for %s with STAN %s, its 0400 had %q", i, q.TransactionID, q.STAN, reversals[q.TransactionID])
			}
			continue
		}
		n := mustAtoi(t, q.STAN)
		if n <= last {
			t.Fatalf("request %d: %s STAN %s after STAN %06d", i, q.MTI, q.STAN, last)
		}
		last = n
		if q.MTI == host.MTIReversal {
			reversals[q.TransactionID] = q.STAN
		}
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("STAN %q: %v", s, err)
	}
	return n
}
