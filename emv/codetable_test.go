package emv_test

import (
	"context"
	"testing"

	"github.com/vinr/cashlessd/emv"
	"github.com/vinr/cashlessd/emv/card"
)

func TestPreferredNameNeedsItsCodeTable(t *testing.T) {
	t.Parallel()
	const aid = "A0000000031010"
	for _, tc := range []struct {
		name      string
		table     string // 9F11, "" none
		preferred []byte // 9F12
		addCaps   string // 9F40, "" default (code table 1)
		want      string
	}{
		{"ISO 8859-1", "01", []byte("Caf\xE9 Card"), "", "Café Card"},
		{"ISO 8859-2 not supported", "02", []byte("\xA3\xF3d\xBC"), "", "VISA CREDIT"},
		{"ISO 8859-2 supported", "02", []byte("\xA3\xF3d\xBC"), "6000F05003", "Łódź"},
		{"ISO 8859-5", "05", []byte("\xBA\xD0\xE0\xE2\xD0"), "6000F05011", "Карта"},
		{"ISO 8859-10 (byte 4)", "10", []byte("Test"), "6000F05201", "Test"},
		{"no code table index", "", []byte("Visa Credit"), "", "VISA CREDIT"},
		{"index out of range", "11", []byte("Visa Credit"), "6000F053FF", "VISA CREDIT"},
		{"nothing printable", "01", []byte("\x01\x02"), "", "VISA CREDIT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			img, err := card.Builtin("visa-approved")
			if err != nil {
				t.Fatal(err)
			}
			prop := []emv.TLV{{Tag: emv.TagApplicationLabel, Value: []byte("VISA CREDIT")}, {Tag: emv.TagPriority, Value: []byte{1}}}
			if tc.table != "" {
				prop = append(prop, emv.TLV{Tag: emv.TagIssuerCodeTable, Value: emv.MustHex(tc.table)})
			}
			prop = append(prop, emv.TLV{Tag: emv.TagPreferredName, Value: tc.preferred})
			app := img.Files[aid]
			app.FCI = emv.AppendTLV(nil, emv.TagFCI, emv.Encode(emv.TLV{Tag: emv.TagDFName, Value: emv.MustHex(aid)},
				emv.TLV{Tag: emv.TagFCIProprietary, Value: emv.Encode(prop...)}))
			img.Files[aid] = app
			c, err := card.New(img, emv.Contact)
			if err != nil {
				t.Fatal(err)
			}
			k := newKernel(t, func(cfg *emv.Config) {
				if tc.addCaps != "" {
					cfg.AdditionalCapabilities = emv.MustHex(tc.addCaps)
				}
			})
			out, err := k.Contact(c, &pinPad{card: c}, sale(1000)).Read(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if out.ApplicationLabel != tc.want {
				t.Errorf("shown %q, want %q", out.ApplicationLabel, tc.want)
			}
		})
	}
}
