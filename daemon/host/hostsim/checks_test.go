package hostsim_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vinr/cashlessd/daemon/host"
	"github.com/vinr/cashlessd/daemon/host/hostsim"
	"github.com/vinr/cashlessd/emv"
)

// clearField empties field n of f.
func clearField(t *testing.T, f *host.Fields, n int) {
	t.Helper()
	switch n {
	case 2:
		f.PAN = ""
	case 3:
		f.ProcessingCode = ""
	case 4:
		f.Amount = ""
	case 7:
		f.TransmissionTime = ""
	case 11:
		f.STAN = ""
	case 12:
		f.LocalTime = ""
	case 13:
		f.LocalDate = ""
	case 22:
		f.EntryMode = ""
	case 25:
		f.ConditionCode = ""
	case 35:
		f.Track2 = ""
	case 37:
		f.RRN = ""
	case 38:
		f.AuthCode = ""
	case 39:
		f.ResponseCode = ""
	case 41:
		f.TerminalID = ""
	case 42:
		f.MerchantID = ""
	case 49:
		f.Currency = ""
	case 55:
		f.ICC = nil
	case 60:
		f.Batch = ""
	case 62:
		f.TransactionID = ""
	case 63:
		f.Totals = nil
	case 70:
		f.NetworkCode = ""
	case 90:
		f.Original = nil
	default:
		t.Fatalf("no way to clear field %d", n)
	}
}

// swipedSale is a raw magstripe sale: entry mode 901, track 2 in 35.
func swipedSale(stan string) *host.Fields {
	f := saleFields(stan)
	f.EntryMode, f.Expiry, f.Track2 = "901", "2812", pan+"=2812101123456789"
	return f
}

func original(mti string) *host.OriginalData {
	return &host.OriginalData{MTI: mti, STAN: "000001", TransmissionTime: "0101120000",
		Acquirer: "00000000000", Forwarder: "00000000000"}
}

// wellFormed is one complete request of every kind the host takes.
func wellFormed() map[string]func(stan string) *host.Fields {
	return map[string]func(stan string) *host.Fields{
		"0800 sign-on": func(stan string) *host.Fields {
			return &host.Fields{MTI: "0800", TransmissionTime: "0101120000", STAN: stan, TerminalID: "T0000001", NetworkCode: "001"}
		},
		"0200 sale":        saleFields,
		"0200 swiped sale": swipedSale,
		"0100 pre-auth": func(stan string) *host.Fields {
			f := saleFields(stan)
			f.MTI, f.ConditionCode = "0100", "06"
			return f
		},
		"0200 refund": func(stan string) *host.Fields {
			f := saleFields(stan)
			f.PAN, f.EntryMode, f.ProcessingCode, f.RRN, f.Original = "", "", "200000", "600100000001", original("0200")
			return f
		},
		"0100 increment": func(stan string) *host.Fields {
			f := saleFields(stan)
			f.MTI, f.PAN, f.EntryMode, f.ConditionCode, f.RRN, f.Original = "0100", "", "", "06", "600100000001", original("0100")
			return f
		},
		"0220 completion": func(stan string) *host.Fields {
			f := saleFields(stan)
			f.MTI, f.PAN, f.EntryMode, f.ConditionCode, f.RRN, f.Original = "0220", "", "", "06", "600100000001", original("0100")
			return f
		},
		"0220 advice": func(stan string) *host.Fields { return adviceFields(stan, emv.CryptogramTC) },
		"0220 TC-advice": func(stan string) *host.Fields {
			return tcAdviceFields(stan, "000001", "000000001000", "600100000001", "ABC123", "2053430072")
		},
		"0400 reversal": func(stan string) *host.Fields {
			f := saleFields(stan)
			f.MTI, f.PAN, f.EntryMode, f.Original = "0400", "", "", original("0200")
			return f
		},
		"0320 upload": func(stan string) *host.Fields { return uploadFields(stan, "tx-up-"+stan) },
		"0500 settlement": func(stan string) *host.Fields {
			return settleFields(stan, "920000", 0, "000000000000")
		},
	}
}

