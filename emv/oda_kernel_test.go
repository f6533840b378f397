package emv_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/vinr/cashlessd/emv"
	"github.com/vinr/cashlessd/emv/card"
	"github.com/vinr/cashlessd/emv/oda"
)

// withTestCAPKs gives the kernel the simulator's test CA keys.
func withTestCAPKs(c *emv.Config) { c.CAPKs = oda.TestCAPKs() }

// odaBits are the TVR bits offline data authentication sets.
var odaBits = []emv.Bit{emv.TVROfflineDataAuthNotPerformed, emv.TVRSDAFailed, emv.TVRICCDataMissing, emv.TVRDDAFailed, emv.TVRCDAFailed}

func TestOfflineDataAuthentication(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		card    string
		method  emv.ODAMethod
		tvr     []emv.Bit // of odaBits, the ones set
		cause   error     // what ODAError wraps, nil: no failure
		decline bool      // Read declines (CDA failed on the ARQC)
	}{
		{card: "visa-sda", method: emv.ODASDA},
		{card: "amex", method: emv.ODASDA},
		{card: "visa-approved", method: emv.ODADDA},
		{card: "visa-offline-pin", method: emv.ODADDA},
		{card: "mastercard", method: emv.ODACDA},
		{card: "visa-sda-bad-issuer-cert", method: emv.ODASDA, tvr: []emv.Bit{emv.TVRSDAFailed}, cause: oda.ErrIssuerCertificate},
		{card: "visa-sda-bad-signature", method: emv.ODASDA, tvr: []emv.Bit{emv.TVRSDAFailed}, cause: oda.ErrSignature},
		{card: "visa-sda-capk-missing", method: emv.ODASDA, tvr: []emv.Bit{emv.TVRSDAFailed}, cause: oda.ErrKeyMissing},
		{card: "visa-sda-capk-expired", method: emv.ODASDA, tvr: []emv.Bit{emv.TVRSDAFailed}, cause: oda.ErrKeyExpired},
		{card: "visa-dda-bad-icc-cert", method: emv.ODADDA, tvr: []emv.Bit{emv.TVRDDAFailed}, cause: oda.ErrICCCertificate},
		{card: "visa-dda-bad-signature", method: emv.ODADDA, tvr: []emv.Bit{emv.TVRDDAFailed}, cause: oda.ErrSignature},
		{card: "mastercard-cda-bad-issuer-cert", method: emv.ODACDA, tvr: []emv.Bit{emv.TVRCDAFailed}, cause: oda.ErrIssuerCertificate},
		{card: "mastercard-cda-bad-icc-cert", method: emv.ODACDA, tvr: []emv.Bit{emv.TVRCDAFailed}, cause: oda.ErrICCCertificate},
		{card: "mastercard-cda-bad-signature", method: emv.ODACDA, tvr: []emv.Bit{emv.TVRCDAFailed}, cause: oda.ErrSignature, decline: true},
	} {
		t.Run(tc.card, func(t *testing.T) {
			t.Parallel()
			c, img := insert(t, tc.card, emv.Contact)
			tr := &counter{t: c}
			k := newKernel(t, withTestCAPKs)
			s := k.Contact(tr, &pinPad{card: c, offline: []string{"1234"}}, sale(1234))
			out, err := s.Read(context.Background())
			if tc.decline {
				if !errors.Is(err, emv.ErrDeclined) || out.Decision != emv.DecisionDeclined {
					t.Fatalf("Read: %v %v, want a decline", out.Decision, err)
				}
				// The card's ARQC is closed with a second GENERATE AC for an AAC.
				if tr.sent(insGenAC) != 2 || out.CryptogramType != "AAC" || out.AuthResponseCode != "Z1" {
					t.Errorf("%d GENERATE AC, %s, ARC %q", tr.sent(insGenAC), out.CryptogramType, out.AuthResponseCode)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if out.ODA != tc.method || !out.TSI.Has(emv.TSIOfflineDataAuthPerformed) {
				t.Errorf("ODA %q TSI %s, want %q performed", out.ODA, out.TSI, tc.method)
			}
			for _, b := range odaBits {
				want := false
				for _, w := range tc.tvr {
					want = want || w == b
				}
				if out.TVR.Has(b) != want {
					t.Errorf("TVR %s: bit %04X is %v, want %v", out.TVR, uint16(b), out.TVR.Has(b), want)
				}
			}
			if tc.cause == nil && out.ODAError() != nil {
				t.Errorf("ODA error %v", out.ODAError())
			}
			if tc.cause != nil && !errors.Is(out.ODAError(), tc.cause) {
				t.Errorf("ODA error %v, want %v", out.ODAError(), tc.cause)
			}
			if got := tag(t, out, emv.TagTerminalCapabilities); got[2] != 0xC8 {
				t.Errorf("9F33 %X, want SDA, DDA and CDA advertised", got)
			}
			// INTERNAL AUTHENTICATE once the ICC key is recovered.
			if tc.method == emv.ODADDA && tc.cause != oda.ErrICCCertificate && tr.sent(0x88) != 1 {
				t.Errorf("%d INTERNAL AUTHENTICATE", tr.sent(0x88))
			}
			if tc.decline {
				return
			}
			if tc.method == emv.ODACDA && tc.cause == nil {
				if tr.commands[len(tr.commands)-1][2]&0x10 == 0 {
					t.Error("GENERATE AC did not ask for a CDA signature")
				}
				if len(out.Cryptogram) != 8 {
					t.Errorf("cryptogram %X from the CDA signature", out.Cryptogram)
				}
			}
			final, err := s.Complete(context.Background(), approve(img, out))
			if err != nil || !final.Approved() {
				t.Fatalf("Complete: %v %v", final.Decision, err)
			}
			if tc.method == emv.ODACDA && tc.cause == nil && tr.commands[len(tr.commands)-1][2] != emv.CryptogramTC|0x10 {
				t.Errorf("second GENERATE AC P1 %02X, want TC with CDA", tr.commands[len(tr.commands)-1][2])
			}
		})
	}
}

func TestODANotPerformed(t *testing.T) {
	t.Parallel()
	// Without CA keys the terminal does no ODA and says so in 9F33.
	c, _ := insert(t, "visa-approved", emv.Contact)
	out, err := newKernel(t).Contact(c, &pinPad{card: c}, sale(1234)).Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !out.TVR.Has(emv.TVROfflineDataAuthNotPerformed) || out.TSI.Has(emv.TSIOfflineDataAuthPerformed) || out.ODA != emv.ODANone {
		t.Errorf("TVR %s TSI %s ODA %q", out.TVR, out.TSI, out.ODA)
	}
	if got := tag(t, out, emv.TagTerminalCapabilities); got[2]&0xC8 != 0 {
		t.Errorf("9F33 %X advertises ODA without CA keys", got)
	}

	// A card that offers none.
	img, err := card.Generate(card.Spec{File: "x", Name: "no ODA", PAN: "4000000000001018", Holder: "X", Scheme: "visa",
		Expiry: "311231", Contact: true, PSE: true, CVM: "00000000000000001F03", ODA: card.ODANone})
	if err != nil {
		t.Fatal(err)
	}
	c, err = card.New(img, emv.Contact)
	if err != nil {
		t.Fatal(err)
	}
	out, err = newKernel(t, withTestCAPKs).Contact(c, &pinPad{card: c}, sale(1234)).Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !out.TVR.Has(emv.TVROfflineDataAuthNotPerformed) || out.TSI.Has(emv.TSIOfflineDataAuthPerformed) {
		t.Errorf("card without ODA: TVR %s TSI %s", out.TVR, out.TSI)
	}
}

func TestODADataMissing(t *testing.T) {
	t.Parallel()
	// An SDA card whose AFL leaves out the certificate records.
	img, err := card.Builtin("visa-sda")
	if err != nil {
		t.Fatal(err)
	}
	app := img.Files["A0000000031010"]
	app.Data["94"] = emv.MustHex("08010100 10010202")
	img.Files["A0000000031010"] = app
	c, err := card.New(img, emv.Contact)
	if err != nil {
		t.Fatal(err)
	}
	out, err := newKernel(t, withTestCAPKs).Contact(c, &pinPad{card: c}, sale(1234)).Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !out.TVR.Has(emv.TVRSDAFailed) || !out.TVR.Has(emv.TVRICCDataMissing) || !out.TSI.Has(emv.TSIOfflineDataAuthPerformed) {
		t.Errorf("TVR %s TSI %s (%v)", out.TVR, out.TSI, out.ODAError())
	}

	// Records flagged for ODA that were changed after signing.
	img, _ = card.Builtin("visa-sda")
	app = img.Files["A0000000031010"]
	recs := app.Records["2"]
	rec := bytes.Clone(recs[1])
	rec[len(rec)-1] ^= 0x01 // the UCOL, last in the record
	app.Records["2"] = []emv.Hex{recs[0], rec}
	img.Files["A0000000031010"] = app
	c, _ = card.New(img, emv.Contact)
	out, err = newKernel(t, withTestCAPKs).Contact(c, &pinPad{card: c}, sale(1234)).Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !out.TVR.Has(emv.TVRSDAFailed) || out.TVR.Has(emv.TVRICCDataMissing) || !errors.Is(out.ODAError(), oda.ErrSignature) {
		t.Errorf("altered record: TVR %s (%v)", out.TVR, out.ODAError())
	}
}
