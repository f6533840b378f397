package oda

import (
	"encoding/hex"
	"time"
)

// The simulator's test certification authority. It is NOT an EMVCo key:
// EMVCo publishes test CA public keys but not their private keys, so the
// simulator has its own CA, whose private key is a test fixture of the
// virtual cards (emv/card). Its public key is registered under every
// supported scheme's RID at index E1 (valid until TestCAPKExpiry) and at
// index E2 (expired, for the test card whose CA key has expired). Index
// E3 is never registered (the test card whose CA key is missing). Keys of
// this table are marked Test; a production terminal refuses them.
const testCAModulus = "" +
	"C54738943536DD385BFED27E8371CD41CFB0BC57C1356F338DAC11E9BB89799A" +
	"B208BA6A683665CF8601A825E2C4776306C2C32F13576697BACDE84B02523254" +
	"503BD57468FB3CBA703516C4517EED86C8FA6F4484D0A29A90B148A27980CB84" +
	"9D003CAA46547ABA1CA8C191E4B4A21235D429885B12C4CC23624CDA6CF90001" +
	"180250326C61B0A5644728249BD1F10713BE85302CD3FCF51AE153706AF9B1BE" +
	"10B1CDAB0C8A6B6402D651B3594123A1"

// Test CA key indexes (tag 8F on the simulator's cards).
const (
	TestIndex        byte = 0xE1 // valid
	TestIndexExpired byte = 0xE2 // expired on TestCAPKExpired
	TestIndexMissing byte = 0xE3 // in no table
)

// Expiry dates of the test CA keys.
var (
	TestCAPKExpiry  = time.Date(2049, 12, 31, 0, 0, 0, 0, time.UTC)
	TestCAPKExpired = time.Date(2020, 12, 31, 0, 0, 0, 0, time.UTC)
)

// testRIDs are the RIDs the test CA key is registered under: Visa,
// Mastercard (and Maestro), American Express, Discover, JCB, UnionPay and
// Interac.
var testRIDs = []string{"A000000003", "A000000004", "A000000025", "A000000152", "A000000065", "A000000333", "A000000277"}

// TestCAPublicKey is the public key of the simulator's test CA.
func TestCAPublicKey() PublicKey {
	m, _ := hex.DecodeString(testCAModulus)
	return PublicKey{Modulus: m, Exponent: []byte{0x01, 0x00, 0x01}}
}

// TestCAPKs is the simulator's CA public key table: the test CA under
// every RID at index E1 and, expired, at index E2. All are marked Test.
func TestCAPKs() []CAPK {
	var out []CAPK
	for _, r := range testRIDs {
		rid, _ := hex.DecodeString(r)
		for _, e := range []struct {
			index  byte
			expiry time.Time
		}{{TestIndex, TestCAPKExpiry}, {TestIndexExpired, TestCAPKExpired}} {
			c := NewCAPK(rid, e.index, TestCAPublicKey(), e.expiry)
			c.Test = true
			out = append(out, c)
		}
	}
	return out
}
