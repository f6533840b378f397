package emv_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/vinr/cashlessd/emv"
	"github.com/vinr/cashlessd/emv/card"
)

// Instruction bytes, for asserting the command flow.
const (
	insSelect  = 0xA4
	insGPO     = 0xA8
	insRead    = 0xB2
	insGetData = 0xCA
	insVerify  = 0x20
	insGenAC   = 0xAE
	insExtAuth = 0x82
	insGetResp = 0xC0
)

func TestContactOnlinePIN(t *testing.T) {
	t.Parallel()
	c, img := insert(t, "mastercard-online-pin", emv.Contact)
	tr := &counter{t: c}
	pins := &pinPad{card: c}
	s := newKernel(t).Contact(tr, pins, sale(2500))
	out, err := s.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if out.Decision != emv.DecisionOnline || out.CryptogramType != "ARQC" {
		t.Fatalf("decision %s %s", out.Decision, out.CryptogramType)
	}
	// No PSE on this card: the kernel fell back to the list of AIDs.
	if !bytes.Contains(tr.commands[0], []byte("1PAY.SYS.DDF01")) || tr.commands[1][1] != insSelect {
		t.Errorf("first commands % X", tr.commands[:2])
	}
	if pins.onlineCalls != 1 || !out.OnlinePIN || out.CVM != emv.CVMOnlinePIN {
		t.Errorf("online PIN: calls %d %v %s", pins.onlineCalls, out.OnlinePIN, out.CVM)
	}
	if pins.requests[0].PAN != "5200828282828210" || pins.requests[0].Amount != 2500 {
		t.Errorf("PIN request %v", pins.requests[0])
	}
	if out.CVMResults != [3]byte{0x42, 0x03, 0x00} || !out.TVR.Has(emv.TVROnlinePINEntered) {
		t.Errorf("CVM results % X TVR %s", out.CVMResults, out.TVR)
	}
	if !bytes.Equal(out.PINBlock, emv.MustHex("1A2B3C4D5E6F7081")) || len(out.KSN) != 10 {
		t.Errorf("PIN block % X KSN % X", out.PINBlock, out.KSN)
	}
	if out.Scheme != "mastercard" || out.MaskedPAN() != "************8210" || out.PAN != "5200828282828210" ||
		out.ExpiryYYMM != "3112" || out.PANSequence != "01" || out.AID != "A0000000041010" ||
		out.ApplicationLabel != "Mastercard" || out.CardholderName != "ONLINE PIN/MASTERCARD" ||
		out.ServiceCode != "201" || out.POSEntryMode != "05" {
		t.Errorf("card fields: %+v", out)
	}
	// TVR: ODA not performed, floor limit (0) exceeded; TSI: CVM, CRM, TRM.
	if out.TVR.String() != "8000048000" || out.TSI.String() != "6800" {
		t.Errorf("TVR %s TSI %s", out.TVR, out.TSI)
	}
	for _, tg := range []emv.Tag{0x9F26, 0x9F27, 0x9F10, 0x9F37, 0x9F36, 0x95, 0x9A, 0x9C, 0x9F02, 0x5F2A, 0x82, 0x9F1A, 0x9F03, 0x9F33, 0x9F34, 0x84} {
		tag(t, out, tg)
	}
	if !bytes.Equal(tag(t, out, 0x9F02), emv.MustHex("000000002500")) || !bytes.Equal(tag(t, out, 0x9A), emv.MustHex("260315")) ||
		!bytes.Equal(tag(t, out, 0x5F2A), emv.MustHex("0840")) || !bytes.Equal(tag(t, out, 0x95), out.TVR[:]) {
		t.Error("ICC data values")
	}

	// The host approves with issuer authentication data; this card takes
	// it in the second GENERATE AC (91 in CDOL2).
	final, err := s.Complete(context.Background(), approve(img, out))
	if err != nil {
		t.Fatal(err)
	}
	if !final.Approved() || final.CryptogramType != "TC" || final.AuthResponseCode != "00" {
		t.Fatalf("final %s %s", final.Decision, final.CryptogramType)
	}
	if !final.TSI.Has(emv.TSIIssuerAuthentication) || final.TVR.Has(emv.TVRIssuerAuthFailed) || tr.sent(insExtAuth) != 0 {
		t.Errorf("issuer auth: TSI %s TVR %s", final.TSI, final.TVR)
	}
	if bytes.Equal(final.Cryptogram, out.Cryptogram) || !bytes.Equal(tag(t, final, 0x9F26), final.Cryptogram) {
		t.Error("final ICC data must carry the TC")
	}
	if _, err := s.Complete(context.Background(), approve(img, out)); !errors.Is(err, emv.ErrSession) {
		t.Errorf("second Complete: %v", err)
	}
}

