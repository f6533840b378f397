package hostsim_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/vinr/cashlessd/daemon/host"
	"github.com/vinr/cashlessd/daemon/host/hostsim"
)

// uploadFields is a raw batch upload (0320) of an offline sale: no RRN,
// 39 = Y3, identified by 62.
func uploadFields(stan, id string) *host.Fields {
	return &host.Fields{MTI: "0320", ProcessingCode: "000000", Amount: "000000000450",
		TransmissionTime: "0101120000", STAN: stan, LocalTime: "113000", LocalDate: "0101", ConditionCode: "00",
		AuthCode: "Y30042", ResponseCode: "Y3", TerminalID: "T0000001", MerchantID: "M00000000000001",
		Currency: "458", Batch: "000001", TransactionID: id,
		Original: &host.OriginalData{MTI: "0220", STAN: "000000", TransmissionTime: "0000000000",
			Acquirer: "00000000000", Forwarder: "00000000000"}}
}

func settleFields(stan, proc string, captures int, amount string) *host.Fields {
	return &host.Fields{MTI: "0500", ProcessingCode: proc, TransmissionTime: "0101120000", STAN: stan,
		LocalTime: "120000", LocalDate: "0101", TerminalID: "T0000001", MerchantID: "M00000000000001",
		Currency: "458", Batch: "000001", Totals: &host.Totals{CaptureCount: fmt.Sprintf("%06d", captures),
			CaptureAmount: amount, RefundCount: "000000", RefundAmount: "000000000000"}}
}

func TestRawBatchUpload(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ledger.json")
	s := start(t, hostsim.Config{LedgerPath: path})
	c := dial(t, s)
	sale := exchange(t, c, saleFields("000001")) // tx-000001, 10.00, the host has it

	// The host's totals lack the offline sale: 95.
	if resp := exchange(t, c, settleFields("000002", "920000", 2, "000000001450")); resp.MTI != "0510" || resp.ResponseCode != "95" {
		t.Fatalf("settlement answer %+v", resp)
	}
	// A settlement after upload before anything was uploaded: 95 too.
	if resp := exchange(t, c, settleFields("000003", "960000", 2, "000000001450")); resp.ResponseCode != "95" ||
		resp.Totals == nil || resp.Totals.CaptureCount != "000000" {
		t.Fatalf("settlement after an empty upload %+v", resp)
	}

	up := exchange(t, c, uploadFields("000004", "tx-off"))
	if up.MTI != "0330" || up.ResponseCode != "00" || up.STAN != "000004" || up.TransactionID != "tx-off" ||
		len(up.RRN) != 12 || up.AuthCode != "Y30042" {
		t.Fatalf("upload answer %+v", up)
	}
	// A repeat with a new STAN: same answer, booked once.
	if again := exchange(t, c, uploadFields("000005", "tx-off")); again.ResponseCode != "00" || again.RRN != up.RRN {
		t.Fatalf("repeated upload %+v", again)
	}
	known := uploadFields("000006", "tx-000001")
	known.Amount, known.ResponseCode, known.AuthCode, known.RRN = "000000001000", "00", sale.AuthCode, sale.RRN
	if resp := exchange(t, c, known); resp.ResponseCode != "00" || resp.RRN != sale.RRN {
		t.Fatalf("upload of a known sale %+v", resp)
	}

	for name, tc := range map[string]struct {
		edit func(f *host.Fields)
		rc   string
	}{
		"no transaction ID":  {func(f *host.Fields) { f.TransactionID = "" }, "30"},
		"no batch":           {func(f *host.Fields) { f.Batch = "" }, "30"},
		"approval code":      {func(f *host.Fields) { f.ResponseCode = "05" }, "30"},
		"offline refund":     {func(f *host.Fields) { f.ProcessingCode = "200000" }, "30"},
		"pre-auth condition": {func(f *host.Fields) { f.ProcessingCode, f.ConditionCode = "200000", "06" }, "30"},
		"zero amount":        {func(f *host.Fields) { f.Amount = "000000000000" }, "13"},
		"other amount":       {func(f *host.Fields) { f.TransactionID = "tx-off"; f.Amount = "000000000451" }, "13"},
		"other currency":     {func(f *host.Fields) { f.TransactionID = "tx-off"; f.Currency = "840" }, "12"},
		"other RRN":          {func(f *host.Fields) { f.TransactionID = "tx-off"; f.RRN = "999999999999" }, "12"},
		"RRN of another": {func(f *host.Fields) {
			f.TransactionID, f.RRN, f.ResponseCode = "tx-new", sale.RRN, "00"
		}, "12"},
		"sale as refund": {func(f *host.Fields) {
			f.TransactionID, f.ProcessingCode, f.ResponseCode = "tx-000001", "200000", "00"
		}, "12"},
	} {
		f := uploadFields("000007", "tx-bad")
		tc.edit(f)
		if got := exchange(t, c, f); got.MTI != "0330" || got.ResponseCode != tc.rc {
			t.Errorf("%s: answered %s, want %s", name, got.ResponseCode, tc.rc)
		}
	}
	if l := s.Ledger(); len(l.Approvals) != 2 {
		t.Fatalf("approvals %+v", l.Approvals)
	}

	// Settled after upload, on the uploaded set; a repeat is acknowledged
	// and not recorded again.
	for i, stan := range []string{"000008", "000009"} {
		if resp := exchange(t, c, settleFields(stan, "960000", 2, "000000001450")); resp.ResponseCode != "00" {
			t.Fatalf("settlement after upload %d: %+v", i, resp)
		}
	}
	l, err := hostsim.ReadLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(l.Settlements); n != 3 || !l.Settlements[2].AfterUpload || l.Settlements[2].ResponseCode != "00" {
		t.Fatalf("settlements %+v", l.Settlements)
	}
	for _, a := range l.Approvals {
		if !a.Settled || !a.Uploaded || a.Batch != "000001" {
			t.Errorf("approval %+v", a)
		}
	}
	// Uploading a settled transaction into another batch would settle it
	// twice.
	f := uploadFields("000010", "tx-off")
	f.Batch = "000002"
	if got := exchange(t, c, f); got.ResponseCode != "12" {
		t.Errorf("upload of a settled transaction into another batch: %s", got.ResponseCode)
	}
}

func TestForgetApproval(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ledger.json")
	s := start(t, hostsim.Config{LedgerPath: path})
	exchange(t, dial(t, s), saleFields("000001"))
	if err := s.ForgetApproval("T0000001", "tx-nope"); !errors.Is(err, hostsim.ErrNoSuchApproval) {
		t.Errorf("forgetting nothing: %v", err)
	}
	if err := s.ForgetApproval("T0000001", "tx-000001"); err != nil {
		t.Fatal(err)
	}
	if l, err := hostsim.ReadLedger(path); err != nil || len(l.Approvals) != 0 || l.Sequence != 1 {
		t.Errorf("ledger after forgetting: %+v %v", l, err)
	}
}