// TestMissingMandatoryFieldIsFormatError removes each mandatory field
// (docs/host-protocol.md) from each request in turn: the host answers 30
// and books nothing; an 0110/0210/0230 still carries a reference (37).
func TestMissingMandatoryFieldIsFormatError(t *testing.T) {
	t.Parallel()
	s := start(t, hostsim.Config{})
	c := dial(t, s)
	stan := 0
	next := func() string { stan++; return fmt.Sprintf("%06d", stan) }
	for name, build := range wellFormed() {
		fields := hostsim.MandatoryFields(build("000000"))
		if len(fields) == 0 {
			t.Fatalf("%s: no mandatory fields", name)
		}
		for _, n := range fields {
			f := build(next())
			if f.TransactionID != "" {
				f.TransactionID = fmt.Sprintf("tx-%s-%d", strings.Fields(name)[1], n)
			}
			clearField(t, f, n)
			got := exchange(t, c, f)
			if got.ResponseCode != host.RCFormatError {
				t.Errorf("%s without field %d: answered %q, want 30", name, n, got.ResponseCode)
			}
			if got.MTI != host.ResponseMTI(f.MTI) {
				t.Errorf("%s without field %d: answer MTI %s", name, n, got.MTI)
			}
			switch got.MTI {
			case host.MTIAuthResponse, host.MTIFinancialResponse, host.MTIAdviceResponse:
				if len(strings.TrimSpace(got.RRN)) != 12 {
					t.Errorf("%s without field %d: answer without a reference (37): %q", name, n, got.RRN)
				}
			}
		}
	}
	if l := s.Ledger(); len(l.Approvals) != 0 || len(l.Settlements) != 0 || len(l.Reversals) != 0 {
		t.Errorf("malformed requests were booked: %+v", l)
	}
	// The complete ones are taken (not 30).
	for name, build := range wellFormed() {
		f := build(next())
		if got := exchange(t, c, f); got.ResponseCode == host.RCFormatError {
			t.Errorf("%s, complete: answered 30", name)
		}
	}
}

// TestDeclinesCarryReference: a decline's answer carries a reference of
// its own (37), as every 0110/0210/0230 does.
func TestDeclinesCarryReference(t *testing.T) {
	t.Parallel()
	s := start(t, hostsim.Config{})
	c := dial(t, s)
	declined := saleFields("000001")
	declined.PAN = "4000000000000002"
	refund := saleFields("000002")
	refund.PAN, refund.ProcessingCode, refund.RRN, refund.Original = "", "200000", "699900000001", original("0200")
	seen := map[string]bool{}
	for _, tc := range []struct {
		f  *host.Fields
		rc string
	}{{declined, "05"}, {refund, "25"}} {
		got := exchange(t, c, tc.f)
		if got.ResponseCode != tc.rc {
			t.Fatalf("%s %s: answered %s, want %s", tc.f.MTI, tc.f.ProcessingCode, got.ResponseCode, tc.rc)
		}
		rrn := strings.TrimSpace(got.RRN)
		if len(rrn) != 12 || rrn == strings.TrimSpace(tc.f.RRN) || seen[rrn] {
			t.Errorf("%s %s: decline reference %q (request's %q)", tc.f.MTI, tc.f.ProcessingCode, got.RRN, tc.f.RRN)
		}
		seen[rrn] = true
	}
}

// TestSwipedSaleTrack2: a swiped sale needs track 2 (35), and its card
// number and expiry must agree with fields 2 and 14.
func TestSwipedSaleTrack2(t *testing.T) {
	t.Parallel()
	s := start(t, hostsim.Config{})
	c := dial(t, s)
	for i, tc := range []struct {
		name string
		edit func(f *host.Fields)
		rc   string
	}{
		{"with track 2", func(*host.Fields) {}, "00"},
		{"fallback with track 2", func(f *host.Fields) { f.EntryMode = "801" }, "00"},
		{"no track 2", func(f *host.Fields) { f.Track2 = "" }, "30"},
		{"fallback without track 2", func(f *host.Fields) { f.EntryMode, f.Track2 = "801", "" }, "30"},
		{"other card number", func(f *host.Fields) { f.Track2 = "4000000000000077=2812101123456789" }, "14"},
		{"other expiry", func(f *host.Fields) { f.Track2 = pan + "=2912101123456789" }, "14"},
		{"unreadable track", func(f *host.Fields) { f.Track2 = pan + "2812101" }, "14"},
	} {
		f := swipedSale(fmt.Sprintf("%06d", i+1))
		tc.edit(f)
		got := exchange(t, c, f)
		if got.ResponseCode != tc.rc || len(strings.TrimSpace(got.RRN)) != 12 {
			t.Errorf("%s: answered %s (RRN %q), want %s", tc.name, got.ResponseCode, got.RRN, tc.rc)
		}
	}
	if l := s.Ledger(); len(l.Approvals) != 2 {
		t.Errorf("approvals %d, want 2", len(l.Approvals))
	}
}