func TestContactSignatureWithExternalAuthenticate(t *testing.T) {
	t.Parallel()
	c, img := insert(t, "visa-signature", emv.Contact)
	tr := &counter{t: c}
	s := newKernel(t).Contact(tr, &pinPad{card: c}, sale(1999))
	out, err := s.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !out.SignatureRequired || out.CVM != emv.CVMSignature || out.CVMResults != [3]byte{0x5E, 0x03, 0x00} || out.PINVerified {
		t.Errorf("CVM %s % X", out.CVM, out.CVMResults)
	}
	// PSE, directory record, SELECT AID, GPO, 5 records (2 of them the
	// ODA certificates, unused without CA keys), GET DATA ATC and last
	// online ATC (velocity), GENERATE AC.
	want := []byte{insSelect, insRead, insRead, insSelect, insGPO, insRead, insRead, insRead, insRead, insRead, insGetData, insGetData, insGenAC}
	if !bytes.Equal(tr.ins(), want) {
		t.Errorf("flow % X, want % X", tr.ins(), want)
	}
	final, err := s.Complete(context.Background(), approve(img, out))
	if err != nil || !final.Approved() {
		t.Fatalf("%v %v", final.Decision, err)
	}
	// Visa's CDOL2 has no 91: EXTERNAL AUTHENTICATE carries it.
	if tr.sent(insExtAuth) != 1 || final.TVR.Has(emv.TVRIssuerAuthFailed) {
		t.Errorf("EXTERNAL AUTHENTICATE: %d, TVR %s", tr.sent(insExtAuth), final.TVR)
	}
	if !final.SignatureRequired || final.Interface != emv.Contact || len(final.Cryptogram) == 0 {
		t.Errorf("final outcome %v", final)
	}
}

