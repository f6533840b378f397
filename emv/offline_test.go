package emv_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/vinr/cashlessd/emv"
	"github.com/vinr/cashlessd/emv/card"
)

// Default action codes of an acquirer that agreed to offline approvals
// without offline data authentication: the schemes' TAC-Default with the
// bit "offline data authentication was not performed" cleared.
const (
	lenientVisaDefault = "5C4000A800" // Visa DC4000A800 without 80 in byte 1
	lenientMCDefault   = "7450848000" // Mastercard F45084800C without 80 in byte 1
)

// offlineCard is a Visa-like (or other scheme) contact card whose
// IAC-Default leaves out the ODA bit, so it may approve offline.
func offlineCard(t testing.TB, scheme, pan, iacDefault string) *card.Image {
	t.Helper()
	img, err := card.Generate(card.Spec{File: "offline", Name: "offline-capable " + scheme, PAN: pan,
		Holder: "OFFLINE/TEST", Scheme: scheme, Expiry: "311231", Contact: true, Contactless: true, PSE: true,
		T0: scheme == "visa", CVM: "00000000 00002710 5E09 1F03", CTQ: "4000", IACDefault: iacDefault})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// offlineConfig allows offline approvals under 50.00 with the lenient
// TAC-Defaults.
func offlineConfig(c *emv.Config) {
	c.OfflineApprovals = true
	c.FloorLimit = 5000
	for i := range c.AIDs {
		switch c.AIDs[i].Scheme {
		case "visa":
			c.AIDs[i].TACDefault = emv.MustHex(lenientVisaDefault)
		case "mastercard":
			c.AIDs[i].TACDefault = emv.MustHex(lenientMCDefault)
		}
	}
}

func TestOfflineApprovalWhenHostUnreachable(t *testing.T) {
	t.Parallel()
	lenientVisa := func(t testing.TB) *card.Image { return offlineCard(t, "visa", "4111111111111111", lenientVisaDefault) }
	lenientMC := func(t testing.TB) *card.Image {
		return offlineCard(t, "mastercard", "5105105105105100", lenientMCDefault)
	}
	builtin := func(name string) func(testing.TB) *card.Image {
		return func(t testing.TB) *card.Image {
			img, err := card.Builtin(name)
			if err != nil {
				t.Fatal(err)
			}
			return img
		}
	}
	for _, tc := range []struct {
		name    string
		img     func(testing.TB) *card.Image
		iface   emv.Interface
		cfg     []func(*emv.Config)
		amount  int64
		preauth bool
		// want
		offline     bool
		arc         string
		floorBit    bool
		cryptogram  string
		secondGenAC bool
	}{
		{name: "under the floor limit: TC, Y3", img: lenientVisa, iface: emv.Contact, cfg: []func(*emv.Config){offlineConfig},
			amount: 1000, offline: true, arc: "Y3", cryptogram: "TC", secondGenAC: true},
		{name: "format 2 card with 91 in CDOL2: TC, Y3", img: lenientMC, iface: emv.Contact, cfg: []func(*emv.Config){offlineConfig},
			amount: 4999, offline: true, arc: "Y3", cryptogram: "TC", secondGenAC: true},
		{name: "at the floor limit: exceeded, AAC, Z3", img: lenientVisa, iface: emv.Contact, cfg: []func(*emv.Config){offlineConfig},
			amount: 5000, arc: "Z3", floorBit: true, cryptogram: "AAC", secondGenAC: true},
		{name: "over the floor limit: AAC, Z3", img: lenientVisa, iface: emv.Contact, cfg: []func(*emv.Config){offlineConfig},
			amount: 6000, arc: "Z3", floorBit: true, cryptogram: "AAC", secondGenAC: true},
		{name: "IAC-Default with the ODA bit (visa-approved): AAC, Z3", img: builtin("visa-approved"), iface: emv.Contact,
			cfg: []func(*emv.Config){offlineConfig}, amount: 1000, arc: "Z3", cryptogram: "AAC", secondGenAC: true},
		{name: "scheme TAC-Default with the ODA bit: AAC, Z3", img: lenientVisa, iface: emv.Contact,
			cfg:    []func(*emv.Config){func(c *emv.Config) { c.OfflineApprovals, c.FloorLimit = true, 5000 }},
			amount: 1000, arc: "Z3", cryptogram: "AAC", secondGenAC: true},
		{name: "no TAC-Default configured: AAC, Z3", img: lenientVisa, iface: emv.Contact,
			cfg: []func(*emv.Config){offlineConfig, func(c *emv.Config) {
				for i := range c.AIDs {
					c.AIDs[i].TACDefault = nil
				}
			}}, amount: 1000, arc: "Z3", cryptogram: "AAC", secondGenAC: true},
		{name: "offline approvals off: AAC, Z3 as before", img: lenientVisa, iface: emv.Contact,
			cfg:    []func(*emv.Config){offlineConfig, func(c *emv.Config) { c.OfflineApprovals = false }},
			amount: 1000, arc: "Z3", cryptogram: "AAC", secondGenAC: true},
		{name: "pre-authorisation: AAC, Z3", img: lenientVisa, iface: emv.Contact, cfg: []func(*emv.Config){offlineConfig},
			amount: 1000, preauth: true, arc: "Z3", cryptogram: "AAC", secondGenAC: true},
		{name: "contactless stays online-only: declined, Z3", img: lenientVisa, iface: emv.Contactless,
			cfg: []func(*emv.Config){offlineConfig}, amount: 1000, arc: "Z3", cryptogram: "ARQC"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := card.New(tc.img(t), tc.iface)
			if err != nil {
				t.Fatal(err)
			}
			tr := &counter{t: c}
			k := newKernel(t, tc.cfg...)
			// A pre-authorisation is a purchase the card may not approve
			// offline (daemon/terminal maps the engine's kinds so).
			tx := emv.Transaction{Type: emv.TypePurchase, Amount: tc.amount, Currency: "USD", Time: txTime,
				NoOfflineApproval: tc.preauth}
			var s *emv.Session
			if tc.iface == emv.Contact {
				s = k.Contact(tr, &pinPad{card: c}, tx)
			} else {
				s = k.Contactless(tr, &pinPad{card: c}, tx)
			}
			first, err := s.Read(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if first.Decision != emv.DecisionOnline || first.CryptogramType != "ARQC" {
				t.Fatalf("Read: %s %s; the terminal must always try the host first", first.Decision, first.CryptogramType)
			}
			sent := len(tr.commands)
			final, err := s.Complete(context.Background(), emv.HostUnreachable())
			if err != nil {
				t.Fatal(err)
			}
			if final.Approved() != tc.offline || final.Offline != tc.offline {
				t.Errorf("approved %v offline %v, want %v", final.Approved(), final.Offline, tc.offline)
			}
			if final.AuthResponseCode != tc.arc || final.CryptogramType != tc.cryptogram {
				t.Errorf("ARC %q cryptogram %s, want %q %s", final.AuthResponseCode, final.CryptogramType, tc.arc, tc.cryptogram)
			}
			if final.TVR.Has(emv.TVRFloorLimitExceeded) != tc.floorBit {
				t.Errorf("TVR %s: floor limit exceeded should be %v", final.TVR, tc.floorBit)
			}
			if !tc.secondGenAC {
				if len(tr.commands) != sent {
					t.Errorf("%d commands sent to a contactless card after Read", len(tr.commands)-sent)
				}
				return
			}
			var last []byte // the last GENERATE AC (a T=0 card's GET RESPONSE follows it)
			for _, cmd := range tr.commands[sent:] {
				if cmd[1] == insGenAC {
					last = cmd
				}
			}
			if last == nil {
				t.Fatal("no second GENERATE AC")
			}
			want := byte(emv.CryptogramAAC)
			if tc.offline {
				want = emv.CryptogramTC
			}
			if last[1] != insGenAC || last[2] != want {
				t.Errorf("second GENERATE AC asked % X, want P1 %02X", last[:4], want)
			}
			// The advice's chip data: the final cryptogram, its CID, the
			// ARC the card was given, and the TVR as it ended.
			if !bytes.Equal(tag(t, final, emv.TagCryptogram), final.Cryptogram) || bytes.Equal(final.Cryptogram, first.Cryptogram) {
				t.Errorf("ICC data 9F26 % X, outcome % X, ARQC % X", tag(t, final, emv.TagCryptogram), final.Cryptogram, first.Cryptogram)
			}
			if cid := tag(t, final, emv.TagCID); cid[0]&0xC0 != want {
				t.Errorf("ICC data 9F27 %02X", cid[0])
			}
			if arc := tag(t, final, emv.TagARC); string(arc) != tc.arc {
				t.Errorf("ICC data 8A %q", arc)
			}
			if tvr := tag(t, final, emv.TagTVR); !bytes.Equal(tvr, final.TVR[:]) {
				t.Errorf("ICC data 95 % X, TVR %s", tvr, final.TVR)
			}
			if _, ok := emv.Find(first.ICCData, emv.TagARC); ok {
				t.Error("the online request's ICC data carries 8A")
			}
		})
	}
}

// TestOfflineApprovalSettings: a host that answered is never overruled by
// offline approvals, and an online PIN the issuer never checked keeps
// default action analysis from approving.
func TestOfflineApprovalSettings(t *testing.T) {
	t.Parallel()
	k := newKernel(t, offlineConfig)
	// The host approves: an ordinary online approval, not offline.
	c, img := insert(t, "visa-approved", emv.Contact)
	s := k.Contact(c, &pinPad{card: c}, sale(1000))
	out, err := s.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	final, err := s.Complete(context.Background(), approve(img, out))
	if err != nil || !final.Approved() || final.Offline || final.AuthResponseCode != "00" {
		t.Fatalf("online approval: %s offline=%v ARC %q %v", final.Decision, final.Offline, final.AuthResponseCode, err)
	}
	// The host declines: no offline approval either.
	c2, _ := card.New(offlineCard(t, "visa", "4111111111111111", lenientVisaDefault), emv.Contact)
	s = k.Contact(c2, &pinPad{card: c2}, sale(1000))
	if _, err := s.Read(context.Background()); err != nil {
		t.Fatal(err)
	}
	final, err = s.Complete(context.Background(), emv.HostResponse{ResponseCode: "05"})
	if err != nil || final.Approved() || final.Offline || final.AuthResponseCode != "05" {
		t.Fatalf("host decline: %s offline=%v ARC %q %v", final.Decision, final.Offline, final.AuthResponseCode, err)
	}
	// A lost answer passed as a Z3 decline (not Unreachable) never
	// approves offline.
	c3, _ := card.New(offlineCard(t, "visa", "4111111111111111", lenientVisaDefault), emv.Contact)
	s = k.Contact(c3, &pinPad{card: c3}, sale(1000))
	if _, err := s.Read(context.Background()); err != nil {
		t.Fatal(err)
	}
	final, err = s.Complete(context.Background(), emv.HostResponse{ResponseCode: "Z3"})
	if err != nil || final.Approved() || final.AuthResponseCode != "Z3" || final.CryptogramType != "AAC" {
		t.Fatalf("Z3 decline: %s ARC %q %s %v", final.Decision, final.AuthResponseCode, final.CryptogramType, err)
	}
	// Online PIN entered (TVR byte 3, 04) is in the Mastercard TAC-Default.
	pinImg, err := card.Generate(card.Spec{File: "offline-pin", Name: "online PIN", PAN: "5105105105105100",
		Holder: "PIN/TEST", Scheme: "mastercard", Expiry: "311231", Contact: true, PSE: true,
		CVM: "00000000 00000000 4203 1F03", IACDefault: lenientMCDefault})
	if err != nil {
		t.Fatal(err)
	}
	c4, _ := card.New(pinImg, emv.Contact)
	s = k.Contact(c4, &pinPad{card: c4}, sale(1000))
	if _, err := s.Read(context.Background()); err != nil {
		t.Fatal(err)
	}
	final, err = s.Complete(context.Background(), emv.HostUnreachable())
	if err != nil || final.Approved() || final.AuthResponseCode != "Z3" || !final.TVR.Has(emv.TVROnlinePINEntered) {
		t.Fatalf("online PIN: %s ARC %q TVR %s %v", final.Decision, final.AuthResponseCode, final.TVR, err)
	}
}

func TestHostUnreachable(t *testing.T) {
	t.Parallel()
	if u := emv.HostUnreachable(); !u.Unreachable || u.Approved {
		t.Errorf("HostUnreachable %+v", u)
	}
}
