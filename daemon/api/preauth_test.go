package api

import (
	"context"
	"testing"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/api/wire"
)

func (f *fakeEngine) Increment(_ context.Context, r daemon.IncrementRequest) (*daemon.Result, error) {
	return f.transaction(r)
}

func (f *fakeEngine) Release(_ context.Context, r daemon.ReleaseRequest) (*daemon.Result, error) {
	return f.transaction(r)
}

func (f *fakeEngine) Holds() ([]daemon.HoldInfo, error) {
	if err := f.got("holds"); err != nil {
		return nil, err
	}
	var out []daemon.HoldInfo
	if f.result != nil {
		out = append(out, daemon.HoldInfo{Tx: f.result.Tx, State: daemon.HoldOpen})
	}
	return out, nil
}

func TestPreauthLifecycleCallsReachTheEngine(t *testing.T) {
	t.Parallel()
	inc := &daemon.Transaction{ID: "tpay_7", Kind: daemon.KindIncrement, Reference: "INC-1", Status: daemon.StatusApproved,
		Amount: 2000, HeldAmount: 12000, Currency: "USD", AuthCode: "A12345", OriginalReference: "HOTEL-1", OriginalID: "tpay_2",
		CompletedAt: at, ExpiresAt: at.Add(7 * 24 * time.Hour)}
	f := &fakeEngine{result: &daemon.Result{Tx: inc}}
	c := serve(t, f, nil)
	got, err := c.IncrementPreauth(context.Background(), wire.IncrementRequest{OriginalReference: wire.Ptr("HOTEL-1"),
		Amount: wire.Ptr[int64](2000), Reference: wire.Ptr("INC-1")})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != "approved" || got.Type != "increment" || got.Amount != 2000 || got.HeldAmount == nil || *got.HeldAmount != 12000 ||
		got.ExpiresAt != "2026-06-18T14:30:05Z" || got.OriginalTransactionID != "tpay_2" || got.Currency != "USD" {
		t.Fatalf("increment answer %+v", got)
	}
	if reqs := f.seen(); len(reqs) != 1 || reqs[0] != (daemon.IncrementRequest{OriginalReference: "HOTEL-1", Amount: 2000, Reference: "INC-1"}) {
		t.Fatalf("engine got %+v", reqs)
	}
	if _, err := c.IncrementPreauth(context.Background(), wire.IncrementRequest{OriginalReference: wire.Ptr("HOTEL-1"),
		Reference: wire.Ptr("INC-2")}); err == nil {
		t.Fatal("an increment without amount was accepted")
	}

	rel := &daemon.Transaction{ID: "tpay_8", Kind: daemon.KindRelease, Reference: "REL-1", Status: daemon.StatusApproved,
		Amount: 12000, Currency: "USD", OriginalReference: "HOTEL-1", OriginalID: "tpay_2", CompletedAt: at}
	f2 := &fakeEngine{result: &daemon.Result{Tx: rel}}
	r, err := serve(t, f2, nil).ReleasePreauth(context.Background(), wire.ReleaseRequest{OriginalReference: wire.Ptr("HOTEL-1"), Reference: wire.Ptr("REL-1")})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != "approved" || r.Type != "release" || r.Amount != 12000 || r.HeldAmount == nil || *r.HeldAmount != 0 || r.ExpiresAt != "" {
		t.Fatalf("release answer %+v", r)
	}

	pa := &daemon.Transaction{ID: "tpay_2", Kind: daemon.KindPreauth, Reference: "HOTEL-1", Status: daemon.StatusApproved,
		Amount: 10000, IncrementedAmount: 2000, Currency: "USD", StartedAt: at, ExpiresAt: at.Add(time.Hour),
		Card: &daemon.CardInfo{MaskedPAN: "************4444", Scheme: "mastercard"}}
	list, err := serve(t, &fakeEngine{result: &daemon.Result{Tx: pa}}, nil).Preauths(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := wire.Hold{Reference: "HOTEL-1", TransactionID: "tpay_2", Status: "open", Amount: 10000, HeldAmount: 12000, Currency: "USD",
		CardScheme: "mastercard", MaskedPan: "************4444", StartedAt: "2026-06-11T14:30:05Z", ExpiresAt: "2026-06-11T15:30:05Z"}
	if len(list.Holds) != 1 || list.Holds[0] != want {
		t.Fatalf("list %+v", list)
	}
}