func TestOfflinePIN(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		typed    []string
		verified bool
		declined bool
		tries    []int
	}{
		{"right", []string{"1234"}, true, false, []int{3}},
		{"wrong then right", []string{"0000", "1234"}, true, false, []int{3, 2}},
		{"wrong three times", []string{"0000", "1111", "2222"}, false, true, []int{3, 2, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, img := insert(t, "visa-offline-pin", emv.Contact)
			pins := &pinPad{card: c, offline: tc.typed}
			tr := &counter{t: c}
			s := newKernel(t).Contact(tr, pins, sale(4200))
			out, err := s.Read(context.Background())
			for i, want := range tc.tries {
				if pins.requests[i].TriesLeft != want {
					t.Errorf("prompt %d showed %d tries left, want %d", i, pins.requests[i].TriesLeft, want)
				}
			}
			if tc.declined {
				var de *emv.DeclineError
				if !errors.As(err, &de) || !errors.Is(err, emv.ErrDeclined) {
					t.Fatalf("want a decline, got %v", err)
				}
				if !out.TVR.Has(emv.TVRPINTryLimitExceeded) || out.Decision != emv.DecisionDeclined || out.CryptogramType != "AAC" {
					t.Errorf("TVR %s %s %s", out.TVR, out.Decision, out.CryptogramType)
				}
				// After the offline PIN failed, the list goes on to signature.
				if !out.SignatureRequired || out.PINVerified || out.CVMResults != [3]byte{0x5E, 0x03, 0x00} {
					t.Errorf("fallback CVM: %s % X", out.CVM, out.CVMResults)
				}
				if !strings.Contains(de.Reason, "PIN try limit") || out.MaskedPAN() != "************3155" {
					t.Errorf("reason %q", de.Reason)
				}
				if c.PINTriesLeft() != 0 {
					t.Errorf("card tries %d", c.PINTriesLeft())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !out.PINVerified || out.CVM != emv.CVMPlaintextPIN || out.CVMResults != [3]byte{0x41, 0x03, 0x02} || out.SignatureRequired {
				t.Errorf("CVM %s % X", out.CVM, out.CVMResults)
			}
			if out.TVR.Has(emv.TVRCVMFailed) {
				t.Errorf("TVR %s", out.TVR)
			}
			// The card is T=0: answers come after GET RESPONSE or a resend.
			if tr.sent(insGetResp) == 0 || c.PINTriesLeft() != 3 {
				t.Errorf("GET RESPONSE %d, tries %d", tr.sent(insGetResp), c.PINTriesLeft())
			}
			final, err := s.Complete(context.Background(), approve(img, out))
			if err != nil || !final.Approved() {
				t.Fatalf("%v %v", final.Decision, err)
			}
		})
	}
}

func TestOfflinePINBypassed(t *testing.T) {
	t.Parallel()
	c, _ := insert(t, "visa-offline-pin", emv.Contact)
	out, err := newKernel(t).Contact(c, &pinPad{card: c, bypass: true}, sale(4200)).Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !out.TVR.Has(emv.TVRPINNotEntered) || !out.SignatureRequired {
		t.Errorf("TVR %s signature %v", out.TVR, out.SignatureRequired)
	}
}

func TestNoPINPad(t *testing.T) {
	t.Parallel()
	c, _ := insert(t, "mastercard-online-pin", emv.Contact)
	out, err := newKernel(t).Contact(c, nil, sale(2500)).Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// The rule is "online PIN if the terminal supports it" (42 03): without a
	// PIN pad its condition is not met, so it is skipped, not failed.
	if out.TVR.Has(emv.TVRPINPadNotPresent) || out.TVR.Has(emv.TVRCVMFailed) || !out.SignatureRequired || out.OnlinePIN {
		t.Errorf("TVR %s CVM %s", out.TVR, out.CVM)
	}
}

func TestGenericCVMByAmount(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		amount    int64
		signature bool
		results   [3]byte
	}{
		{10000, false, [3]byte{0x1F, 0x03, 0x02}}, // not over Y = 100.00
		{10001, true, [3]byte{0x5E, 0x09, 0x00}},  // over Y
	} {
		c, _ := insert(t, "visa-approved", emv.Contact)
		out, err := newKernel(t).Contact(c, &pinPad{card: c}, sale(tc.amount)).Read(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if out.SignatureRequired != tc.signature || out.CVMResults != tc.results {
			t.Errorf("%d: signature %v results % X", tc.amount, out.SignatureRequired, out.CVMResults)
		}
	}
	// Another currency than the card's: the amount conditions do not apply.
	c, _ := insert(t, "visa-approved", emv.Contact)
	tx := sale(99999)
	tx.Currency = "EUR"
	out, err := newKernel(t).Contact(c, &pinPad{card: c}, tx).Read(context.Background())
	if err != nil || out.SignatureRequired {
		t.Errorf("EUR: %v %v", out.SignatureRequired, err)
	}
}

func TestHostDeclinesAndUnreachable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		resp emv.HostResponse
		arc  string
	}{
		{"declined 05", emv.HostResponse{ResponseCode: "05"}, "05"},
		{"declined 51 with ARPC", emv.HostResponse{ResponseCode: "51"}, "51"},
		{"no answer", emv.HostResponse{Unreachable: true}, "Z3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, img := insert(t, "visa-declined", emv.Contact)
			tr := &counter{t: c}
			s := newKernel(t).Contact(tr, &pinPad{card: c}, sale(1500))
			out, err := s.Read(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			resp := tc.resp
			if tc.arc == "51" {
				resp.IssuerData = emv.AppendTLV(nil, emv.TagIssuerAuthData, card.IssuerAuthenticationData(img.CardKey(), out.Cryptogram, "51"))
			}
			final, err := s.Complete(context.Background(), resp)
			if err != nil {
				t.Fatal(err)
			}
			if final.Decision != emv.DecisionDeclined || final.CryptogramType != "AAC" || final.AuthResponseCode != tc.arc {
				t.Errorf("%s %s %s", final.Decision, final.CryptogramType, final.AuthResponseCode)
			}
			last := tr.commands[len(tr.commands)-1]
			if last[1] != insGenAC || last[2] != emv.CryptogramAAC {
				t.Errorf("second GENERATE AC asked % X", last[:4])
			}
		})
	}
}

func TestIssuerAuthenticationFails(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"visa-approved", "mastercard"} { // EXTERNAL AUTHENTICATE; 91 in CDOL2
		c, _ := insert(t, name, emv.Contact)
		s := newKernel(t).Contact(c, &pinPad{card: c}, sale(1500))
		if _, err := s.Read(context.Background()); err != nil {
			t.Fatal(err)
		}
		bogus := emv.HostResponse{Approved: true, ResponseCode: "00",
			IssuerData: emv.MustHex("91 0A 0102030405060708 3030")}
		final, err := s.Complete(context.Background(), bogus)
		if !errors.Is(err, emv.ErrDeclined) || final.Approved() {
			t.Fatalf("%s: the card must refuse: %v %s", name, err, final.Decision)
		}
		if !final.TSI.Has(emv.TSIIssuerAuthentication) {
			t.Errorf("%s: TSI %s", name, final.TSI)
		}
		if name == "visa-approved" && !final.TVR.Has(emv.TVRIssuerAuthFailed) {
			t.Errorf("%s: TVR %s", name, final.TVR)
		}
	}
}

