package daemon_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/config"
	"github.com/vinr/cashlessd/daemon/host"
	"github.com/vinr/cashlessd/daemon/host/hostsim"
)

// outsideHost is a host simulator on loopback TCP that outlives the
// terminal's restarts, so what it booked and received spans them.
func outsideHost(t *testing.T) *hostsim.Server {
	t.Helper()
	srv, err := hostsim.New(hostsim.Config{Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(context.Background(), "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// at points the terminal at srv over plain TCP.
func at(srv *hostsim.Server) func(*config.Config) {
	return func(c *config.Config) {
		c.Host.Address, c.Host.TLS = srv.Addr(), ptr(false)
	}
}

// restart stops m and starts the terminal again on the same directory
// (its bbolt file) and configuration.
func (m *terminal) restart(adjust func(*config.Config)) *terminal {
	m.t.Helper()
	if err := m.stop(context.Background()); err != nil {
		m.t.Fatal(err)
	}
	return startTerminal(m.t, m.dir, adjust)
}

// booked returns the host's approval of a transaction ID.
func booked(t *testing.T, srv *hostsim.Server, id string) hostsim.Approval {
	t.Helper()
	l := srv.Ledger()
	for i := len(l.Approvals) - 1; i >= 0; i-- {
		if l.Approvals[i].TransactionID == id {
			return l.Approvals[i]
		}
	}
	t.Fatalf("the host booked nothing for %s", id)
	return hostsim.Approval{}
}

// quoted returns field 90 of the latest request of the given MTIs the host
// received for a transaction ID.
func quoted(t *testing.T, srv *hostsim.Server, id string, mtis ...string) *host.OriginalData {
	t.Helper()
	reqs := srv.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		for _, mti := range mtis {
			if reqs[i].TransactionID == id && reqs[i].MTI == mti {
				return reqs[i].Original
			}
		}
	}
	t.Fatalf("the host received no %v for %s", mtis, id)
	return nil
}

// wantOriginal fails the test unless field 90 names the request the host
// booked a from, and the terminal stored that request with its original.
func wantOriginal(t *testing.T, got *host.OriginalData, a hostsim.Approval, stored *daemon.HostMessage) {
	t.Helper()
	if got == nil || got.MTI != a.MTI || got.STAN != a.STAN || got.TransmissionTime != a.TransmissionTime {
		t.Fatalf("field 90 is %+v; the host booked %s STAN %s at %s", got, a.MTI, a.STAN, a.TransmissionTime)
	}
	if stored == nil || stored.STAN != a.STAN || stored.MTI != a.MTI || stored.TransmissionTime != a.TransmissionTime {
		t.Fatalf("the terminal stored %+v for %s", stored, a.TransactionID)
	}
}

// An increment and a completion of a pre-auth and a refund of a sale,
// each after a restart, quote their original's request (field 90) from
// the store.
func TestIncrementCompletionAndRefundAfterRestartQuoteTheOriginal(t *testing.T) {
	t.Parallel()
	srv := outsideHost(t)
	m := startTerminal(t, "", at(srv))
	res, err := m.engine.Preauth(t.Context(), daemon.PreauthRequest{Amount: 10000, Currency: "USD", Reference: "HOTEL-7"})
	pre := wantApproved(t, res, err)
	sale := m.approved("SHOP-7", 3000)

	m = m.restart(at(srv))
	res, err = m.engine.Increment(t.Context(), daemon.IncrementRequest{OriginalReference: "HOTEL-7", Amount: 2000,
		Reference: "HOTEL-7-MORE"})
	inc := wantApproved(t, res, err)
	wantOriginal(t, quoted(t, srv, inc.ID, host.MTIAuthRequest), booked(t, srv, pre.ID), pre.HostMessage)

	m = m.restart(at(srv))
	res, err = m.engine.Complete(t.Context(), daemon.CompletionRequest{OriginalReference: "HOTEL-7", CaptureAmount: 9000,
		Currency: "USD", Reference: "HOTEL-7-FINAL"})
	comp := wantApproved(t, res, err)
	wantOriginal(t, quoted(t, srv, comp.ID, host.MTIAdvice), booked(t, srv, pre.ID), pre.HostMessage)

	m = m.restart(at(srv))
	res, err = m.engine.Refund(t.Context(), daemon.RefundRequest{OriginalReference: "SHOP-7", Amount: 1000,
		Currency: "USD", Reference: "SHOP-7-R1"})
	ref := wantApproved(t, res, err)
	wantOriginal(t, quoted(t, srv, ref.ID, host.MTIFinancialRequest), booked(t, srv, sale.ID), sale.HostMessage)

	// A refund of the completion quotes the completion's own request.
	m = m.restart(at(srv))
	stored, err := m.db.Transaction(comp.ID)
	if err != nil {
		t.Fatal(err)
	}
	res, err = m.engine.Refund(t.Context(), daemon.RefundRequest{OriginalReference: "HOTEL-7-FINAL", Amount: 500,
		Currency: "USD", Reference: "HOTEL-7-R1"})
	ref2 := wantApproved(t, res, err)
	wantOriginal(t, quoted(t, srv, ref2.ID, host.MTIFinancialRequest), booked(t, srv, comp.ID), stored.HostMessage)
}

// A sale whose answer was lost is reversed after a restart, and the
// reversal quotes the request the host booked.
func TestReversalOfALostAnswerAfterRestartQuotesTheOriginal(t *testing.T) {
	t.Parallel()
	srv := outsideHost(t)
	m := startTerminal(t, "", at(srv))
	srv.SetDropResponse(true)
	lost := m.saleAsync("LOST-7", 4321)
	// Once the host booked the sale it drops the link: the answer is lost,
	// and the reversal cannot go out before the restart.
	id := waitBooked(t, srv, 4321)
	srv.SetOffline(true)
	o := <-lost
	tx := wantFinished(t, o.res, o.err, daemon.StatusFailed, daemon.CodeCommunicationError)
	if tx.ID != id {
		t.Fatalf("the host booked %s, the terminal ran %s", id, tx.ID)
	}

	srv.SetDropResponse(false)
	srv.SetOffline(false)
	m = m.restart(at(srv))
	deadline := time.Now().Add(30 * time.Second)
	for m.status().PendingReversals > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the reversal was never acknowledged:\n%s", m.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	a := booked(t, srv, id)
	if !a.Reversed {
		t.Fatalf("the lost sale was not reversed: %+v", a)
	}
	stored, err := m.db.Transaction(id)
	if err != nil {
		t.Fatal(err)
	}
	wantOriginal(t, quoted(t, srv, id, host.MTIReversal, host.MTIReversalRepeat), a, stored.HostMessage)
}

// dropLink has the host drop the terminal's link and waits until the link
// has seen it go, so the next request redials.
func dropLink(t *testing.T, m *terminal, srv *hostsim.Server) {
	t.Helper()
	srv.SetOffline(true)
	link, ok := m.devs.Host.(*host.Client)
	if !ok {
		t.Fatalf("the host link is a %T", m.devs.Host)
	}
	if err := link.Echo(t.Context()); err == nil {
		t.Fatal("an offline host answered an echo")
	}
	srv.SetOffline(false)
}

// A void after a restart reverses the sale quoting the request the host
// booked it from.
func TestVoidAfterRestartQuotesTheOriginal(t *testing.T) {
	t.Parallel()
	srv := outsideHost(t)
	m := startTerminal(t, "", at(srv))
	sale := m.approved("SHOP-8", 2200)

	m = m.restart(at(srv))
	res, err := m.engine.Void(t.Context(), daemon.VoidRequest{OriginalReference: "SHOP-8", Reference: "SHOP-8-VOID"})
	wantApproved(t, res, err)
	deadline := time.Now().Add(30 * time.Second)
	for m.status().PendingReversals > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the void's reversal was never acknowledged:\n%s", m.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	a := booked(t, srv, sale.ID)
	if !a.Reversed {
		t.Fatalf("the voided sale was not reversed: %+v", a)
	}
	wantOriginal(t, quoted(t, srv, sale.ID, host.MTIReversal, host.MTIReversalRepeat), a, sale.HostMessage)
}

// waitBooked waits until the host booked an approval of the amount and
// returns its transaction ID.
func waitBooked(t *testing.T, srv *hostsim.Server, amount int64) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, a := range srv.Ledger().Approvals {
			if a.Amount == amount {
				return a.TransactionID
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("the host never booked an approval of %d", amount)
	return ""
}

// STANs go on the wire in increasing order and never repeat, across
// redials (the host drops the link) and restarts (the counter is kept in
// the store in blocks); a redial's sign-on comes before the request that
// caused the dial.
func TestSTANsIncreaseAcrossRedialsAndRestarts(t *testing.T) {
	t.Parallel()
	srv := outsideHost(t)
	m := startTerminal(t, "", at(srv))
	for round := range 3 {
		m.approved("STAN-A-"+strconv.Itoa(round), 100)
		dropLink(t, m, srv)
		m.approved("STAN-B-"+strconv.Itoa(round), 100)
		m = m.restart(at(srv))
	}
	m.approved("STAN-LAST", 100)

	var reqs []hostsim.Request
	for _, q := range srv.Requests() {
		if q.TerminalID == "SIM00001" {
			reqs = append(reqs, q)
		}
	}
	last, signOns := -1, 0
	for i, q := range reqs {
		n, err := strconv.Atoi(q.STAN)
		if err != nil {
			t.Fatalf("request %d: STAN %q", i, q.STAN)
		}
		if n <= last {
			t.Fatalf("request %d: %s STAN %s after STAN %06d", i, q.MTI, q.STAN, last)
		}
		last = n
		if q.MTI == host.MTINetwork && q.NetworkCode == host.NetworkSignOn {
			signOns++
			if i+1 < len(reqs) && reqs[i+1].MTI == host.MTIFinancialRequest {
				if next, _ := strconv.Atoi(reqs[i+1].STAN); next <= n {
					t.Fatalf("sign-on STAN %s, then the sale that dialled with %s", q.STAN, reqs[i+1].STAN)
				}
			}
		}
	}
	if signOns < 7 {
		t.Fatalf("%d sign-ons, want one per dial (7)", signOns)
	}
}
