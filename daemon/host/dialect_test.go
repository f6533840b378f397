package host_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/host"
	"github.com/vinr/cashlessd/daemon/host/hostsim"
)

// everyField is a message with every field of the layout set.
func everyField() *host.Fields {
	return &host.Fields{
		MTI: "0200", PAN: "4242424242424242", ProcessingCode: "000000", Amount: "000000012345",
		TransmissionTime: "0102030405", STAN: "000042", LocalTime: "120000", LocalDate: "0102",
		Expiry: "3012", EntryMode: "051", CardSequence: "001", ConditionCode: "00",
		RRN: "612300000001", AuthCode: "ABC123", ResponseCode: "00", TerminalID: "T0000001",
		MerchantID: "M00000000000001", Currency: "458", PINBlock: []byte{1, 2, 3, 4, 5, 6, 7, 8},
		KSN: []byte{0xFF, 0xFF, 1, 2, 3, 4, 5, 6, 7, 8}, ICC: []byte{0x9F, 0x26, 0x02, 0xAB, 0xCD},
		Batch: "000001", TransactionID: "01JTESTTRANSACTIONID000000",
		Totals:      &host.Totals{CaptureCount: "000002", CaptureAmount: "000000001000", RefundCount: "000001", RefundAmount: "000000000500"},
		NetworkCode: "301",
		Original:    &host.OriginalData{MTI: "0200", STAN: "000041", TransmissionTime: "0102030404", Acquirer: "00000000000", Forwarder: "00000000000"},
	}
}

// defaultWire is everyField as the ISO 8583 library the link used before
// packed it: the default dialect must stay byte for byte the same.
const defaultWire = "30323030f23c06800ec09a1604000040000000003136343234323432343234323432343234323030303030303030303030303031323334353031303230333034303530303030343231323030303030313032333031323035313030313030363132333030303030303031414243313233303054303030303030314d303030303030303030303030303134353801020304050607083130ffff01020304050607083030359f2602abcd30303630303030303130323630314a544553545452414e53414354494f4e4944303030303030303336303030303032303030303030303031303030303030303031303030303030303030353030333031303230303030303034313031303230333034303430303030303030303030303030303030303030303030"

func TestDefaultDialectIsUnchangedOnTheWire(t *testing.T) {
	t.Parallel()
	packed, err := host.Encode(host.Spec(), everyField())
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(packed); got != defaultWire {
		t.Errorf("default dialect changed on the wire:\n got %s\nwant %s", got, defaultWire)
	}
}

func TestBCDDialectRoundTripsEveryField(t *testing.T) {
	t.Parallel()
	spec, err := host.SpecFor(host.DialectBCDTPDU)
	if err != nil {
		t.Fatal(err)
	}
	in := everyField()
	in.TPDU = []byte{0x60, 0x00, 0x01, 0x00, 0x00}
	in.Track2 = "4242424242424242=3012101123456789" // odd length: F-padded
	packed, err := host.Encode(spec, in)
	if err != nil {
		t.Fatal(err)
	}
	// TPDU, then the MTI in two BCD bytes, then the bitmaps.
	if !bytes.Equal(packed[:7], []byte{0x60, 0x00, 0x01, 0x00, 0x00, 0x02, 0x00}) || packed[7]&0x80 == 0 {
		t.Errorf("header % X", packed[:8])
	}
	out, err := host.Decode(spec, packed)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip changed the message:\n in  %+v\n out %+v", in, out)
	}
	def, _ := host.Encode(host.Spec(), everyField())
	t.Logf("every field: default %d bytes, bcd-tpdu %d bytes", len(def), len(packed))
	// A letter cannot be written as BCD.
	bad := everyField()
	bad.Amount = "00000000012A"
	if _, err := host.Encode(spec, bad); err == nil {
		t.Error("non-numeric amount packed as BCD")
	}
}

func TestUnknownDialect(t *testing.T) {
	t.Parallel()
	if _, err := host.SpecFor("ebcdic"); err == nil {
		t.Error("unknown dialect accepted")
	}
	if _, err := host.New(host.Config{Address: "127.0.0.1:1", TerminalID: "T1", MerchantID: "M1",
		Counters: host.NewMemoryCounters(nil), Dialect: "ebcdic"}); err == nil {
		t.Error("client with an unknown dialect")
	}
	if _, err := hostsim.New(hostsim.Config{Dialect: "ebcdic"}); err == nil {
		t.Error("simulator with an unknown dialect")
	}
}

func withDialect(d string) rigOption {
	return func(c *host.Config, s *hostsim.Config) { c.Dialect, s.Dialect = d, d }
}