func TestIssuerScripts(t *testing.T) {
	t.Parallel()
	c, img := insert(t, "visa-approved", emv.Contact)
	tr := &counter{t: c}
	s := newKernel(t).Contact(tr, &pinPad{card: c}, sale(1500))
	out, err := s.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	resp := approve(img, out)
	// 71: PUT DATA, succeeds. 72: an instruction the card does not know.
	script1 := emv.Encode(emv.TLV{Tag: emv.TagScriptID, Value: emv.MustHex("11223344")},
		emv.TLV{Tag: emv.TagIssuerScriptCommand, Value: emv.MustHex("04DA9F580501020304 05")})
	script2 := emv.Encode(emv.TLV{Tag: emv.TagScriptID, Value: emv.MustHex("55667788")},
		emv.TLV{Tag: emv.TagIssuerScriptCommand, Value: emv.MustHex("04DA9F580501020304 05")},
		emv.TLV{Tag: emv.TagIssuerScriptCommand, Value: emv.MustHex("84EE000000")})
	resp.IssuerData = append(resp.IssuerData, emv.AppendTLV(nil, emv.TagIssuerScript1, script1)...)
	resp.IssuerData = append(resp.IssuerData, emv.AppendTLV(nil, emv.TagIssuerScript2, script2)...)
	final, err := s.Complete(context.Background(), resp)
	if err != nil || !final.Approved() {
		t.Fatalf("%v %v", final.Decision, err)
	}
	if got := fmt.Sprintf("%X", final.ScriptResults); got != "2011223344"+"1255667788" {
		t.Errorf("script results %s", got)
	}
	if !final.TSI.Has(emv.TSIScriptProcessing) || !final.TVR.Has(emv.TVRScriptFailedAfterFinalAC) || final.TVR.Has(emv.TVRScriptFailedBeforeFinalAC) {
		t.Errorf("TSI %s TVR %s", final.TSI, final.TVR)
	}
	if !bytes.Equal(tag(t, final, emv.TagIssuerScriptResults), final.ScriptResults) {
		t.Error("9F5B missing from the ICC data")
	}
	// The script template may also come wrapped in a 55.
	c2, img2 := insert(t, "visa-approved", emv.Contact)
	s2 := newKernel(t).Contact(c2, &pinPad{card: c2}, sale(1500))
	out2, _ := s2.Read(context.Background())
	wrapped := approve(img2, out2)
	wrapped.IssuerData = emv.AppendTLV(nil, 0x55, append(wrapped.IssuerData, emv.AppendTLV(nil, emv.TagIssuerScript1, script1)...))
	final2, err := s2.Complete(context.Background(), wrapped)
	if err != nil || !final2.Approved() || fmt.Sprintf("%X", final2.ScriptResults) != "2011223344" {
		t.Errorf("wrapped: %v %X %v", final2.Decision, final2.ScriptResults, err)
	}
}

func TestApplicationBlockedByScript(t *testing.T) {
	t.Parallel()
	c, img := insert(t, "visa-approved", emv.Contact)
	s := newKernel(t).Contact(c, &pinPad{card: c}, sale(1500))
	out, err := s.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	resp := approve(img, out)
	resp.Approved, resp.ResponseCode = false, "62"
	resp.IssuerData = emv.AppendTLV(nil, emv.TagIssuerScript2, emv.AppendTLV(nil, emv.TagIssuerScriptCommand, emv.MustHex("841E000000")))
	if _, err := s.Complete(context.Background(), resp); err != nil {
		t.Fatal(err)
	}
	if err := c.Reset(emv.Contact); err != nil {
		t.Fatal(err)
	}
	_, err = newKernel(t).Contact(c, &pinPad{card: c}, sale(1500)).Read(context.Background())
	if !errors.Is(err, emv.ErrNoApplication) {
		t.Errorf("blocked application: %v", err)
	}
}

