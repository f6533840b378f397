package emv_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/vinr/cashlessd/emv"
	"github.com/vinr/cashlessd/emv/card"
)

// fixedRand is an unpredictable number of four bytes followed by the
// random selection byte, then ChaCha8.
func fixedRand(selection byte) io.Reader {
	return io.MultiReader(bytes.NewReader([]byte{1, 2, 3, 4, selection}), rand.NewChaCha8([32]byte{9}))
}

func TestRandomTransactionSelection(t *testing.T) {
	t.Parallel()
	// Floor limit 100.00, threshold 20.00, target 20 %, maximum 60 %.
	// A random byte b draws b%99+1.
	for _, tc := range []struct {
		name     string
		amount   int64
		draw     byte
		selected bool
	}{
		{"under threshold, drawn 20 of 20 %", 1000, 19, true},
		{"under threshold, drawn 21 of 20 %", 1000, 20, false},
		{"half way, drawn 40 of 40 %", 6000, 39, true},
		{"half way, drawn 41 of 40 %", 6000, 40, false},
		{"just under the floor limit, drawn 59", 9999, 58, true},
		{"at the floor limit: no random selection", 10000, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, _ := insert(t, "visa-approved", emv.Contact)
			k := newKernel(t, offlineConfig, func(cfg *emv.Config) {
				cfg.FloorLimit = 10000
				cfg.RandomSelectionPercent, cfg.RandomSelectionMaxPercent, cfg.RandomSelectionThreshold = 20, 60, 2000
				cfg.Rand = fixedRand(tc.draw)
			})
			out, err := k.Contact(c, &pinPad{card: c}, sale(tc.amount)).Read(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if out.TVR.Has(emv.TVRRandomlySelected) != tc.selected {
				t.Errorf("TVR %s: randomly selected %v, want %v", out.TVR, out.TVR.Has(emv.TVRRandomlySelected), tc.selected)
			}
			// The terminal still asks the host first.
			if out.Decision != emv.DecisionOnline || out.CryptogramType != "ARQC" {
				t.Errorf("%s %s", out.Decision, out.CryptogramType)
			}
		})
	}

	// An online-only terminal does no random selection.
	c, _ := insert(t, "visa-approved", emv.Contact)
	k := newKernel(t, func(cfg *emv.Config) {
		cfg.FloorLimit = 10000
		cfg.RandomSelectionPercent, cfg.RandomSelectionMaxPercent, cfg.RandomSelectionThreshold = 99, 99, 2000
	})
	out, err := k.Contact(c, &pinPad{card: c}, sale(1000)).Read(context.Background())
	if err != nil || out.TVR.Has(emv.TVRRandomlySelected) {
		t.Errorf("online-only: TVR %s %v", out.TVR, err)
	}

	for _, bad := range []func(*emv.Config){
		func(c *emv.Config) { c.RandomSelectionPercent = 100 },
		func(c *emv.Config) { c.RandomSelectionPercent, c.RandomSelectionMaxPercent = 50, 40 },
		func(c *emv.Config) {
			c.FloorLimit, c.RandomSelectionMaxPercent, c.RandomSelectionThreshold = 1000, 50, 1000
		},
		func(c *emv.Config) { c.ScriptLimit = -1 },
	} {
		cfg := emv.DefaultConfig()
		bad(&cfg)
		if _, err := emv.NewKernel(cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}

func TestTerminalTypeWithOfflineApprovals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		offline bool
		want    byte
	}{{false, 0x21}, {true, 0x22}} {
		c, _ := insert(t, "visa-approved", emv.Contact)
		k := newKernel(t, func(cfg *emv.Config) {
			if tc.offline {
				offlineConfig(cfg)
			}
		})
		out, err := k.Contact(c, &pinPad{card: c}, sale(1000)).Read(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got := tag(t, out, emv.TagTerminalType); got[0] != tc.want {
			t.Errorf("offline approvals %v: 9F35 %X, want %02X", tc.offline, got, tc.want)
		}
		if out.CryptogramType != "ARQC" {
			t.Errorf("offline approvals %v: first GENERATE AC %s", tc.offline, out.CryptogramType)
		}
	}
}

func TestVelocityChecking(t *testing.T) {
	t.Parallel()
	// LCOL 5, UCOL 10 on the built-in cards; the GPO counts one.
	for _, tc := range []struct {
		atc, lastOnline string
		lower, upper    bool
		newCard         bool
	}{
		{"0010", "000F", false, false, false}, // 2 offline
		{"0014", "000F", true, false, false},  // 6 offline
		{"0019", "000F", true, true, false},   // 11 offline
		{"0003", "0000", false, false, true},  // never online
	} {
		img, err := card.Builtin("visa-approved")
		if err != nil {
			t.Fatal(err)
		}
		app := img.Files["A0000000031010"]
		app.Data["9F36"], app.Data["9F13"] = emv.MustHex(tc.atc), emv.MustHex(tc.lastOnline)
		img.Contactless = nil // one ATC: the contact application's
		c, err := card.New(img, emv.Contact)
		if err != nil {
			t.Fatal(err)
		}
		out, err := newKernel(t).Contact(c, &pinPad{card: c}, sale(1000)).Read(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if out.TVR.Has(emv.TVRLowerOfflineLimitExceeded) != tc.lower || out.TVR.Has(emv.TVRUpperOfflineLimitExceeded) != tc.upper ||
			out.TVR.Has(emv.TVRNewCard) != tc.newCard {
			t.Errorf("ATC %s last online %s: TVR %s", tc.atc, tc.lastOnline, out.TVR)
		}
	}
}

func TestIssuerScriptLimitAndFailures(t *testing.T) {
	t.Parallel()
	putData := emv.MustHex("04DA9F580501020304 05")
	script := func(id string, cmds ...[]byte) []byte {
		var body []byte
		if id != "" {
			body = emv.AppendTLV(body, emv.TagScriptID, emv.MustHex(id))
		}
		for _, c := range cmds {
			body = emv.AppendTLV(body, emv.TagIssuerScriptCommand, c)
		}
		return body
	}
	for _, tc := range []struct {
		name          string
		limit         int
		before, after [][]byte // template values of 71 and 72
		results       string
		tvrBefore     bool
		tvrAfter      bool
	}{
		{name: "good, no identifier", after: [][]byte{script("", putData)}, results: "2000000000"},
		{name: "malformed: no command", before: [][]byte{script("11111111")}, results: "1011111111", tvrBefore: true},
		{name: "malformed: bad TLV", after: [][]byte{emv.MustHex("9F180411")}, results: "1000000000", tvrAfter: true},
		{name: "malformed: foreign tag", after: [][]byte{append(script("22222222", putData), emv.MustHex("5A0112")...)},
			results: "1022222222", tvrAfter: true},
		{name: "second command refused", after: [][]byte{script("33333333", putData, emv.MustHex("84EE000000"))},
			results: "1233333333", tvrAfter: true},
		{name: "over the default limit of 128 bytes", before: [][]byte{script("44444444", putData, putData, putData, putData, putData, putData, putData)},
			after: [][]byte{script("55555555", putData, putData, putData, putData)}, results: "2044444444" + "0055555555", tvrAfter: true},
		{name: "a larger limit", limit: 256, before: [][]byte{script("44444444", putData, putData, putData, putData, putData, putData, putData)},
			after: [][]byte{script("55555555", putData, putData, putData, putData)}, results: "2044444444" + "2055555555"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, img := insert(t, "visa-approved", emv.Contact)
			s := newKernel(t, func(cfg *emv.Config) { cfg.ScriptLimit = tc.limit }).Contact(c, &pinPad{card: c}, sale(1500))
			out, err := s.Read(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			resp := approve(img, out)
			for _, b := range tc.before {
				resp.IssuerData = emv.AppendTLV(resp.IssuerData, emv.TagIssuerScript1, b)
			}
			for _, a := range tc.after {
				resp.IssuerData = emv.AppendTLV(resp.IssuerData, emv.TagIssuerScript2, a)
			}
			final, err := s.Complete(context.Background(), resp)
			if err != nil || !final.Approved() {
				t.Fatalf("%v %v", final.Decision, err)
			}
			if got := fmt.Sprintf("%X", final.ScriptResults); got != tc.results {
				t.Errorf("9F5B %s, want %s", got, tc.results)
			}
			if !bytes.Equal(tag(t, final, emv.TagIssuerScriptResults), final.ScriptResults) {
				t.Error("9F5B is not in the chip data for the host")
			}
			if final.TVR.Has(emv.TVRScriptFailedBeforeFinalAC) != tc.tvrBefore || final.TVR.Has(emv.TVRScriptFailedAfterFinalAC) != tc.tvrAfter {
				t.Errorf("TVR %s", final.TVR)
			}
		})
	}
}
