package hostsim_test

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vinr/cashlessd/daemon/host"
	"github.com/vinr/cashlessd/daemon/host/hostsim"
	"github.com/vinr/cashlessd/emv"
)

// finalICC is the chip data after the second GENERATE AC: a cryptogram of
// type cid, the ARC 00 and, when given, issuer script results (hex digits).
func finalICC(cid byte, results string) []byte {
	icc := emv.AppendTLV(nil, emv.TagCryptogram, []byte{8, 7, 6, 5, 4, 3, 2, 1})
	icc = emv.AppendTLV(icc, emv.TagCID, []byte{cid})
	if r, _ := hex.DecodeString(results); len(r) > 0 {
		icc = emv.AppendTLV(icc, emv.TagIssuerScriptResults, r)
	}
	return emv.AppendTLV(icc, emv.TagARC, []byte("00"))
}

// tcAdviceFields is the TC advice of the sale saleFields(saleSTAN) booked
// with rrn and authCode: 0220, condition 00, 37, 38, 39 = 00, 55, 90.
func tcAdviceFields(stan, saleSTAN, amount, rrn, authCode, results string) *host.Fields {
	f := saleFields(stan)
	f.MTI, f.PAN, f.TransactionID, f.Amount = "0220", "", "tx-"+saleSTAN, amount
	f.RRN, f.AuthCode, f.ResponseCode = rrn, authCode, "00"
	f.ICC = finalICC(emv.CryptogramTC, results)
	f.Original = &host.OriginalData{MTI: "0200", STAN: saleSTAN, TransmissionTime: "0101120000",
		Acquirer: "00000000000", Forwarder: "00000000000"}
	return f
}

// chipSale is a raw chip sale with an ARQC for amount (minor units, as
// field 4 writes it).
func chipSale(t *testing.T, stan, amount string) *host.Fields {
	f := saleFields(stan)
	f.Amount = amount
	f.ICC = emv.AppendTLV(emv.AppendTLV(nil, emv.TagCryptogram, []byte{1, 1, 2, 2, 3, 3, 4, 4}), emv.TagCID, []byte{emv.CryptogramARQC})
	return f
}

func TestTestAmountsAddIssuerScripts(t *testing.T) {
	t.Parallel()
	s := start(t, hostsim.Config{})
	c := dial(t, s)
	for i, tc := range []struct {
		amount string
		code   int
		extra  emv.Tag // what follows the PUT DATA in the script
	}{
		{"000000090072", hostsim.TestScript, 0},
		{"000000090073", hostsim.TestScriptFailing, emv.TagIssuerScriptCommand},
		{"000000090074", hostsim.TestScriptMalformed, emv.TagTerminalCountry},
		{"000000001000", 0, 0},
	} {
		resp := exchange(t, c, chipSale(t, fmt.Sprintf("%06d", i+1), tc.amount))
		if resp.ResponseCode != "00" {
			t.Fatalf("%s: answered %s", tc.amount, resp.ResponseCode)
		}
		script, ok := emv.Find(resp.ICC, emv.TagIssuerScript2)
		if tc.code == 0 {
			if ok {
				t.Errorf("%s: a script in %X", tc.amount, resp.ICC)
			}
			continue
		}
		objs, err := emv.ParseTLV(script)
		if !ok || err != nil || len(objs) < 2 || objs[0].Tag != emv.TagScriptID ||
			!bytes.Equal(objs[0].Value, hostsim.TestScriptID(tc.code)) || objs[1].Tag != emv.TagIssuerScriptCommand {
			t.Fatalf("%s: script %X (%v)", tc.amount, script, err)
		}
		if tc.extra == 0 && len(objs) != 2 || tc.extra != 0 && (len(objs) != 3 || objs[2].Tag != tc.extra) {
			t.Errorf("%s: script %X", tc.amount, script)
		}
	}
}

