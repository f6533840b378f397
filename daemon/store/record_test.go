package store

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/vinr/cashlessd/daemon"
)

// fill sets every field of the struct v points to (and of the structs its
// pointer fields point to) to a value that is not zero.
func fill(t *testing.T, v reflect.Value) {
	t.Helper()
	at := time.Date(2026, 3, 4, 5, 6, 7, 890, time.UTC)
	for i := range v.NumField() {
		f, name := v.Field(i), v.Type().Field(i).Name
		switch {
		case f.Type() == reflect.TypeFor[time.Time]():
			f.Set(reflect.ValueOf(at.Add(time.Duration(i) * time.Hour)))
		case f.Type() == reflect.TypeFor[*daemon.Receipts]():
			// receipts have their own tests
		case f.Kind() == reflect.String:
			f.SetString("v" + name)
		case f.Kind() == reflect.Int64 || f.Kind() == reflect.Int:
			f.SetInt(int64(1000 + i))
		case f.Kind() == reflect.Bool:
			f.SetBool(true)
		case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.Uint8:
			f.SetBytes([]byte{0x9f, 0x26, byte(i)})
		case f.Kind() == reflect.Pointer && f.Type().Elem().Kind() == reflect.Struct:
			f.Set(reflect.New(f.Type().Elem()))
			fill(t, f.Elem())
		default:
			t.Fatalf("field %s of %s has a type the test cannot fill (%s): teach the test and the record encoding", name, v.Type(), f.Type())
		}
	}
}

// roundTrip writes and reads a transaction record.
func roundTrip(t *testing.T, db *DB, in *daemon.Transaction) (out daemon.Transaction, size int) {
	t.Helper()
	err := db.db.Update(func(tx *bolt.Tx) error {
		raw, err := db.encodeTransaction(tx, in)
		if err != nil {
			return err
		}
		size = len(raw)
		if err := db.decodeTransaction(tx, raw, &out); err != nil {
			return err
		}
		return layOut(&out)
	})
	if err != nil {
		t.Fatal(err)
	}
	return out, size
}

// TestRecordKeepsEveryField fails when a field is added to a transaction
// (or its card or host message) without a tag in the record encoding.
func TestRecordKeepsEveryField(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	var in daemon.Transaction
	fill(t, reflect.ValueOf(&in).Elem())
	out, _ := roundTrip(t, db, &in)
	if !reflect.DeepEqual(out, in) {
		t.Fatalf("read back\n%+v\nwant\n%+v", out, in)
	}
	far := daemon.Transaction{StartedAt: time.Date(1601, 1, 1, 0, 0, 0, 1, time.UTC), ExpiresAt: time.Date(3000, 12, 31, 23, 59, 59, 999999999, time.UTC)}
	if got, _ := roundTrip(t, db, &far); !got.StartedAt.Equal(far.StartedAt) || !got.ExpiresAt.Equal(far.ExpiresAt) {
		t.Fatalf("times far from now: %s %s", got.StartedAt, got.ExpiresAt)
	}
	empty, _ := roundTrip(t, db, &daemon.Transaction{Card: &daemon.CardInfo{}, HostMessage: &daemon.HostMessage{}})
	if empty.Card == nil || empty.HostMessage == nil || empty.Receipts != nil {
		t.Fatalf("an empty card or host message is still there: %+v", empty)
	}
}

// finishedSale is a sale as the engine finishes it, with its receipts.
func finishedSale(l daemon.ReceiptLayout) *daemon.Transaction {
	at := time.Date(2026, 7, 1, 18, 30, 5, 0, time.UTC)
	t := &daemon.Transaction{ID: "tpay_01J0000000000000000000001", Kind: daemon.KindSale, Reference: "ORDER-000000001",
		Status: daemon.StatusApproved, Stage: daemon.StageDone, Amount: 2500, TipAmount: 300, Currency: "USD", AuthCode: "A12345",
		HostReference: "123456789012", ResponseCode: "00", StartedAt: at.Add(-3 * time.Second), CompletedAt: at,
		HostMessage: &daemon.HostMessage{MTI: "0200", STAN: "000123", TransmissionTime: "0701183005"},
		Card: &daemon.CardInfo{MaskedPAN: "424242******4242", Scheme: "visa", EntryMethod: daemon.EntryChip, AID: "A0000000031010",
			ApplicationLabel: "VISA CREDIT", TVR: "0000008000", TSI: "E800", Cryptogram: "8A3F9C1D2E4B5A60", ATC: "0001",
			SignatureRequired: true}, BatchID: "batch_01J0000000000000000000001", PrintReceipt: true, ReceiptPrinted: true}
	t.Receipts = daemon.BuildReceipts(l, t)
	return t
}

