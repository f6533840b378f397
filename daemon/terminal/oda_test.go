package terminal

import (
	"encoding/hex"
	"errors"
	"testing"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/emv"
	"github.com/vinr/cashlessd/emv/oda"
)

// newODARig is the rig with a kernel that holds the simulator's test CA
// keys, so the virtual cards' offline data authentication runs end to
// end over the pty.
func newODARig(t *testing.T) *rig {
	t.Helper()
	return newRig(t, func(cfg *emv.Config) { cfg.CAPKs = oda.TestCAPKs() })
}

func TestOfflineDataAuthenticationOverTheReader(t *testing.T) {
	t.Parallel()
	// TVR byte 1 and the TSI's ODA bit, as the engine gets them.
	for _, tc := range []struct {
		card     string
		tvr1     string // first TVR byte, hex
		declined bool
	}{
		{"visa-sda", "00", false},
		{"visa-approved", "00", false}, // DDA
		{"mastercard", "00", false},    // CDA
		{"visa-sda-bad-issuer-cert", "40", false},
		{"visa-sda-capk-missing", "40", false},
		{"visa-sda-capk-expired", "40", false},
		{"visa-dda-bad-signature", "08", false},
		{"mastercard-cda-bad-icc-cert", "04", false},
		{"mastercard-cda-bad-signature", "04", true},
	} {
		t.Run(tc.card, func(t *testing.T) {
			t.Parallel()
			g := newODARig(t)
			g.present(t, tc.card, emv.Contact, "1234")
			ctx := t.Context()
			s, err := g.a.Detect(ctx, daemon.CardRequest{Kind: daemon.KindSale, Amount: 1000, Currency: "USD"})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			data, err := s.Read(ctx)
			if tc.declined != errors.Is(err, daemon.ErrDeclinedByCard) || (!tc.declined && err != nil) {
				t.Fatalf("Read: %v", err)
			}
			tsi, _ := hex.DecodeString(data.Info.TSI)
			if len(data.Info.TVR) != 10 || data.Info.TVR[:2] != tc.tvr1 || len(tsi) != 2 || tsi[0]&0x80 == 0 {
				t.Errorf("TVR %s TSI %s, want TVR byte 1 %s and ODA performed", data.Info.TVR, data.Info.TSI, tc.tvr1)
			}
			if caps, ok := emv.Find(data.ICCData, emv.TagTerminalCapabilities); !ok || caps[2] != 0xC8 {
				t.Errorf("9F33 %X", caps)
			}
			if tc.declined {
				return
			}
			ok, err := s.Complete(ctx, daemon.AuthResponse{Approved: true, ResponseCode: "00", AuthCode: "A12345"})
			if err != nil || !ok {
				t.Fatalf("card refused the approval: %v %v", ok, err)
			}
		})
	}
}