func TestRawTCAdvice(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ledger.json")
	s := start(t, hostsim.Config{LedgerPath: path})
	c := dial(t, s)
	sale := exchange(t, c, chipSale(t, "000001", "000000090072"))
	if sale.ResponseCode != "00" {
		t.Fatalf("sale answered %s", sale.ResponseCode)
	}
	rrn, authCode := sale.RRN, sale.AuthCode

	for name, tc := range map[string]struct {
		edit func(f *host.Fields)
		rc   string
	}{
		"unknown transaction": {func(f *host.Fields) { f.TransactionID = "tx-none" }, "25"},
		"other RRN":           {func(f *host.Fields) { f.RRN = "600199999999" }, "12"},
		"other auth code":     {func(f *host.Fields) { f.AuthCode = "ZZZZZZ" }, "12"},
		"pre-auth condition":  {func(f *host.Fields) { f.ConditionCode = "06" }, "12"},
		"other amount":        {func(f *host.Fields) { f.Amount = "000000001000" }, "13"},
		"ARQC":                {func(f *host.Fields) { f.ICC = finalICC(emv.CryptogramARQC, "2053430072") }, "12"},
		"results of 4 bytes":  {func(f *host.Fields) { f.ICC = finalICC(emv.CryptogramTC, "20534300") }, "30"},
		"result 3":            {func(f *host.Fields) { f.ICC = finalICC(emv.CryptogramTC, "3053430072") }, "30"},
		"refund code":         {func(f *host.Fields) { f.ProcessingCode = "200000" }, "30"},
		"field 90 of another request": {func(f *host.Fields) {
			f.Original.STAN = "000009"
		}, "25"},
	} {
		f := tcAdviceFields("000002", "000001", "000000090072", rrn, authCode, "2053430072")
		tc.edit(f)
		if got := exchange(t, c, f); got.ResponseCode != tc.rc {
			t.Errorf("%s: answered %s, want %s", name, got.ResponseCode, tc.rc)
		}
	}
	if a := s.Ledger().Approvals[0]; a.ScriptResults != "" {
		t.Fatalf("refused advices recorded %s", a.ScriptResults)
	}

	// While the host holds advices it answers 91 and records nothing.
	s.SetHoldAdvices(true)
	held := tcAdviceFields("000009", "000001", "000000090072", rrn, authCode, "2053430072")
	if got := exchange(t, c, held); got.ResponseCode != "91" || s.Ledger().Approvals[0].ScriptResults != "" {
		t.Fatalf("held advice answered %s, recorded %q", got.ResponseCode, s.Ledger().Approvals[0].ScriptResults)
	}
	if got := exchange(t, c, adviceFields("000010", emv.CryptogramTC)); got.ResponseCode != "91" || len(s.Ledger().Approvals) != 1 {
		t.Fatalf("held offline advice answered %s", got.ResponseCode)
	}
	s.SetHoldAdvices(false)

	resp := exchange(t, c, tcAdviceFields("000003", "000001", "000000090072", rrn, authCode, "2053430072"))
	if resp.MTI != "0230" || resp.ResponseCode != "00" || resp.RRN != rrn || resp.AuthCode != authCode {
		t.Fatalf("TC advice answered %+v", resp)
	}
	// A repeat is acknowledged; the first results stay.
	rep := tcAdviceFields("000004", "000001", "000000090072", rrn, authCode, "1253430072")
	rep.MTI = "0221"
	if resp := exchange(t, c, rep); resp.ResponseCode != "00" || resp.RRN != rrn {
		t.Fatalf("repeat answered %+v", resp)
	}
	l, err := hostsim.ReadLedger(path)
	if err != nil || len(l.Approvals) != 1 {
		t.Fatalf("ledger %+v %v", l, err)
	}
	if a := l.Approvals[0]; a.ScriptResults != "2053430072" || a.Offline || a.Kind != "sale" {
		t.Errorf("booked %+v", a)
	}

	// A batch upload's chip data reports them too, for an approval
	// that has none yet; malformed results are refused.
	other := exchange(t, c, chipSale(t, "000005", "000000001500"))
	up := uploadFields("000006", "tx-000005")
	up.Amount, up.ResponseCode, up.AuthCode, up.RRN = "000000001500", "00", other.AuthCode, other.RRN
	up.Original = &host.OriginalData{MTI: "0200", STAN: "000005", TransmissionTime: "0101120000",
		Acquirer: "00000000000", Forwarder: "00000000000"}
	up.ICC = finalICC(emv.CryptogramTC, "F053430072")
	if resp := exchange(t, c, up); resp.ResponseCode != "30" {
		t.Errorf("upload with malformed script results answered %s", resp.ResponseCode)
	}
	up.STAN, up.ICC = "000007", finalICC(emv.CryptogramTC, "1053430074")
	if resp := exchange(t, c, up); resp.ResponseCode != "00" {
		t.Fatalf("upload answered %s", resp.ResponseCode)
	}
	for _, a := range s.Ledger().Approvals {
		if a.TransactionID == "tx-000005" && (a.ScriptResults != "1053430074" || !a.Uploaded) {
			t.Errorf("uploaded %+v", a)
		}
	}
	if b, err := os.ReadFile(path); err != nil || strings.Contains(string(b), pan) {
		t.Errorf("the ledger holds a full card number (%v)", err)
	}
}