func TestExpiredCard(t *testing.T) {
	t.Parallel()
	c, _ := insert(t, "visa-expired", emv.Contact)
	out, err := newKernel(t).Contact(c, &pinPad{card: c}, sale(1500)).Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// The Visa TAC-Online has "expired application": the issuer decides.
	if !out.TVR.Has(emv.TVRExpired) || out.Decision != emv.DecisionOnline || out.ExpiryYYMM != "2401" {
		t.Errorf("TVR %s %s", out.TVR, out.Decision)
	}
	// A terminal whose TAC-Denial has it declines offline.
	c, _ = insert(t, "visa-expired", emv.Contact)
	k := newKernel(t, func(cfg *emv.Config) { cfg.AIDs[0].TACDenial = emv.MustHex("0050000000") })
	tr := &counter{t: c}
	out, err = k.Contact(tr, &pinPad{card: c}, sale(1500)).Read(context.Background())
	var de *emv.DeclineError
	if !errors.As(err, &de) || out.CryptogramType != "AAC" || !strings.Contains(de.Reason, "terminal action analysis") {
		t.Fatalf("%v %s", err, out.CryptogramType)
	}
	if last := tr.commands[len(tr.commands)-1]; last[1] != insGenAC || last[2] != emv.CryptogramAAC {
		t.Errorf("GENERATE AC asked % X", last[:4])
	}
}

func TestAACFromCard(t *testing.T) {
	t.Parallel()
	// A recorded card whose first GENERATE AC answer is replayed: an AAC
	// in format 1.
	img, err := card.Builtin("visa-approved")
	if err != nil {
		t.Fatal(err)
	}
	f := img.Files["A0000000031010"]
	f.GenerateAC = emv.MustHex("80 12 00 0011 1122334455667788 06010A03A00000")
	img.Files["A0000000031010"] = f
	c, err := card.New(img, emv.Contact)
	if err != nil {
		t.Fatal(err)
	}
	s := newKernel(t).Contact(c, &pinPad{card: c}, sale(1500))
	out, err := s.Read(context.Background())
	if !errors.Is(err, emv.ErrDeclined) || out.Decision != emv.DecisionDeclined {
		t.Fatalf("%v %s", err, out.Decision)
	}
	if out.CryptogramType != "AAC" || out.Cryptogram.String() != "1122334455667788" || out.ATC.String() != "0011" || out.MaskedPAN() != "************4242" {
		t.Errorf("outcome %v", out)
	}
	if _, err := s.Complete(context.Background(), emv.HostResponse{Approved: true}); !errors.Is(err, emv.ErrSession) {
		t.Errorf("Complete after a decline: %v", err)
	}
}

func TestRefund(t *testing.T) {
	t.Parallel()
	c, _ := insert(t, "visa-approved", emv.Contact)
	tr := &counter{t: c}
	tx := sale(1500)
	tx.Type = emv.TypeRefund
	s := newKernel(t).Contact(tr, &pinPad{card: c}, tx)
	out, err := s.Read(context.Background())
	if err != nil || out.Decision != emv.DecisionOnline || out.CryptogramType != "AAC" {
		t.Fatalf("%v %s %s", err, out.Decision, out.CryptogramType)
	}
	n := tr.apdus
	final, err := s.Complete(context.Background(), emv.HostResponse{Approved: true, ResponseCode: "00"})
	if err != nil || !final.Approved() || tr.apdus != n {
		t.Errorf("%v %v, %d more APDUs", final.Decision, err, tr.apdus-n)
	}
}

