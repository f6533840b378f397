package emv_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vinr/cashlessd/emv"
	"github.com/vinr/cashlessd/emv/card"
)

// setInRecord returns a 70 record with a data object's value replaced,
// or added when the record has none.
func setInRecord(t *testing.T, rec []byte, tg emv.Tag, v []byte) emv.Hex {
	t.Helper()
	objs, err := emv.ParseTLV(rec)
	if err != nil || len(objs) != 1 {
		t.Fatalf("record % X", rec)
	}
	kids, err := objs[0].Children()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for i := range kids {
		if kids[i].Tag == tg {
			kids[i].Value, found = v, true
		}
	}
	if !found {
		kids = append(kids, emv.TLV{Tag: tg, Value: v})
	}
	return emv.AppendTLV(nil, emv.TagRecordTemplate, emv.Encode(kids...))
}

// tapped powers up a built-in card's contactless side after edit changed
// its application file.
func tapped(t *testing.T, name, aid string, edit func(f *card.File)) *card.Card {
	t.Helper()
	img, err := card.Builtin(name)
	if err != nil {
		t.Fatal(err)
	}
	f := img.Contactless[aid]
	edit(&f)
	img.Contactless[aid] = f
	c, err := card.New(img, emv.Contactless)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestC2DoesNotReadCTQ: a Mastercard's 9F6C is its mag-stripe
// application version, not Visa's CTQ; over the CVM limit its CVM list
// decides (online PIN), under it no CVM.
func TestC2DoesNotReadCTQ(t *testing.T) {
	t.Parallel()
	for _, amount := range []int64{1000, 7500} {
		c := tapped(t, "mastercard", "A0000000041010", func(f *card.File) {
			f.Records["1"][1] = setInRecord(t, f.Records["1"][1], emv.TagCTQ, emv.MustHex("0001"))
		})
		pins := &pinPad{card: c}
		out, err := newKernel(t).Contactless(c, pins, sale(amount)).Read(context.Background())
		if err != nil {
			t.Fatalf("%d: %v", amount, err)
		}
		want := emv.CVMNoCVM
		if amount >= 5000 {
			want = emv.CVMOnlinePIN
		}
		if out.CVM != want || (pins.onlineCalls == 1) != (want == emv.CVMOnlinePIN) {
			t.Errorf("%d: CVM %s, want %s", amount, out.CVM, want)
		}
	}
}

// TestC2OwnCVMLimit: the Mastercard AID's own reader CVM required limit
// replaces the terminal's.
func TestC2OwnCVMLimit(t *testing.T) {
	t.Parallel()
	c, _ := insert(t, "mastercard", emv.Contactless)
	k := newKernel(t, func(cfg *emv.Config) {
		for i := range cfg.AIDs {
			if cfg.AIDs[i].Scheme == "mastercard" {
				cfg.AIDs[i].ContactlessCVMLimit = 10000
			}
		}
	})
	out, err := k.Contactless(c, &pinPad{card: c}, sale(7500)).Read(context.Background())
	if err != nil || out.CVM != emv.CVMNoCVM {
		t.Fatalf("under the scheme's limit: %v %s", err, out.CVM)
	}
}

// TestC2OnDeviceCVM: a phone (AIP on device cardholder verification)
// has verified the cardholder: CDCVM over the limit, no CVM under it.
func TestC2OnDeviceCVM(t *testing.T) {
	t.Parallel()
	for _, amount := range []int64{1000, 7500} {
		c := tapped(t, "mastercard", "A0000000041010", func(f *card.File) { f.Data["82"] = emv.MustHex("1B80") })
		pins := &pinPad{card: c}
		out, err := newKernel(t).Contactless(c, pins, sale(amount)).Read(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if amount >= 5000 && (!out.PINVerified || out.CVMResults != [3]byte{0x01, 0x00, 0x02} || pins.onlineCalls != 0) {
			t.Errorf("over: CDCVM expected: %s % X", out.CVM, out.CVMResults)
		}
		if amount < 5000 && out.CVM != emv.CVMNoCVM {
			t.Errorf("under: %s", out.CVM)
		}
	}
}

// TestC3NoContactUsageCheck: a qVSDC card restricted to domestic use,
// tapped abroad: the card made its own usage checks, the TVR does not
// say "service not allowed"; the same restriction on a C-2 card does.
func TestC3NoContactUsageCheck(t *testing.T) {
	t.Parallel()
	domesticOnly := func(f *card.File) {
		for i, r := range f.Records["1"] {
			if _, ok := emv.Find(r, emv.TagAUC); ok {
				r = setInRecord(t, r, emv.TagAUC, emv.MustHex("2900"))
				f.Records["1"][i] = setInRecord(t, r, emv.TagIssuerCountry, emv.MustHex("0276"))
			}
		}
	}
	c := tapped(t, "visa-approved", "A0000000031010", domesticOnly)
	out, err := newKernel(t).Contactless(c, &pinPad{card: c}, sale(1000)).Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if out.TVR.Has(emv.TVRServiceNotAllowed) {
		t.Errorf("qVSDC TVR %s says service not allowed", out.TVR)
	}
	c = tapped(t, "mastercard", "A0000000041010", domesticOnly)
	out, err = newKernel(t).Contactless(c, &pinPad{card: c}, sale(1000)).Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !out.TVR.Has(emv.TVRServiceNotAllowed) {
		t.Errorf("C-2 TVR %s: usage control not checked", out.TVR)
	}
}

// TestContactlessMagstripeMode: a card in contactless mag-stripe mode is
// sent to the chip with "use another interface", not a card error.
func TestContactlessMagstripeMode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, card, aid string
		edit            func(f *card.File)
	}{
		{"C-2 AIP without EMV mode", "mastercard", "A0000000041010", func(f *card.File) { f.Data["82"] = emv.MustHex("1900") }},
		{"C-4 AIP without EMV mode", "amex", "A00000002501", func(f *card.File) { f.Data["82"] = emv.MustHex("1900") }},
		{"C-3 MSD, no cryptogram", "visa-approved", "A0000000031010", func(f *card.File) { f.GPOCryptogram = false }},
	} {
		c := tapped(t, tc.card, tc.aid, tc.edit)
		_, err := newKernel(t).Contactless(c, &pinPad{card: c}, sale(1000)).Read(context.Background())
		if !errors.Is(err, emv.ErrInsertCard) || errors.Is(err, emv.ErrCard) || !strings.Contains(err.Error(), "use another interface") {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

// TestContactlessTerminalActionAnalysis: a TVR that matches the
// terminal's denial code declines a contactless transaction: GENERATE AC
// asks for an AAC (C-2), the qVSDC ARQC is not sent online (C-3).
func TestContactlessTerminalActionAnalysis(t *testing.T) {
	t.Parallel()
	k := newKernel(t, func(cfg *emv.Config) {
		for i := range cfg.AIDs {
			cfg.AIDs[i].TACDenial = emv.MustHex("0000008000") // floor limit exceeded
		}
	})
	for _, name := range []string{"mastercard", "visa-approved"} {
		c, _ := insert(t, name, emv.Contactless)
		tr := &counter{t: c}
		out, err := k.Contactless(tr, &pinPad{card: c}, sale(1000)).Read(context.Background())
		if !errors.Is(err, emv.ErrDeclined) || out.Decision != emv.DecisionDeclined {
			t.Fatalf("%s: %v %s", name, err, out.Decision)
		}
		if name == "mastercard" {
			last := tr.commands[len(tr.commands)-1]
			if last[1] != insGenAC || last[2] != emv.CryptogramAAC {
				t.Errorf("GENERATE AC P1 %02X", last[2])
			}
		}
	}
}

// TestContactlessODA: a card whose cryptogram comes from GENERATE AC is
// authenticated offline as on contact: a JCB (generic path) carrying the
// contact application's certificates gets DDA with INTERNAL
// AUTHENTICATE, TSI "ODA performed" and no failure bit; a qVSDC card is
// not authenticated (the TVR says ODA not performed).
func TestContactlessODA(t *testing.T) {
	t.Parallel()
	img, err := card.Builtin("jcb")
	if err != nil {
		t.Fatal(err)
	}
	const aid = "A0000000651010"
	ppse := emv.AppendTLV(nil, emv.TagFCI, append(emv.AppendTLV(nil, emv.TagDFName, []byte("2PAY.SYS.DDF01")),
		emv.AppendTLV(nil, emv.TagFCIProprietary, emv.AppendTLV(nil, emv.TagFCIIssuerDiscretionary,
			emv.AppendTLV(nil, emv.TagApplicationTemplate, emv.AppendTLV(nil, emv.TagAID, emv.MustHex(aid)))))...))
	img.Contactless = map[string]card.File{"325041592E5359532E4444463031": {FCI: ppse}, aid: img.Files[aid]}
	c, err := card.New(img, emv.Contactless)
	if err != nil {
		t.Fatal(err)
	}
	tr := &counter{t: c}
	out, err := newKernel(t, withTestCAPKs).Contactless(tr, &pinPad{card: c}, sale(1000)).Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	failed := out.TVR.Has(emv.TVRSDAFailed) || out.TVR.Has(emv.TVRDDAFailed) || out.TVR.Has(emv.TVRCDAFailed) || out.TVR.Has(emv.TVRICCDataMissing)
	if !out.TSI.Has(emv.TSIOfflineDataAuthPerformed) || out.TVR.Has(emv.TVROfflineDataAuthNotPerformed) || failed {
		t.Errorf("DDA: TVR %s TSI %s", out.TVR, out.TSI)
	}
	if tr.sent(0x88) != 1 {
		t.Errorf("INTERNAL AUTHENTICATE sent %d times", tr.sent(0x88))
	}
	c, _ = insert(t, "visa-approved", emv.Contactless)
	out, err = newKernel(t, withTestCAPKs).Contactless(c, &pinPad{card: c}, sale(1000)).Read(context.Background())
	if err != nil || !out.TVR.Has(emv.TVROfflineDataAuthNotPerformed) || out.TSI.Has(emv.TSIOfflineDataAuthPerformed) {
		t.Errorf("qVSDC: %v TVR %s TSI %s", err, out.TVR, out.TSI)
	}
}
