package store

import (
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/vinr/cashlessd/daemon"
)

// TestHoldsIndexFollowsTheLifecycle: an approved pre-auth is an open hold;
// an increment raises it and moves its expiry, a completion or release
// ends it, and a step on a hold that ended rolls its whole commit back.
func TestHoldsIndexFollowsTheLifecycle(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	pa := approved("tpay_PA1", daemon.KindPreauth, "HOTEL-1", 10000)
	book(t, db, pa)
	other := approved("tpay_PA2", daemon.KindPreauth, "HOTEL-2", 500)
	book(t, db, other)
	open := func(want ...string) {
		t.Helper()
		list, err := db.OpenHolds()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, h := range list {
			got[h.ID] = true
		}
		if len(got) != len(want) {
			t.Fatalf("open holds %v, want %v", got, want)
		}
		for _, id := range want {
			if !got[id] {
				t.Fatalf("open holds %v, want %v", got, want)
			}
		}
	}
	open("tpay_PA1", "tpay_PA2")

	inc := approved("tpay_INC1", daemon.KindIncrement, "HOTEL-1-INC", 2000)
	inc.OriginalID, inc.ExpiresAt = pa.ID, time.Now().UTC().Add(time.Hour)
	book(t, db, inc)
	got, _ := db.Transaction(pa.ID)
	if got.Held() != 12000 || !got.ExpiresAt.Equal(inc.ExpiresAt) {
		t.Fatalf("pre-auth after the increment: held %d, expires %s", got.Held(), got.ExpiresAt)
	}

	rel := approved("tpay_REL1", daemon.KindRelease, "HOTEL-1-REL", 12000)
	rel.OriginalID = pa.ID
	book(t, db, rel)
	got, _ = db.Transaction(pa.ID)
	if got.HoldEnd != daemon.HoldReleased || got.ReleaseID != rel.ID || !got.ReversalPending {
		t.Fatalf("pre-auth after the release: %+v", got)
	}
	if q, _ := db.PendingReversals(); len(q) != 1 || q[0].ID != pa.ID {
		t.Fatalf("the pre-auth's reversal is not queued: %+v", q)
	}
	open("tpay_PA2")

	// A completion of the released hold cannot be booked; nothing of it is.
	c := approved("tpay_C1", daemon.KindCompletion, "HOTEL-1-FINAL", 100)
	c.OriginalID = pa.ID
	if err := db.CreateTransaction(c); err != nil {
		t.Fatal(err)
	}
	c.Status = daemon.StatusApproved
	if err := db.FinishTransaction(c, "batch_C1"); err == nil {
		t.Fatal("a completion of a released pre-auth was booked")
	}
	if got, _ := db.Transaction(pa.ID); got.CompletionID != "" {
		t.Fatalf("the refused completion left its mark: %+v", got)
	}
	if _, err := db.ApprovedByReference(daemon.KindCompletion, "HOTEL-1-FINAL"); err == nil {
		t.Fatal("the refused completion was indexed")
	}

	at := time.Now().UTC()
	exp, err := db.ExpireHold(other.ID, at)
	if err != nil || exp.HoldEnd != daemon.HoldExpired || !exp.ReleasedAt.Equal(at) || !exp.ReversalPending {
		t.Fatalf("expire: %+v %v", exp, err)
	}
	open()
	if _, err := db.ExpireHold(other.ID, at); err == nil {
		t.Fatal("a hold expired twice")
	}
}

// TestHoldsIndexIsBuiltForAnOlderDatabase: a database written before the
// index existed gets it, filled from its transactions, on first use.
func TestHoldsIndexIsBuiltForAnOlderDatabase(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	book(t, db, approved("tpay_OLD1", daemon.KindPreauth, "OLD-1", 700))
	book(t, db, approved("tpay_SALE1", daemon.KindSale, "OLD-S", 300))
	if err := db.db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketHolds) }); err != nil {
		t.Fatal(err)
	}
	list, err := db.OpenHolds()
	if err != nil || len(list) != 1 || list[0].ID != "tpay_OLD1" {
		t.Fatalf("holds: %+v %v", list, err)
	}
}