func TestContactless(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		card      string
		amount    int64
		cvm       emv.CVMMethod
		signature bool
		onlinePIN bool
		genAC     int
	}{
		{"visa under the CVM limit", "visa-approved", 1000, emv.CVMNoCVM, false, false, 0},
		{"visa over the CVM limit, CTQ signature", "visa-approved", 7500, emv.CVMSignature, true, false, 0},
		{"visa at the CVM limit", "visa-approved", 5000, emv.CVMSignature, true, false, 0},
		{"contactless-only visa over, CTQ online PIN", "visa-contactless", 7500, emv.CVMOnlinePIN, false, true, 0},
		{"contactless-only visa under", "visa-contactless", 4999, emv.CVMNoCVM, false, false, 0},
		{"mastercard under, CVM list", "mastercard", 1000, emv.CVMNoCVM, false, false, 1},
		{"mastercard over, CVM list", "mastercard", 7500, emv.CVMOnlinePIN, false, true, 1},
		{"amex over, CVM list signature", "amex", 25000, emv.CVMSignature, true, false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, img := insert(t, tc.card, emv.Contactless)
			tr := &counter{t: c}
			pins := &pinPad{card: c}
			s := newKernel(t).Contactless(tr, pins, sale(tc.amount))
			out, err := s.Read(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if out.Decision != emv.DecisionOnline || out.CryptogramType != "ARQC" || out.POSEntryMode != "07" || out.Interface != emv.Contactless {
				t.Fatalf("%s %s", out.Decision, out.CryptogramType)
			}
			if out.CVM != tc.cvm || out.SignatureRequired != tc.signature || out.OnlinePIN != tc.onlinePIN || (pins.onlineCalls == 1) != tc.onlinePIN {
				t.Errorf("CVM %s signature %v online PIN %v", out.CVM, out.SignatureRequired, out.OnlinePIN)
			}
			if tr.sent(insGenAC) != tc.genAC || !bytes.Contains(tr.commands[0], []byte("2PAY.SYS.DDF01")) {
				t.Errorf("GENERATE AC sent %d times", tr.sent(insGenAC))
			}
			switch img.PAN()[0] {
			case '4': // C-3: the TTQ says whether a CVM is required
				ttq := tag(t, out, emv.TagTTQ)
				if (ttq[1]&0x40 != 0) != (tc.amount >= 5000) || ttq[1]&0x80 == 0 {
					t.Errorf("TTQ % X", ttq)
				}
			case '5': // C-2: the CVM capability in 9F33, no TTQ
				caps := tag(t, out, emv.TagTerminalCapabilities)
				if want := map[bool]byte{true: 0x60, false: 0x08}[tc.amount >= 5000]; caps[1] != want {
					t.Errorf("9F33 % X, want CVM capability %02X", caps, want)
				}
				if _, ok := emv.Find(out.ICCData, emv.TagTTQ); ok {
					t.Error("TTQ sent for a C-2 card")
				}
			case '3': // C-4: Amex's enhanced reader capabilities
				if caps := tag(t, out, emv.TagFormFactor); len(caps) != 4 || caps[2]&0x08 == 0 {
					t.Errorf("9F6E % X", caps)
				}
			}
			if out.PAN != img.PAN() || out.Interface != emv.Contactless {
				t.Errorf("PAN or entry method")
			}
			// The card has left the field: Complete only records the answer.
			n := tr.apdus
			final, err := s.Complete(context.Background(), emv.HostResponse{Approved: true, ResponseCode: "00"})
			if err != nil || !final.Approved() || tr.apdus != n {
				t.Errorf("complete: %v %v", final.Decision, err)
			}
		})
	}
}

func TestContactlessLimitsAndInterfaces(t *testing.T) {
	t.Parallel()
	c, _ := insert(t, "visa-approved", emv.Contactless)
	k := newKernel(t, func(cfg *emv.Config) { cfg.ContactlessTransactionLimit = 20000 })
	if _, err := k.Contactless(c, nil, sale(20000)).Read(context.Background()); !errors.Is(err, emv.ErrInsertCard) {
		t.Errorf("over the contactless limit: %v", err)
	}
	// A contact-only card cannot be tapped, a contactless-only one cannot be
	// inserted.
	img, _ := card.Builtin("visa-signature")
	if _, err := card.New(img, emv.Contactless); !errors.Is(err, card.ErrNoInterface) {
		t.Errorf("contact-only tapped: %v", err)
	}
	img, _ = card.Builtin("visa-contactless")
	if _, err := card.New(img, emv.Contact); !errors.Is(err, card.ErrNoInterface) {
		t.Errorf("contactless-only inserted: %v", err)
	}
	// No terminal AID offered contactless: insert the card.
	c, _ = insert(t, "visa-approved", emv.Contactless)
	k = newKernel(t, func(cfg *emv.Config) {
		for i := range cfg.AIDs {
			cfg.AIDs[i].Contactless = false
		}
	})
	if _, err := k.Contactless(c, nil, sale(100)).Read(context.Background()); !errors.Is(err, emv.ErrInsertCard) {
		t.Errorf("no contactless AID: %v", err)
	}
	// Over the CVM limit without a PIN pad and a card asking for online
	// PIN only: no CVM possible.
	c, _ = insert(t, "visa-contactless", emv.Contactless)
	if _, err := newKernel(t).Contactless(c, nil, sale(9000)).Read(context.Background()); !errors.Is(err, emv.ErrInsertCard) {
		t.Errorf("no CVM possible: %v", err)
	}
}

