package emv_test

import (
	"context"
	"errors"
	"testing"

	"github.com/vinr/cashlessd/emv"
	"github.com/vinr/cashlessd/emv/card"
)

// setCardData replaces (or, with nil, removes) a data object in the
// records of an application of an image.
func setCardData(t *testing.T, img *card.Image, aid string, tg emv.Tag, value []byte) {
	t.Helper()
	f := img.Files[aid]
	found := false
	for sfi, recs := range f.Records {
		out := make([]emv.Hex, len(recs))
		for i, r := range recs {
			objs, err := emv.ParseTLV(r)
			if err != nil || len(objs) != 1 {
				t.Fatal(err)
			}
			kids, _ := objs[0].Children()
			var keep []emv.TLV
			for _, k := range kids {
				if k.Tag == tg {
					found = true
					if value == nil {
						continue
					}
					k.Value = value
				}
				keep = append(keep, k)
			}
			out[i] = emv.AppendTLV(nil, emv.TagRecordTemplate, emv.Encode(keep...))
		}
		f.Records[sfi] = out
	}
	if !found {
		t.Fatalf("no %s in the records", tg)
	}
	img.Files[aid] = f
}

func TestRestrictionsAndCVMEdges(t *testing.T) {
	t.Parallel()
	const aid = "A0000000031010"
	for _, tc := range []struct {
		name     string
		tag      emv.Tag
		value    string
		remove   bool
		pins     bool
		bit      emv.Bit
		declined bool
		results  string
	}{
		{"not yet effective", emv.TagEffectiveDate, "270101", false, true, emv.TVRNotYetEffective, false, ""},
		{"versions differ", emv.TagAppVersionCard, "0096", false, true, emv.TVRVersionsDiffer, false, ""},
		{"service not allowed: Visa TAC denial", emv.TagAUC, "FE00", false, true, emv.TVRServiceNotAllowed, true, ""},
		{"PIN pad not present", emv.TagCVMList, "00000000 00000000 4200 1E00", false, false, emv.TVRPINPadNotPresent, false, "1E0000"},
		{"unrecognised CVM", emv.TagCVMList, "00000000 00000000 7D00 1E00", false, true, emv.TVRUnrecognisedCVM, false, "1E0000"},
		{"fail CVM rule", emv.TagCVMList, "00000000 00000000 0000 1E00", false, true, emv.TVRCVMFailed, false, "000001"},
		{"no rule applies", emv.TagCVMList, "00000000 00000000 1E01", false, true, emv.TVRCVMFailed, false, "3F0001"},
		{"CVM list missing", emv.TagCVMList, "", true, true, emv.TVRICCDataMissing, false, "3F0000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, _ := card.Builtin("visa-approved")
			var v []byte
			if !tc.remove {
				v = emv.MustHex(tc.value)
			}
			setCardData(t, img, aid, tc.tag, v)
			c, err := card.New(img, emv.Contact)
			if err != nil {
				t.Fatal(err)
			}
			var pins emv.PINPad
			if tc.pins {
				pins = &pinPad{card: c}
			}
			out, err := newKernel(t).Contact(c, pins, sale(1500)).Read(context.Background())
			if tc.declined != errors.Is(err, emv.ErrDeclined) || (err != nil && !tc.declined) {
				t.Fatalf("err %v", err)
			}
			if tc.bit != 0 && !out.TVR.Has(tc.bit) {
				t.Errorf("TVR %s lacks the bit", out.TVR)
			}
			if tc.results != "" && emv.Hex(out.CVMResults[:]).String() != tc.results {
				t.Errorf("CVM results % X, want %s", out.CVMResults, tc.results)
			}
		})
	}
}

func TestMandatoryDataMissing(t *testing.T) {
	t.Parallel()
	img, _ := card.Builtin("visa-approved")
	setCardData(t, img, "A0000000031010", emv.TagCDOL1, nil)
	c, _ := card.New(img, emv.Contact)
	_, err := newKernel(t).Contact(c, nil, sale(1500)).Read(context.Background())
	if !errors.Is(err, emv.ErrCard) {
		t.Errorf("missing CDOL1: %v", err)
	}
	// A chip read that failed like this allows a fallback swipe.
	track, _ := img.Track2()
	k := newKernel(t, func(cfg *emv.Config) { cfg.AllowFallback = true })
	if _, err := k.Swipe(track, nil, sale(1500), errors.Is(err, emv.ErrCard)).Read(context.Background()); err != nil {
		t.Errorf("fallback: %v", err)
	}
}

func TestCVMNotSupportedByCard(t *testing.T) {
	t.Parallel()
	img, _ := card.Builtin("visa-approved")
	f := img.Files["A0000000031010"]
	f.Data["82"] = emv.MustHex("2C00") // no cardholder verification
	img.Files["A0000000031010"] = f
	c, _ := card.New(img, emv.Contact)
	out, err := newKernel(t).Contact(c, nil, sale(50000)).Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if out.CVMResults != [3]byte{0x3F, 0x00, 0x00} || out.TSI.Has(emv.TSICardholderVerification) || out.SignatureRequired {
		t.Errorf("CVM results % X TSI %s", out.CVMResults, out.TSI)
	}
}

// TestContactlessTrack2Only: a contactless card that gives its PAN and
// expiry only in the track 2 equivalent data.
func TestContactlessTrack2Only(t *testing.T) {
	t.Parallel()
	img, _ := card.Builtin("visa-contactless")
	f := img.Contactless["A0000000031010"]
	rec := f.Records["1"][0]
	objs, _ := emv.ParseTLV(rec)
	kids, _ := objs[0].Children()
	var keep []emv.TLV
	for _, k := range kids {
		if k.Tag != emv.TagPAN && k.Tag != emv.TagExpiryDate {
			keep = append(keep, k)
		}
	}
	f.Records["1"] = []emv.Hex{emv.AppendTLV(nil, emv.TagRecordTemplate, emv.Encode(keep...))}
	img.Contactless["A0000000031010"] = f
	c, err := card.New(img, emv.Contactless)
	if err != nil {
		t.Fatal(err)
	}
	out, err := newKernel(t).Contactless(c, nil, sale(100)).Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if out.PAN != "4000056655665556" || out.ExpiryYYMM != "3112" || out.Track2 == "" || out.ServiceCode != "201" {
		t.Errorf("%v expiry %s service %s", out, out.ExpiryYYMM, out.ServiceCode)
	}
}
