package hostsim_test

import (
	"bytes"
	"testing"

	"github.com/vinr/cashlessd/daemon/host"
	"github.com/vinr/cashlessd/daemon/host/hostsim"
	"github.com/vinr/cashlessd/emv"
)

// reversalFields is the reversal (0400) of the chip sale chipSale(saleSTAN)
// with chip data icc in 55.
func reversalFields(stan, saleSTAN, amount string, icc []byte) *host.Fields {
	f := saleFields(stan)
	f.MTI, f.PAN, f.EntryMode, f.TransactionID, f.Amount, f.ICC = "0400", "", "", "tx-"+saleSTAN, amount, icc
	f.Original = &host.OriginalData{MTI: "0200", STAN: saleSTAN, TransmissionTime: "0101120000",
		Acquirer: "00000000000", Forwarder: "00000000000"}
	return f
}

// refusedICC is the final chip data of a card that refused the approval:
// the AAC, the final TVR and, when given, issuer script results.
func refusedICC(results string) []byte {
	icc := finalICC(emv.CryptogramAAC, results)
	return emv.AppendTLV(icc, emv.TagTVR, []byte{0x00, 0x00, 0x00, 0x40, 0x00})
}

// TestCardRefusesTestAmount: a chip sale of the test amount is approved
// with issuer authentication data (91) whose ARPC is not the issuer's, so
// the card refuses it; the ARC stays the approval's.
func TestCardRefusesTestAmount(t *testing.T) {
	t.Parallel()
	c := dial(t, start(t, hostsim.Config{}))
	good := exchange(t, c, chipSale(t, "000001", "000000001000"))
	refused := exchange(t, c, chipSale(t, "000002", "000000090075"))
	g, ok1 := emv.Find(good.ICC, emv.TagIssuerAuthData)
	r, ok2 := emv.Find(refused.ICC, emv.TagIssuerAuthData)
	if refused.ResponseCode != "00" || !ok1 || !ok2 || len(g) != len(r) || bytes.Equal(g, r) ||
		!bytes.Equal(g[len(g)-2:], r[len(r)-2:]) {
		t.Fatalf("answer %s, issuer data %X, a good one %X", refused.ResponseCode, r, g)
	}
}

// TestReversalChipData: a reversal may carry the final chip data of a
// card that refused the approval (55); the host checks it and records the
// cryptogram type, TVR and script results with the reversal. Chip data
// with card data in it, with another cryptogram or malformed is refused
// and reverses nothing; so is every reversal while the host holds them.
func TestReversalChipData(t *testing.T) {
	t.Parallel()
	s := start(t, hostsim.Config{})
	c := dial(t, s)
	if a := exchange(t, c, chipSale(t, "000001", "000000001000")); a.ResponseCode != "00" {
		t.Fatalf("sale %+v", a)
	}
	withPAN := emv.AppendTLV(refusedICC(""), emv.TagPAN, []byte{0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42})
	for name, tc := range map[string]struct {
		icc []byte
		rc  string
	}{
		"card number":           {withPAN, "30"},
		"track 2":               {emv.AppendTLV(refusedICC(""), emv.TagTrack2, []byte{0x42, 0x42, 0xD3}), "30"},
		"TC":                    {finalICC(emv.CryptogramTC, ""), "12"},
		"no cryptogram":         {emv.AppendTLV(nil, emv.TagTVR, []byte{0, 0, 0, 0, 0}), "30"},
		"not TLV":               {[]byte{0x9F, 0x26, 0x20, 0x01}, "30"},
		"script results length": {refusedICC("2053"), "30"},
	} {
		if got := exchange(t, c, reversalFields("000002", "000001", "000000001000", tc.icc)); got.ResponseCode != tc.rc {
			t.Errorf("%s: answered %s, want %s", name, got.ResponseCode, tc.rc)
		}
	}
	s.SetHoldReversals(true)
	if got := exchange(t, c, reversalFields("000003", "000001", "000000001000", refusedICC(""))); got.ResponseCode != "91" {
		t.Errorf("held reversal answered %s", got.ResponseCode)
	}
	s.SetHoldReversals(false)
	if l := s.Ledger(); len(l.Reversals) != 0 || l.Approvals[0].Reversed {
		t.Fatalf("refused reversals reversed: %+v", l)
	}
	if got := exchange(t, c, reversalFields("000004", "000001", "000000001000", refusedICC("2053430072"))); got.ResponseCode != "00" {
		t.Fatalf("reversal answered %s", got.ResponseCode)
	}
	l := s.Ledger()
	if len(l.Reversals) != 1 || !l.Approvals[0].Reversed {
		t.Fatalf("ledger %+v", l)
	}
	if r := l.Reversals[0]; r.Cryptogram != "AAC" || r.TVR != "0000004000" || r.ScriptResults != "2053430072" {
		t.Errorf("reversal recorded as %+v", r)
	}
}