func TestSwipe(t *testing.T) {
	t.Parallel()
	img, _ := card.Builtin("visa-approved")
	track, ok := img.Track2()
	if !ok {
		t.Fatal("no track 2")
	}
	// A chip card swiped: insert it.
	_, err := newKernel(t).Swipe(track, nil, sale(1500), false).Read(context.Background())
	if !errors.Is(err, emv.ErrInsertCard) {
		t.Fatalf("chip card swiped: %v", err)
	}
	// Fallback after a failed chip read, only when configured.
	_, err = newKernel(t).Swipe(track, nil, sale(1500), true).Read(context.Background())
	if !errors.Is(err, emv.ErrInsertCard) {
		t.Errorf("fallback not configured: %v", err)
	}
	k := newKernel(t, func(cfg *emv.Config) { cfg.AllowFallback = true })
	s := k.Swipe(track, nil, sale(1500), true)
	out, err := s.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if out.POSEntryMode != "80" || !out.Fallback || out.Interface != emv.Magstripe || out.Scheme != "visa" ||
		out.ExpiryYYMM != "3112" || out.ServiceCode != "201" || !out.SignatureRequired || len(out.ICCData) != 0 {
		t.Errorf("fallback outcome %+v", out)
	}
	if out.PAN != "4242424242424242" {
		t.Errorf("fallback PAN %s", out.MaskedPAN())
	}
	final, err := s.Complete(context.Background(), emv.HostResponse{Approved: true, ResponseCode: "00"})
	if err != nil || !final.Approved() {
		t.Errorf("%v %v", final.Decision, err)
	}

	// A magnetic-stripe-only card: service code 1xx, PIN by the third digit.
	for _, tc := range []struct {
		track     string
		pins      *pinPad
		onlinePIN bool
		fail      bool
	}{
		{";5555555555554444=3112101000?", &pinPad{}, false, false},
		{";5555555555554444=3112106000?", &pinPad{}, true, false},
		{";5555555555554444=3112106000?", nil, false, false},
		{";5555555555554444=3112120000?", &pinPad{}, true, false},
		{";5555555555554444=3112120000?", &pinPad{bypass: true}, false, true},
		{";5555555555554445=3112101000?", nil, false, true}, // misread
	} {
		var pp emv.PINPad
		if tc.pins != nil {
			pp = tc.pins
		}
		out, err := newKernel(t).Swipe(tc.track, pp, sale(1500), false).Read(context.Background())
		if (err != nil) != tc.fail || out.OnlinePIN != tc.onlinePIN {
			t.Errorf("%s: %v online PIN %v", tc.track, err, out.OnlinePIN)
		}
		if !tc.fail && (out.POSEntryMode != "90" || out.Scheme != "mastercard") {
			t.Errorf("%s: %s %s", tc.track, out.POSEntryMode, out.Scheme)
		}
	}
}

