package store

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/vinr/cashlessd/daemon"
)

// oldRelease rewrites every record of the database in dir as the release
// before binary records wrote it (JSON, receipts as their documents or
// texts, through the JSON encoder that remains for that purpose), with
// its schema (1) and without the receipt layouts bucket, and returns
// what that release read back: the records by ID.
func oldRelease(t *testing.T, dir string) map[string]*daemon.Transaction {
	t.Helper()
	db, err := Open(dir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	read := map[string]*daemon.Transaction{}
	err = db.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTransactions)
		var ids []string
		if err := b.ForEach(func(k, _ []byte) error { ids = append(ids, string(k)); return nil }); err != nil {
			return err
		}
		for _, id := range ids {
			var rec daemon.Transaction
			if err := db.loadTx(tx, []byte(id), &rec); err != nil {
				return err
			}
			raw, err := json.Marshal(&rec)
			if err != nil {
				return err
			}
			if err := b.Put([]byte(id), raw); err != nil {
				return err
			}
			var old daemon.Transaction
			if err := json.Unmarshal(raw, &old); err != nil {
				return err
			}
			read[id] = &old
		}
		if err := tx.DeleteBucket(bucketLayouts); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keySchema, u64(1))
	})
	if err != nil {
		t.Fatal(err)
	}
	return read
}

// sameTransaction reports what differs between two reads of a record:
// every field, the receipts by their texts, documents and signature flag.
func sameTransaction(a, b *daemon.Transaction) string {
	ra, rb := a.Receipts, b.Receipts
	if (ra == nil) != (rb == nil) {
		return "receipts present in one only"
	}
	if ra != nil && (ra.Merchant != rb.Merchant || ra.Customer != rb.Customer || ra.SignatureRequired != rb.SignatureRequired ||
		!sameDocument(ra.MerchantDocument, rb.MerchantDocument) || !sameDocument(ra.CustomerDocument, rb.CustomerDocument)) {
		return fmt.Sprintf("receipts differ:\n%s\n%s", ra.Customer, rb.Customer)
	}
	x, y := *a, *b
	x.Receipts, y.Receipts = nil, nil
	if !reflect.DeepEqual(x, y) {
		return fmt.Sprintf("%+v\n%+v", x, y)
	}
	return ""
}

