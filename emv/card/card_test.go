package card

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vinr/cashlessd/emv"
)

func tx(t *testing.T, c *Card, apdu string) []byte {
	t.Helper()
	resp, err := c.Transmit(context.Background(), emv.MustHex(apdu))
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func swOf(resp []byte) string { return emv.Hex(resp[len(resp)-2:]).String() }

func powered(t *testing.T, name string, iface emv.Interface) *Card {
	t.Helper()
	img, err := Builtin(name)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(img, iface)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestT0ProcedureBytes(t *testing.T) {
	t.Parallel()
	c := powered(t, "visa-approved", emv.Contact)
	// SELECT (case 4) answers 61xx; GET RESPONSE in two pieces.
	resp := tx(t, c, "00A404000E315041592E5359532E444446303100")
	if swOf(resp) != "611C" {
		t.Fatalf("SELECT PSE: % X", resp)
	}
	part := tx(t, c, "00C0000010")
	if swOf(part) != "610C" || len(part) != 0x12 {
		t.Fatalf("first GET RESPONSE: % X", part)
	}
	rest := tx(t, c, "00C000000C")
	if swOf(rest) != "9000" || !bytes.HasPrefix(append(part[:0x10:0x10], rest[:len(rest)-2]...), emv.MustHex("6F1A840E")) {
		t.Fatalf("second GET RESPONSE: % X", rest)
	}
	// READ RECORD (case 2) with Le 00 answers 6Cxx, then the data.
	resp = tx(t, c, "00B2010C00")
	if swOf(resp) != "6C1D" {
		t.Fatalf("READ RECORD Le 00: % X", resp)
	}
	resp = tx(t, c, "00B2010C1D")
	if swOf(resp) != "9000" || resp[0] != 0x70 {
		t.Fatalf("READ RECORD Le 1D: % X", resp)
	}
	if swOf(tx(t, c, "00C0000010")) != "6985" {
		t.Error("GET RESPONSE with nothing waiting")
	}
	// Contactless is never T=0.
	c = powered(t, "visa-approved", emv.Contactless)
	if resp := tx(t, c, "00A404000E325041592E5359532E444446303100"); swOf(resp) != "9000" {
		t.Errorf("PPSE: % X", resp)
	}
}

func TestSelectNextOccurrence(t *testing.T) {
	t.Parallel()
	img, _ := Builtin("visa-signature")
	f := img.Files["A0000000031010"]
	img.Files["A000000003101002"] = f
	img.Files["A000000003101001"] = f
	c, err := New(img, emv.Contact)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	p2 := "00"
	for range 5 {
		resp := tx(t, c, "00A404"+p2+"07A000000003101000")
		if swOf(resp) != "9000" {
			got = append(got, swOf(resp))
			break
		}
		got = append(got, c.cur.hexName)
		p2 = "02"
	}
	if strings.Join(got, " ") != "A0000000031010 A000000003101001 A000000003101002 6A82" {
		t.Errorf("occurrences: %v", got)
	}
	if swOf(tx(t, c, "00A404000AA00000000000000000FF00")) != "6A82" {
		t.Error("unknown name")
	}
	if swOf(tx(t, c, "00A4000002 3F00 00")) != "6A86" {
		t.Error("select by FID is not supported")
	}
}

func TestVerifyAndCounters(t *testing.T) {
	t.Parallel()
	c := powered(t, "visa-offline-pin", emv.Contact)
	ctx := context.Background()
	for i, want := range []emv.OfflinePINResult{{Status: emv.PINWrong, TriesLeft: 2}, {Status: emv.PINWrong, TriesLeft: 1}, {Status: emv.PINVerified, TriesLeft: -1}} {
		pin := "9999"
		if want.Status == emv.PINVerified {
			pin = "1234"
		}
		got, err := emv.VerifyOfflinePIN(ctx, c, []byte(pin))
		if err != nil || got != want {
			t.Errorf("attempt %d: %+v %v", i, got, err)
		}
	}
	if c.PINTriesLeft() != 3 {
		t.Errorf("a right PIN resets the counter: %d", c.PINTriesLeft())
	}
	for range 3 {
		emv.VerifyOfflinePIN(ctx, c, []byte("0000"))
	}
	if got, _ := emv.VerifyOfflinePIN(ctx, c, []byte("1234")); got.Status != emv.PINBlocked {
		t.Errorf("blocked: %+v", got)
	}
	// GET DATA: live PIN try counter and ATC, 6A88 for what the card lacks.
	c = powered(t, "visa-approved", emv.Contactless)
	if swOf(tx(t, c, "80CA9F1700")) != "6A88" {
		t.Error("a card without PIN has no PIN try counter")
	}
	if resp := tx(t, c, "80CA9F3600"); !bytes.Equal(resp, emv.MustHex("9F3602 0010 9000")) {
		t.Errorf("ATC: % X", resp)
	}
}

func TestCommandSequencing(t *testing.T) {
	t.Parallel()
	c := powered(t, "mastercard", emv.Contactless)
	for _, tc := range []struct{ apdu, sw string }{
		{"80AE80001D" + strings.Repeat("00", 0x1D) + "00", "6985"}, // GENERATE AC before GPO
		{"00A4040007A000000004101000", "9000"},
		{"80A8000002830000", "9000"},
		{"80AE8000020000", "6700"}, // wrong CDOL1 length
		{"80AE80002B" + strings.Repeat("00", 0x2B) + "00", "9000"},
		{"0082000004 01020304", "6700"}, // EXTERNAL AUTHENTICATE too short
		{"0082000008 0102030405060708", "6300"},
		{"0082000008 0102030405060708", "6985"}, // only once
		{"80AE4000" + "1D" + strings.Repeat("00", 0x1D) + "00", "9000"},
		{"80AE4000" + "1D" + strings.Repeat("00", 0x1D) + "00", "6985"}, // no third
		{"00B2050C00", "6A83"},
		{"80EE000000", "6D00"},
		{"A0A4000000", "6E00"},
		{"00A4", "6700"},
	} {
		if got := swOf(tx(t, c, tc.apdu)); got != tc.sw {
			t.Errorf("%s: %s, want %s", tc.apdu, got, tc.sw)
		}
	}
	// The second GENERATE AC asked for a TC after a failed issuer
	// authentication: the card declines (CID 00 in the 77 template).
	c = powered(t, "mastercard", emv.Contactless)
	tx(t, c, "00A4040007A000000004101000")
	tx(t, c, "80A8000002830000")
	tx(t, c, "80AE80002B"+strings.Repeat("00", 0x2B)+"00")
	tx(t, c, "0082000008 0102030405060708")
	resp := tx(t, c, "80AE4000"+"1D"+strings.Repeat("00", 0x1D)+"00")
	if cid, ok := emv.Find(resp[:len(resp)-2], emv.TagCID); !ok || cid[0] != emv.CryptogramAAC {
		t.Errorf("after failed issuer authentication: % X", resp)
	}
}

func TestParseAndLoad(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{
		`{`,
		`{"name":"empty"}`,
		`{"name":"x","files":{"ZZ":{"fci":"6F00"}}}`,
		`{"name":"x","files":{"A0":{"fci":"6F05"}}}`,
		`{"name":"x","pin":"12a4","files":{"A0":{"fci":"6F00"}}}`,
		`{"name":"x","files":{"A0":{"fci":"6F00","records":{"31":["7000"]}}}}`,
		`{"name":"x","files":{"A0":{"fci":"6F00","data":{"9F":"00"}}}}`,
	} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%s) accepted", bad)
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "card.json")
	b, _ := os.ReadFile(filepath.Join("images", "mastercard.json"))
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	img, err := Load(path)
	if err != nil || img.PAN() != "5555555555554444" {
		t.Fatalf("Load: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "none.json")); err == nil {
		t.Error("Load of a missing file")
	}
	if img, err := BuiltinByPAN("4000000000000002"); err != nil || !strings.Contains(img.Name, "declined") {
		t.Errorf("BuiltinByPAN: %v", err)
	}
	if _, err := BuiltinByPAN("4111111111111111"); err == nil || strings.Contains(err.Error(), "4111111111111111") {
		t.Errorf("BuiltinByPAN unknown: %v", err)
	}
	if _, err := Builtin("nope"); err == nil {
		t.Error("Builtin(nope)")
	}
	if tr, ok := img.Track2(); !ok || !strings.HasPrefix(tr, ";5555555555554444=3112201") {
		t.Errorf("Track2 %q", tr)
	}
	if c, _ := New(img, emv.Contact); c.Name() == "" || len(c.ATR()) == 0 || c.ATC() != 0x10 {
		t.Error("Name, ATR, ATC")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c, _ := New(img, emv.Contact)
	if _, err := c.Transmit(ctx, emv.MustHex("00A4040000")); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Transmit: %v", err)
	}
}

// TestIssuerAuthenticationData checks that the ARPC is bound to the ARQC
// and the response code.
func TestIssuerAuthenticationData(t *testing.T) {
	t.Parallel()
	key := []byte("k")
	a := IssuerAuthenticationData(key, []byte{1, 2, 3, 4, 5, 6, 7, 8}, "00")
	if len(a) != 10 || string(a[8:]) != "00" {
		t.Fatalf("% X", a)
	}
	if bytes.Equal(a, IssuerAuthenticationData(key, []byte{1, 2, 3, 4, 5, 6, 7, 9}, "00")) ||
		bytes.Equal(a[:8], IssuerAuthenticationData(key, []byte{1, 2, 3, 4, 5, 6, 7, 8}, "05")[:8]) {
		t.Error("ARPC must depend on ARQC and ARC")
	}
}

func TestForPANGeneratesAnyLuhnValidCard(t *testing.T) {
	t.Parallel()
	for _, pan := range []string{"4111111111111111", "5105105105105100", "4242424242424242"} {
		img, err := ForPAN(pan)
		if err != nil {
			t.Fatal(err)
		}
		if img.PAN() != pan {
			t.Fatalf("%s: image PAN %s", pan, img.PAN())
		}
		if _, err := New(img, emv.Contact); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ForPAN("4111111111111112"); err == nil {
		t.Fatal("a PAN failing Luhn was accepted")
	}
}