func TestEveryBuiltinCardRuns(t *testing.T) {
	t.Parallel()
	for _, name := range card.BuiltinNames() {
		img, err := card.Builtin(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, iface := range []emv.Interface{emv.Contact, emv.Contactless} {
			c, err := card.New(img, iface)
			if errors.Is(err, card.ErrNoInterface) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			pins := &pinPad{card: c, offline: []string{"1234"}}
			k := newKernel(t)
			var s *emv.Session
			if iface == emv.Contact {
				s = k.Contact(c, pins, sale(1234))
			} else {
				s = k.Contactless(c, pins, sale(1234))
			}
			out, err := s.Read(context.Background())
			if err != nil {
				t.Fatalf("%s %s: %v", name, iface, err)
			}
			wantScheme := strings.SplitN(name, "-", 2)[0]
			if out.Scheme != wantScheme || out.PAN != img.PAN() || out.Decision != emv.DecisionOnline {
				t.Errorf("%s %s: scheme %s decision %s", name, iface, out.Scheme, out.Decision)
			}
			final, err := s.Complete(context.Background(), approve(img, out))
			if err != nil || !final.Approved() {
				t.Errorf("%s %s: %v %v", name, iface, final.Decision, err)
			}
		}
	}
}

func TestApplicationSelection(t *testing.T) {
	t.Parallel()
	// A card with two applications: Visa credit (priority 2) and Visa
	// debit (priority 1), both in the PSE; and a third asking for
	// confirmation with the highest priority.
	img, _ := card.Builtin("visa-approved")
	credit := img.Files["A0000000031010"]
	debitAID := "A0000000031010" + "01"
	debit := credit
	debit.FCI = replaceDF(credit.FCI, emv.MustHex(debitAID))
	pseName := "315041592E5359532E4444463031"
	pse := img.Files[pseName]
	entry := func(aid, label, prio string) []byte {
		return emv.AppendTLV(nil, emv.TagApplicationTemplate, emv.Encode(
			emv.TLV{Tag: emv.TagAID, Value: emv.MustHex(aid)},
			emv.TLV{Tag: emv.TagApplicationLabel, Value: []byte(label)},
			emv.TLV{Tag: emv.TagPriority, Value: emv.MustHex(prio)}))
	}
	pse.Records = map[string][]emv.Hex{"1": {emv.AppendTLV(nil, emv.TagRecordTemplate, append(append(
		entry("A0000000031010", "VISA CREDIT", "02"), entry(debitAID, "VISA DEBIT", "01")...),
		entry("A0000000032010", "VISA ELECTRON", "81")...))}}
	img.Files = map[string]card.File{pseName: pse, "A0000000031010": credit, debitAID: debit}

	run := func(img *card.Image, pins emv.PINPad, edit ...func(*emv.Config)) (emv.Outcome, error) {
		c, err := card.New(img, emv.Contact)
		if err != nil {
			t.Fatal(err)
		}
		return newKernel(t, edit...).Contact(c, pins, sale(1500)).Read(context.Background())
	}
	out, err := run(img, nil)
	if err != nil || out.AID != debitAID {
		t.Errorf("PSE, partial match, priority: %s %v", out.AID, err)
	}
	// Without partial matching only the exact AID is supported.
	out, err = run(img, nil, func(cfg *emv.Config) { cfg.AIDs[0].PartialMatch = false })
	if err != nil || out.AID != "A0000000031010" {
		t.Errorf("exact only: %s %v", out.AID, err)
	}
	// A chooser sees all three (the Electron entry has no ADF behind it)
	// and picks the credit one.
	ch := &chooser{pick: "A0000000031010"}
	out, err = run(img, ch)
	if err != nil || out.AID != "A0000000031010" || len(ch.seen) != 3 {
		t.Errorf("chooser: %s %v saw %d", out.AID, err, len(ch.seen))
	}
	// Without the PSE: the list of AIDs, SELECT next occurrence.
	delete(img.Files, pseName)
	out, err = run(img, nil)
	if err != nil || (out.AID != debitAID && out.AID != "A0000000031010") {
		t.Errorf("list of AIDs: %s %v", out.AID, err)
	}
	// No common application.
	out, err = run(img, nil, func(cfg *emv.Config) { cfg.AIDs = cfg.AIDs[2:] })
	if !errors.Is(err, emv.ErrNoApplication) {
		t.Errorf("no common application: %v", err)
	}
}

// replaceDF puts a new DF name into an FCI.
func replaceDF(fci, name []byte) []byte {
	objs, _ := emv.ParseTLV(fci)
	kids, _ := objs[0].Children()
	kids[0].Value = name
	return emv.AppendTLV(nil, emv.TagFCI, emv.Encode(kids...))
}

type chooser struct {
	pinPad
	pick string
	seen []emv.Candidate
}

func (c *chooser) ChooseApplication(_ context.Context, list []emv.Candidate) (int, error) {
	c.seen = list
	for i, x := range list {
		if x.AID.String() == c.pick {
			return i, nil
		}
	}
	return 0, errors.New("not offered")
}

func TestCancelledAtPIN(t *testing.T) {
	t.Parallel()
	c, _ := insert(t, "mastercard-online-pin", emv.Contact)
	ctx, cancel := context.WithCancel(context.Background())
	pins := &pinPad{card: c, block: func(ctx context.Context) error { cancel(); return ctx.Err() }}
	_, err := newKernel(t).Contact(c, pins, sale(2500)).Read(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancel at the PIN prompt: %v", err)
	}
}

func TestSessionMisuse(t *testing.T) {
	t.Parallel()
	c, _ := insert(t, "visa-approved", emv.Contact)
	s := newKernel(t).Contact(c, nil, sale(100))
	if _, err := s.Complete(context.Background(), emv.HostResponse{}); !errors.Is(err, emv.ErrSession) {
		t.Errorf("Complete before Read: %v", err)
	}
	if _, err := s.Read(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Read(context.Background()); !errors.Is(err, emv.ErrSession) {
		t.Errorf("Read twice: %v", err)
	}
	bad := sale(100)
	bad.Currency = "XYZ"
	if _, err := newKernel(t).Contact(c, nil, bad).Read(context.Background()); err == nil {
		t.Error("unknown currency accepted")
	}
}

// TestOutcomeNeverPrintsPAN guards the logs: however an Outcome or a
// Track2 is formatted, the PAN does not appear.
func TestOutcomeNeverPrintsPAN(t *testing.T) {
	t.Parallel()
	c, _ := insert(t, "visa-approved", emv.Contact)
	out, err := newKernel(t).Contact(c, nil, sale(100)).Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tr, _ := emv.ParseTrack2(out.Track2)
	for _, s := range []string{
		fmt.Sprint(out), fmt.Sprintf("%v %+v %#v %s", out, out, out, out),
		fmt.Sprintf("%v %+v %#v", tr, tr, tr), fmt.Sprintf("%+v", emv.PINRequest{PAN: out.PAN}),
	} {
		if strings.Contains(s, "4242424242424242") {
			t.Errorf("PAN printed: %s", s)
		}
	}
}