// TestReceiptsAreKeptAsTheirSource checks that a record keeps what its
// receipts were laid out from, not the texts, and lays out the same
// documents again: in the terminal's zone, after the layout settings
// change, and after a void changed the transaction's status.
func TestReceiptsAreKeptAsTheirSource(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	layout := daemon.ReceiptLayout{Merchant: daemon.Merchant{Name: "CAFE AM MARKT", Address: "Marktplatz 1, 10115 Berlin", ID: "M-778"},
		TerminalID: "term_CT20_0042", Location: berlin, Width: 32, QR: true}
	sale := finishedSale(layout)
	want := *sale.Receipts
	got, size := roundTrip(t, db, sale)
	if got.Receipts.Merchant != want.Merchant || got.Receipts.Customer != want.Customer ||
		!sameDocument(got.Receipts.MerchantDocument, want.MerchantDocument) || !sameDocument(got.Receipts.CustomerDocument, want.CustomerDocument) ||
		got.Receipts.SignatureRequired != want.SignatureRequired {
		t.Fatalf("receipts laid out again differ:\n%s\nwant\n%s", got.Receipts.Merchant, want.Merchant)
	}
	if !strings.Contains(want.Customer, "20:30:05 CEST") {
		t.Fatalf("the receipt is not in the terminal's zone:\n%s", want.Customer)
	}
	if size > 400 {
		t.Fatalf("record of %d bytes: receipts are not kept as their source", size)
	}

	// A void marks the sale voided: its receipt still says APPROVED.
	voided := got
	voided.Status = daemon.StatusVoided
	again, _ := roundTrip(t, db, &voided)
	if again.Receipts.Customer != want.Customer {
		t.Fatalf("the voided sale's receipt changed:\n%s\nwant\n%s", again.Receipts.Customer, want.Customer)
	}

	// Receipts whose documents their source does not lay out (changed
	// after the fact) are kept as they are.
	odd := finishedSale(layout)
	odd.Receipts.CustomerDocument.Lines[0].Text = "SOMETHING ELSE"
	odd.Receipts.Customer = odd.Receipts.CustomerDocument.Text()
	kept, size := roundTrip(t, db, odd)
	if kept.Receipts.Customer != odd.Receipts.Customer || kept.Receipts.Merchant != want.Merchant || size < 1000 {
		t.Fatalf("documents not kept as they are (%d bytes):\n%s", size, kept.Receipts.Customer)
	}

	// Texts only (records older than documents) stay texts.
	old := finishedSale(layout)
	old.Receipts = &daemon.Receipts{Merchant: "M\n", Customer: "C\n"}
	texts, _ := roundTrip(t, db, old)
	if texts.Receipts.Merchant != "M\n" || texts.Receipts.Customer != "C\n" || texts.Receipts.MerchantDocument != nil {
		t.Fatalf("texts: %+v", texts.Receipts)
	}
}

// TestDamagedOrNewerRecordsAreRefused checks that a record cut short, or
// holding a field this build does not know (written by a newer one), is an
// error rather than a transaction with fields missing.
func TestDamagedOrNewerRecordsAreRefused(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	sale := finishedSale(daemon.ReceiptLayout{Merchant: daemon.Merchant{Name: "SHOP"}, TerminalID: "T1", Width: 32})
	err := db.db.Update(func(tx *bolt.Tx) error {
		raw, err := db.encodeTransaction(tx, sale)
		if err != nil {
			return err
		}
		for _, bad := range [][]byte{raw[:len(raw)-1], append(bytes.Clone(raw), 0xF8, 0x07, 0x01), {recordFormat, 0x0A, 0x7F}} {
			var got daemon.Transaction
			if err := db.decodeTransaction(tx, bad, &got); !errors.Is(err, errRecord) {
				t.Errorf("record % x: %v", bad[max(0, len(bad)-4):], err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
