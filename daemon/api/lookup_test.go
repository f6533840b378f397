package api

import (
	"context"
	"errors"
	"testing"

	"github.com/vinr/cashlessd/client"
	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/api/wire"
)

func (f *fakeEngine) Lookup(r daemon.LookupRequest) (*daemon.LookupResult, error) {
	if err := f.got(r); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.result == nil {
		return nil, daemon.Errorf(daemon.CodeTransactionNotFound, "never seen")
	}
	declined := &daemon.Transaction{ID: "tpay_0", Kind: f.result.Tx.Kind, Reference: f.result.Tx.Reference, Status: daemon.StatusDeclined,
		DeclineCode: "insufficient_funds", ErrorCode: daemon.CodeCardDeclined, StartedAt: at, CompletedAt: at}
	return &daemon.LookupResult{Tx: f.result.Tx, Attempts: []*daemon.Transaction{declined}}, nil
}

func (f *fakeEngine) ReceiptByReference(ref string) (*daemon.Transaction, error) {
	if err := f.got("receipt " + ref); err != nil {
		return nil, err
	}
	return f.last, nil
}

func TestLookupAnswers200WhateverTheOutcome(t *testing.T) {
	t.Parallel()
	f := &fakeEngine{}
	c := serve(t, f, nil)
	ctx := context.Background()

	var apiErr *client.Error
	if _, err := c.Transaction(ctx, wire.LookupRequest{Reference: wire.Ptr("NEVER")}); !errors.As(err, &apiErr) ||
		apiErr.HTTPStatus != 404 || apiErr.Code != daemon.CodeTransactionNotFound {
		t.Fatalf("never seen: %v", err)
	}
	for _, bad := range []wire.LookupRequest{{}, {Reference: wire.Ptr("A"), TransactionID: wire.Ptr("tpay_1")}, {Reference: wire.Ptr("")}} {
		if _, err := c.Transaction(ctx, bad); !errors.As(err, &apiErr) || apiErr.Code != daemon.CodeInvalidRequest {
			t.Fatalf("%+v: %v", bad, err)
		}
	}

	f.answer(&daemon.Result{Tx: &daemon.Transaction{ID: "tpay_9", Kind: daemon.KindSale, Reference: "POS-1", Status: daemon.StatusPending,
		Stage: daemon.StageAuthorising, Amount: 2500, Currency: "USD", StartedAt: at}})
	got, err := c.Transaction(ctx, wire.LookupRequest{Reference: wire.Ptr("POS-1")})
	if err != nil || got.Status != "pending" || got.Stage != "authorising" || got.TransactionID != "tpay_9" || got.Type != "sale" ||
		got.Error != nil || *got.TotalAmount != 2500 || len(got.Attempts) != 1 || got.Attempts[0].DeclineCode != "insufficient_funds" {
		t.Fatalf("pending: %v %+v", err, got)
	}

	d := approvedSale()
	d.Status, d.DeclineCode, d.DeclineMessage = daemon.StatusDeclined, "insufficient_funds", "Insufficient funds"
	f.answer(&daemon.Result{Tx: d})
	got, err = c.Transaction(ctx, wire.LookupRequest{TransactionID: wire.Ptr("tpay_1")})
	if err != nil || got.Status != "declined" || got.Error == nil || got.Error.Code != daemon.CodeCardDeclined || got.Stage != "" {
		t.Fatalf("declined: %v %+v", err, got)
	}
	if seen := f.seen(); seen[len(seen)-1] != (daemon.LookupRequest{TransactionID: "tpay_1"}) {
		t.Fatalf("engine got %+v", seen[len(seen)-1])
	}
}

func TestReceiptLastByReference(t *testing.T) {
	t.Parallel()
	sale := approvedSale()
	sale.Receipts = &daemon.Receipts{Merchant: "M", Customer: "C"}
	f := &fakeEngine{last: sale}
	c := serve(t, f, nil)
	r, err := c.ReceiptByReference(context.Background(), "POS-1")
	if err != nil || r.Reference != "POS-1" || r.ReceiptData.CustomerReceipt != "C" {
		t.Fatalf("%v %+v", err, r)
	}
	if seen := f.seen(); seen[len(seen)-1] != "receipt POS-1" {
		t.Fatalf("engine got %v", seen)
	}
	if _, err := c.LastReceipt(context.Background()); err != nil {
		t.Fatal(err)
	}
	if seen := f.seen(); seen[len(seen)-1] != "receipt" {
		t.Fatalf("engine got %v", seen)
	}
}

func TestLookupOfAReleasedOrExpiredPreauthSaysSo(t *testing.T) {
	t.Parallel()
	f := &fakeEngine{}
	c := serve(t, f, nil)
	for end, want := range map[daemon.HoldState]string{"": "approved", daemon.HoldReleased: "reversed", daemon.HoldExpired: "expired"} {
		f.answer(&daemon.Result{Tx: &daemon.Transaction{ID: "tpay_7", Kind: daemon.KindPreauth, Reference: "TENT-1", Status: daemon.StatusApproved,
			Stage: daemon.StageDone, Amount: 5000, Currency: "USD", StartedAt: at, CompletedAt: at, ExpiresAt: at, HoldEnd: end}})
		got, err := c.Transaction(context.Background(), wire.LookupRequest{Reference: wire.Ptr("TENT-1")})
		if err != nil || got.Status != want {
			t.Fatalf("hold end %q: %v %+v, want status %s", end, err, got, want)
		}
	}
}
