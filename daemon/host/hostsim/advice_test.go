package hostsim_test

import (
	"path/filepath"
	"testing"

	"github.com/vinr/cashlessd/daemon/host"
	"github.com/vinr/cashlessd/daemon/host/hostsim"
	"github.com/vinr/cashlessd/emv"
)

// adviceFields is a raw offline advice: 0220, processing code 000000, POS
// condition 00, 38 and 39 from the terminal, a TC in 55, no PAN.
func adviceFields(stan string, cid byte) *host.Fields {
	icc := emv.AppendTLV(nil, emv.TagCryptogram, []byte{1, 2, 3, 4, 5, 6, 7, 8})
	icc = emv.AppendTLV(icc, emv.TagCID, []byte{cid})
	icc = emv.AppendTLV(icc, emv.TagARC, []byte("Y3"))
	return &host.Fields{MTI: "0220", ProcessingCode: "000000", Amount: "000000000500",
		TransmissionTime: "0101120000", STAN: stan, LocalTime: "120000", LocalDate: "0101", EntryMode: "051",
		ConditionCode: "00", AuthCode: "Y31234", ResponseCode: "Y3", TerminalID: "T0000001",
		MerchantID: "M00000000000001", Currency: "458", ICC: icc, Batch: "000001", TransactionID: "tx-adv"}
}

func TestRawAdvice(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ledger.json")
	s := start(t, hostsim.Config{LedgerPath: path})
	c := dial(t, s)
	resp := exchange(t, c, adviceFields("000001", emv.CryptogramTC))
	if resp.MTI != "0230" || resp.ResponseCode != "00" || resp.AuthCode != "Y31234" || len(resp.RRN) != 12 ||
		resp.STAN != "000001" || resp.TransactionID != "tx-adv" {
		t.Fatalf("advice answer %+v", resp)
	}
	// A repeat with a new STAN: same answer, booked once.
	rep := adviceFields("000002", emv.CryptogramTC)
	rep.MTI = "0221"
	if again := exchange(t, c, rep); again.MTI != "0230" || again.ResponseCode != "00" || again.RRN != resp.RRN {
		t.Fatalf("repeat answer %+v", again)
	}
	l, err := hostsim.ReadLedger(path)
	if err != nil || len(l.Approvals) != 1 {
		t.Fatalf("ledger %+v %v", l, err)
	}
	if a := l.Approvals[0]; !a.Offline || a.Kind != "sale" || a.AuthCode != "Y31234" || a.Amount != 500 || a.Currency != "MYR" {
		t.Errorf("booked %+v", a)
	}

	for name, tc := range map[string]struct {
		edit func(f *host.Fields)
		rc   string
	}{
		// Condition 06 makes a 0220 a completion: without its pre-auth
		// it has no original.
		"completion, not advice": {func(f *host.Fields) {
			f.ConditionCode, f.RRN = "06", "000000000001"
			f.Original = &host.OriginalData{MTI: "0100", STAN: "000001", TransmissionTime: "0101120000", Acquirer: "00000000000", Forwarder: "00000000000"}
		}, "25"},
		"original data": {func(f *host.Fields) {
			f.Original = &host.OriginalData{MTI: "0100", STAN: "000001", TransmissionTime: "0101120000", Acquirer: "00000000000", Forwarder: "00000000000"}
		}, "30"},
		"no offline code":        {func(f *host.Fields) { f.ResponseCode = "" }, "30"},
		"online code":            {func(f *host.Fields) { f.ResponseCode = "00" }, "30"},
		"no auth code":           {func(f *host.Fields) { f.AuthCode = "" }, "30"},
		"refund processing code": {func(f *host.Fields) { f.ProcessingCode = "200000" }, "30"},
		"ARQC":                   {func(f *host.Fields) { f.ICC = adviceFields("", emv.CryptogramARQC).ICC }, "12"},
		"no chip data":           {func(f *host.Fields) { f.ICC = nil }, "30"},
		"zero amount":            {func(f *host.Fields) { f.Amount = "000000000000" }, "13"},
	} {
		f := adviceFields("000003", emv.CryptogramTC)
		f.TransactionID = "tx-" + name[:4]
		tc.edit(f)
		if got := exchange(t, c, f); got.ResponseCode != tc.rc {
			t.Errorf("%s: answered %s, want %s", name, got.ResponseCode, tc.rc)
		}
	}
	if l := s.Ledger(); len(l.Approvals) != 1 {
		t.Errorf("refused advices were booked: %+v", l.Approvals)
	}
}
