package dukpt_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/vinr/cashlessd/emv/reader/dukpt"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The ANSI X9.24-1:2009 Annex A test key and initial KSN.
const (
	testBDK = "0123456789ABCDEFFEDCBA9876543210"
	testKSN = "FFFF9876543210E00000"
	testPAN = "4012345678909"
	testPIN = "1234"
)

func TestInitialKey(t *testing.T) {
	t.Parallel()
	ik, err := dukpt.InitialKey(unhex(t, testBDK), unhex(t, testKSN))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hex.EncodeToString(ik), "6ac292faa1315b4d858ab3a3d7d5933a"; got != want {
		t.Fatalf("IPEK %s, want %s", got, want)
	}
	// The counter bits do not matter.
	ik2, _ := dukpt.InitialKey(unhex(t, testBDK), unhex(t, "FFFF9876543210E00005"))
	if !bytes.Equal(ik, ik2) {
		t.Fatal("the initial key depends on the counter")
	}
}

// Annex A: the PIN encryption key (transaction key XOR the PIN variant)
// and the encrypted format 0 block of PIN 1234 for PAN 4012345678909, for
// counters along the sequence and at the bit boundaries.
func TestAnnexAVectors(t *testing.T) {
	t.Parallel()
	vectors := []struct{ ksn, pinKey, epb string }{
		{"FFFF9876543210E00001", "042666B49184CF5C68DE9628D0397B36", "1B9C1845EB993A7A"},
		{"FFFF9876543210E00002", "C46551CEF9FD244FAA9AD834130D3B38", "10A01C8D02C69107"},
		{"FFFF9876543210E00003", "0DF3D9422ACA561A47676D07AD6BAD05", "18DC07B94797B466"},
		{"FFFF9876543210E00004", "279C0F6AEED0BE9A2B2C733E1383AE6E", "0BC79509D5645DF7"},
		{"FFFF9876543210E00005", "5F8DC6D2C845C1DA508DDC048093B8C0", "5BC0AF22AD87B327"},
		{"FFFF9876543210E00008", "27F66D5244FF621EAA6F6120EDEB427F", "50E55547A5027551"},
		{"FFFF9876543210E00010", "59598DCBD9BD943F94165CE453585FA8", "D5D9638559EF53D6"},
		{"FFFF9876543210E00015", "E161D1956A61F62DF37AFD7F9CC36965", "72105C22EBC791E6"},
		{"FFFF9876543210E10000", "2F9A0C0B46ECCBA1F8287A7A071AF54B", "19776D96D73AF1E2"},
		{"FFFF9876543210E80000", "87B9983D9D23047A8D199F5CA0C3DEEC", "1E0F453FD55FCE45"},
		{"FFFF9876543210EFF800", "F9CDFEBF4F5B1D61B3EC12454527E189", "33365F5CC6F23C35"},
		{"FFFF9876543210EFF801", "5BEE92627E9782A3911BF619DF72CAC4", "3A86BF003F835C9D"},
		{"FFFF9876543210EFFC00", "F9430DF97508246EC77BE4EF4FDB9111", "DEFC6F09F8927B71"},
		{"FFFF9876543210F00000", "AA4D58DB653EC7B548C75F2F047DD24A", "73EC88AD0AC5830E"},
	}
	bdk := unhex(t, testBDK)
	clearBlock, err := dukpt.FormatPIN0(testPIN, testPAN)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(clearBlock); got != "041274edcba9876f" {
		t.Fatalf("format 0 block %s, want 041274edcba9876f", got)
	}
	for _, v := range vectors {
		ksn := unhex(t, v.ksn)
		key, err := dukpt.PINKey(bdk, ksn)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(key, unhex(t, v.pinKey)) {
			t.Errorf("KSN %s: PIN key %X, want %s", v.ksn, key, v.pinKey)
			continue
		}
		epb, err := dukpt.EncryptPINBlock(key, clearBlock)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(epb, unhex(t, v.epb)) {
			t.Errorf("KSN %s: encrypted PIN block %X, want %s", v.ksn, epb, v.epb)
		}
		back, err := dukpt.DecryptPINBlock(key, epb)
		if err != nil || !bytes.Equal(back, clearBlock) {
			t.Errorf("KSN %s: decrypt gives %X, %v", v.ksn, back, err)
		}
		pin, err := dukpt.ParsePIN0(back, testPAN)
		if err != nil || pin != testPIN {
			t.Errorf("KSN %s: PIN %q, %v", v.ksn, pin, err)
		}
	}
}

func TestNextKSN(t *testing.T) {
	t.Parallel()
	steps := []struct{ from, to string }{
		{"FFFF9876543210E00000", "FFFF9876543210E00001"},
		{"FFFF9876543210E00001", "FFFF9876543210E00002"},
		{"FFFF9876543210E003FE", "FFFF9876543210E003FF"}, // ten 1 bits: allowed
		{"FFFF9876543210E003FF", "FFFF9876543210E00400"}, // 0x400 has one
		{"FFFF9876543210E007FE", "FFFF9876543210E00800"}, // 0x7FF has eleven: skipped to 0x800
		{"FFFF9876543210EFF7FF", "FFFF9876543210EFF800"}, // the jump Annex A shows
		{"FFFF9876543210EFF800", "FFFF9876543210EFF801"}, //
		{"FFFF9876543210EFFC00", "FFFF9876543210F00000"}, // 0x0FFC01 has eleven: skipped up to 0x100000
		{"FFFF9876543210FFF7FE", "FFFF9876543210FFF800"}, //
		{"12345678901234E7FFFF", "12345678901234E80000"}, // counter bits only in the low 21
	}
	for _, s := range steps {
		next, err := dukpt.NextKSN(unhex(t, s.from))
		if err != nil {
			t.Fatalf("%s: %v", s.from, err)
		}
		if !bytes.Equal(next, unhex(t, s.to)) {
			t.Errorf("after %s: %X, want %s", s.from, next, s.to)
		}
	}
	if _, err := dukpt.NextKSN(unhex(t, "FFFF9876543210FFF800")); !errors.Is(err, dukpt.ErrExhausted) {
		t.Fatalf("after the last counter: %v, want ErrExhausted", err)
	}
}

func TestFormatPIN0(t *testing.T) {
	t.Parallel()
	// PAN 5432101234567891, PIN 12345: PIN field 05 12 34 5F FF FF FF FF,
	// PAN field: 0000 and the twelve digits before the check digit,
	// 0000 2101 2345 6789.
	b, err := dukpt.FormatPIN0("12345", "5432101234567891")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hex.EncodeToString(b), "0512155edcba9876"; got != want {
		t.Fatalf("format 0 %s, want %s", got, want)
	}
	for _, bad := range []struct{ pin, pan string }{{"123", testPAN}, {"1234567890123", testPAN}, {"12a4", testPAN}, {"1234", "12345"}, {"1234", "40123456789x9"}} {
		if _, err := dukpt.FormatPIN0(bad.pin, bad.pan); err == nil {
			t.Errorf("FormatPIN0(%q, %q) accepted", bad.pin, bad.pan)
		}
	}
	if _, err := dukpt.ParsePIN0(b, testPAN); err == nil {
		t.Error("ParsePIN0 accepted a block for another PAN")
	}
}