// TestMigrationFromJSONRecords writes a database as the release before
// binary records did (every kind of record it holds: receipts in the
// terminal's zone, wrapped headers, 80 mm paper, QR codes, a voided sale
// and its void, a pre-auth whose expiry an increment moved, a refund, a
// decline, a record with texts only, documents no layout reproduces, a
// pending transaction) and checks that after the migration at the next
// start everything reads, lays out and looks up the same, and that the
// records are binary and small.
func TestMigrationFromJSONRecords(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	dir := t.TempDir()
	db, err := Open(dir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ids := daemon.NewIDs()
	newBatch := func() string { return ids.New("batch") }
	shop := daemon.ReceiptLayout{Merchant: daemon.Merchant{Name: "CAFE AM MARKT", Address: "Marktplatz 1, 10115 Berlin", ID: "M-778"},
		TerminalID: "term_CT20_0042", Location: berlin, Width: 32, QR: true}
	wide := daemon.ReceiptLayout{Merchant: daemon.Merchant{Name: "A MERCHANT WHOSE NAME IS FAR TOO LONG FOR ONE LINE OF PAPER"},
		TerminalID: "term_WIDE_01", Width: 48}
	at := time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC) // the night Berlin moves to summer time
	n := 0
	tx := func(kind daemon.Kind, status daemon.Status, amount int64, l *daemon.ReceiptLayout) *daemon.Transaction {
		n++
		done := at.Add(time.Duration(n) * 47 * time.Minute)
		t := &daemon.Transaction{ID: ids.New("tpay"), Kind: kind, Reference: fmt.Sprintf("REF-%d", n), Status: status,
			Stage: daemon.StageDone, Amount: amount, Currency: "EUR", StartedAt: done.Add(-2 * time.Second), CompletedAt: done,
			Card: &daemon.CardInfo{MaskedPAN: "540000******0001", Scheme: "mastercard", EntryMethod: daemon.EntryContactless,
				AID: "A0000000041010", ApplicationLabel: "MASTERCARD", TVR: "0000000000", TSI: "0000", Cryptogram: "1122334455667788",
				ATC: fmt.Sprintf("%04d", n), PINVerified: n%2 == 0}}
		if status == daemon.StatusApproved {
			t.AuthCode, t.HostReference, t.ResponseCode = fmt.Sprintf("A%05d", n), fmt.Sprintf("%012d", n), "00"
		} else {
			t.ResponseCode, t.DeclineCode, t.DeclineMessage = "51", "insufficient_funds", "Insufficient funds"
		}
		if kind == daemon.KindPreauth || kind == daemon.KindIncrement {
			t.ExpiresAt = done.Add(7 * 24 * time.Hour)
		}
		if l != nil {
			t.Receipts = daemon.BuildReceipts(*l, t)
		}
		return t
	}
	importAll := func(txs ...*daemon.Transaction) {
		t.Helper()
		if err := db.Import(txs, newBatch); err != nil {
			t.Fatal(err)
		}
	}
	sale := tx(daemon.KindSale, daemon.StatusApproved, 2500, &shop)
	voided := tx(daemon.KindSale, daemon.StatusApproved, 1500, &shop)
	declined := tx(daemon.KindSale, daemon.StatusDeclined, 9900, &wide)
	preauth := tx(daemon.KindPreauth, daemon.StatusApproved, 10000, &shop)
	importAll(sale, voided, declined, preauth)
	increment := tx(daemon.KindIncrement, daemon.StatusApproved, 2000, &shop)
	increment.OriginalID, increment.OriginalReference = preauth.ID, preauth.Reference
	increment.Receipts = daemon.BuildReceipts(shop, increment)
	refund := tx(daemon.KindRefund, daemon.StatusApproved, 500, &wide)
	refund.OriginalID, refund.OriginalReference = sale.ID, sale.Reference
	refund.Receipts = daemon.BuildReceipts(wide, refund)
	texts := tx(daemon.KindSale, daemon.StatusApproved, 700, nil)
	texts.Receipts = &daemon.Receipts{Merchant: "AN OLD RECEIPT\nMERCHANT COPY\n", Customer: "AN OLD RECEIPT\nCUSTOMER COPY\n"}
	altered := tx(daemon.KindSale, daemon.StatusApproved, 800, &shop)
	altered.Receipts.MerchantDocument.Lines[0].Text = "HAND EDITED"
	importAll(increment, refund, texts, altered)
	void := tx(daemon.KindVoid, daemon.StatusApproved, 1500, nil)
	void.OriginalID, void.OriginalReference, void.OriginalKind = voided.ID, voided.Reference, daemon.KindSale
	void.Receipts = daemon.BuildReceipts(shop, void)
	if _, err := db.VoidTransaction(void); err != nil {
		t.Fatal(err)
	}
	pending := tx(daemon.KindSale, daemon.StatusPending, 300, nil)
	pending.Stage = daemon.StageWaitingForCard
	if err := db.CreateTransaction(pending); err != nil {
		t.Fatal(err)
	}
	db.Close()

	before := oldRelease(t, dir)
	if got := before[preauth.ID].ExpiresAt; !got.Equal(increment.ExpiresAt) || !strings.Contains(before[preauth.ID].Receipts.Customer, "EXPIRES") {
		t.Fatalf("the fixture's pre-auth: expiry %s, want the increment's %s", got, increment.ExpiresAt)
	}
	if before[voided.ID].Status != daemon.StatusVoided || !strings.Contains(before[voided.ID].Receipts.Customer, "APPROVED") {
		t.Fatalf("the fixture's voided sale: %s\n%s", before[voided.ID].Status, before[voided.ID].Receipts.Customer)
	}

	db, err = Open(dir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for id, old := range before {
		got, err := db.Transaction(id)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if diff := sameTransaction(got, old); diff != "" {
			t.Errorf("%s (%s %s) reads differently after the migration: %s", id, old.Kind, old.Status, diff)
		}
	}
	sizes := map[string]int{}
	err = db.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keySchema); string(v) != string(u64(schemaVersion)) {
			return fmt.Errorf("schema %x after the migration", v)
		}
		return tx.Bucket(bucketTransactions).ForEach(func(k, v []byte) error {
			if v[0] != recordFormat {
				return fmt.Errorf("%s is still JSON", k)
			}
			sizes[string(k)] = len(v)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, compact := range []*daemon.Transaction{sale, voided, declined, preauth, increment, refund, void} {
		if sizes[compact.ID] > 450 {
			t.Errorf("%s %s: %d bytes, its receipts not kept as their source", compact.Kind, compact.ID, sizes[compact.ID])
		}
	}
	if sizes[altered.ID] < 1000 {
		t.Errorf("documents no layout reproduces must be kept: %d bytes", sizes[altered.ID])
	}

	for _, approved := range []*daemon.Transaction{sale, declined, preauth, refund, void} {
		got, err := db.ApprovedByReference(approved.Kind, approved.Reference)
		if approved.Status != daemon.StatusApproved {
			if err == nil {
				t.Errorf("declined %s found as approved", approved.Reference)
			}
			continue
		}
		if err != nil || got.ID != approved.ID {
			t.Errorf("lookup of %s: %v %v", approved.Reference, got, err)
		}
	}
	last, err := db.LastReceipt()
	if err != nil || last.ID != void.ID || last.Receipts.Customer != before[void.ID].Receipts.Customer {
		t.Fatalf("last receipt: %v %v", last, err)
	}
	attempts, err := db.ReferenceAttempts(pending.Reference)
	if err != nil || len(attempts) != 1 || attempts[0].ID != pending.ID {
		t.Fatalf("attempts: %v %v", attempts, err)
	}

	// The next start finds nothing to migrate; new records are binary.
	db.Close()
	db, err = Open(dir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	again, err := db.Transaction(sale.ID)
	if err != nil || sameTransaction(again, before[sale.ID]) != "" {
		t.Fatalf("after a second start: %v", err)
	}
}