// TestEveryDialectEndToEnd runs a sale, a reversal and a settlement over
// loopback TCP in each dialect.
func TestEveryDialectEndToEnd(t *testing.T) {
	t.Parallel()
	for _, dialect := range host.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, withDialect(dialect))
			ctx := testCtx(t)
			sr, err := r.client.Authorise(ctx, sale("tx-1", approvedPAN, 1250))
			if err != nil || !sr.Approved {
				t.Fatalf("sale: %+v %v", sr, err)
			}
			a := approval(t, r.srv.Ledger(), "tx-1")
			if a.Amount != 1250 || a.Currency != "MYR" || a.MaskedPAN != "************4242" || a.RRN != sr.HostReference {
				t.Errorf("ledger entry %+v", a)
			}
			if _, err := r.client.Authorise(ctx, sale("tx-2", approvedPAN, 500)); err != nil {
				t.Fatal(err)
			}
			if err := r.client.Reverse(ctx, daemon.ReversalRequest{TransactionID: "tx-2", Kind: daemon.KindSale,
				Amount: 500, Currency: "MYR", Reason: "test"}); err != nil {
				t.Fatal(err)
			}
			if a := approval(t, r.srv.Ledger(), "tx-2"); !a.Reversed {
				t.Errorf("not reversed: %+v", a)
			}
			// A swiped sale carries track 2 (35): packed BCD with D for
			// '=' in bcd-tpdu; the host checks it against 2 and 14.
			swiped := sale("tx-3", approvedPAN, 300)
			swiped.Card.Info.EntryMethod = daemon.EntrySwipe
			swiped.Card.ICCData, swiped.Card.CardSequenceNo, swiped.Card.PINBlock, swiped.Card.KSN = nil, "", nil, nil
			swiped.Card.Track2 = approvedPAN + "=30121011234567891"
			if resp, err := r.client.Authorise(ctx, swiped); err != nil || !resp.Approved {
				t.Fatalf("swiped sale: %+v %v", resp, err)
			}
			batch := &daemon.Batch{ID: "b1", Currency: "MYR"}
			batch.Add(&daemon.Transaction{ID: "tx-1", Kind: daemon.KindSale, Amount: 1250})
			batch.Add(&daemon.Transaction{ID: "tx-3", Kind: daemon.KindSale, Amount: 300})
			if err := r.client.Settle(ctx, daemon.SettlementRequest{Batch: batch}); err != nil {
				t.Fatalf("settlement: %v", err)
			}
		})
	}
}

// TestDialectMismatchIsUnreachable: a terminal that speaks another
// dialect than its host never gets signed on, and nothing is booked.
func TestDialectMismatchIsUnreachable(t *testing.T) {
	t.Parallel()
	r := newRig(t, withTimeout(time.Second), func(c *host.Config, s *hostsim.Config) {
		c.Dialect, s.Dialect = host.DialectBCDTPDU, host.DialectDefault
	})
	_, err := r.client.Authorise(testCtx(t), sale("tx-x", approvedPAN, 100))
	if !errors.Is(err, daemon.ErrHostUnreachable) {
		t.Fatalf("got %v, want unreachable", err)
	}
	if l := r.srv.Ledger(); len(l.Approvals) != 0 {
		t.Errorf("booked %+v", l.Approvals)
	}
}

// fuzzUnpack feeds arbitrary bytes to a dialect's decoder: nothing may
// panic, and what decodes must encode back to the same fields.
func fuzzUnpack(f *testing.F, dialect string) {
	spec, err := host.SpecFor(dialect)
	if err != nil {
		f.Fatal(err)
	}
	seeds := append(responses(), everyField())
	for _, r := range seeds {
		if spec.TPDU {
			r.TPDU = host.DefaultTPDU()
		}
		packed, err := host.Encode(spec, r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(packed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := host.Decode(spec, data)
		if err != nil {
			return
		}
		packed, err := host.Encode(spec, got)
		if err != nil {
			t.Fatalf("decoded message does not encode: %v", err)
		}
		back, err := host.Decode(spec, packed)
		if err != nil {
			t.Fatalf("re-packed message does not decode: %v\n%x", err, packed)
		}
		if !reflect.DeepEqual(normal(got), normal(back)) {
			t.Fatalf("round trip changed the message:\n%+v\n%+v", got, back)
		}
	})
}

// FuzzUnpackDefault fuzzes the default dialect's decoder.
func FuzzUnpackDefault(f *testing.F) { fuzzUnpack(f, host.DialectDefault) }

// FuzzUnpackBCDTPDU fuzzes the bcd-tpdu dialect's decoder.
func FuzzUnpackBCDTPDU(f *testing.F) { fuzzUnpack(f, host.DialectBCDTPDU) }
