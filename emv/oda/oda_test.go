package oda_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vinr/cashlessd/emv/oda"
)

var today = time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)

// keys are fresh test keys: CA 1408 bits, issuer 1152, ICC 1024, so that
// both certificates need a remainder.
var keys = sync.OnceValues(func() ([3]oda.PrivateKey, error) {
	var out [3]oda.PrivateKey
	for i, bits := range []int{1408, 1152, 1024} {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			return out, err
		}
		n := bits / 8
		out[i] = oda.PrivateKey{
			PublicKey: oda.PublicKey{Modulus: k.N.FillBytes(make([]byte, n)), Exponent: big.NewInt(int64(k.E)).Bytes()},
			D:         k.D.FillBytes(make([]byte, n)),
		}
	}
	return out, nil
})

func testKeys(t *testing.T) (ca, issuer, icc oda.PrivateKey) {
	t.Helper()
	k, err := keys()
	if err != nil {
		t.Fatal(err)
	}
	return k[0], k[1], k[2]
}

const pan = "4761739001010010"

var static = []byte("records to be authenticated\x3C\x00")

func TestCertificateChain(t *testing.T) {
	t.Parallel()
	ca, issuer, icc := testKeys(t)
	cert, rem, err := oda.CertifyIssuer(ca, issuer.PublicKey, "476173", "1230", [3]byte{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(rem) == 0 {
		t.Fatal("issuer key should need a remainder")
	}
	ik, err := oda.RecoverIssuerKey(ca.PublicKey, cert, rem, issuer.Exponent, pan, today)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ik.Modulus, issuer.Modulus) {
		t.Fatal("recovered issuer modulus differs")
	}
	iccCert, iccRem, err := oda.CertifyICC(issuer, icc.PublicKey, pan, "1230", [3]byte{4, 5, 6}, static)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := oda.RecoverICCKey(ik, iccCert, iccRem, icc.Exponent, pan, static, today)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ck.Modulus, icc.Modulus) {
		t.Fatal("recovered ICC modulus differs")
	}

	flip := func(b []byte, i int) []byte { c := bytes.Clone(b); c[i] ^= 1; return c }
	expiredCert, expiredRem, _ := oda.CertifyIssuer(ca, issuer.PublicKey, "476173", "0226", [3]byte{})
	otherBIN, otherRem, _ := oda.CertifyIssuer(ca, issuer.PublicKey, "5555", "1230", [3]byte{})
	for _, c := range []struct {
		name           string
		cert, rem, exp []byte
		pan            string
	}{
		{"corrupted", flip(cert, 10), rem, issuer.Exponent, pan},
		{"short", cert[1:], rem, issuer.Exponent, pan},
		{"wrong remainder", cert, flip(rem, 0), issuer.Exponent, pan},
		{"no remainder", cert, nil, issuer.Exponent, pan},
		{"wrong exponent", cert, rem, []byte{3}, pan},
		{"other PAN", cert, rem, issuer.Exponent, "5555555555554444"},
		{"expired", expiredCert, expiredRem, issuer.Exponent, pan},
		{"issuer identifier", otherBIN, otherRem, issuer.Exponent, pan},
	} {
		if _, err := oda.RecoverIssuerKey(ca.PublicKey, c.cert, c.rem, c.exp, c.pan, today); !errors.Is(err, oda.ErrIssuerCertificate) {
			t.Errorf("issuer certificate %s: %v, want ErrIssuerCertificate", c.name, err)
		}
	}
	for _, c := range []struct {
		name         string
		cert, static []byte
		pan          string
	}{
		{"corrupted", flip(iccCert, 3), static, pan},
		{"other static data", iccCert, []byte("other"), pan},
		{"other PAN", iccCert, static, "4761739001010028"},
	} {
		if _, err := oda.RecoverICCKey(ik, c.cert, iccRem, icc.Exponent, c.pan, c.static, today); !errors.Is(err, oda.ErrICCCertificate) {
			t.Errorf("ICC certificate %s: %v, want ErrICCCertificate", c.name, err)
		}
	}
}

func TestStaticAndDynamicSignatures(t *testing.T) {
	t.Parallel()
	_, issuer, icc := testKeys(t)
	ssad, err := oda.SignStaticData(issuer, [2]byte{0xDA, 0xC1}, static)
	if err != nil {
		t.Fatal(err)
	}
	dac, err := oda.VerifyStaticData(issuer.PublicKey, ssad, static)
	if err != nil || !bytes.Equal(dac, []byte{0xDA, 0xC1}) {
		t.Fatalf("SDA: %X, %v", dac, err)
	}
	if _, err := oda.VerifyStaticData(issuer.PublicKey, ssad, append(bytes.Clone(static), 0)); !errors.Is(err, oda.ErrSignature) {
		t.Errorf("SDA over other data: %v", err)
	}
	if _, err := oda.VerifyStaticData(icc.PublicKey, ssad, static); !errors.Is(err, oda.ErrSignature) {
		t.Errorf("SDA with another key: %v", err)
	}

	un := []byte{1, 2, 3, 4}
	dyn := []byte{4, 0xAA, 0xBB, 0xCC, 0xDD}
	sdad, err := oda.SignDynamicData(icc, dyn, un)
	if err != nil {
		t.Fatal(err)
	}
	got, err := oda.VerifyDynamicData(icc.PublicKey, sdad, un)
	if err != nil || !bytes.Equal(got, dyn) {
		t.Fatalf("DDA: %X, %v", got, err)
	}
	if idn, err := oda.DynamicNumber(got); err != nil || !bytes.Equal(idn, dyn[1:]) {
		t.Fatalf("dynamic number %X, %v", idn, err)
	}
	if _, err := oda.VerifyDynamicData(icc.PublicKey, sdad, []byte{1, 2, 3, 5}); !errors.Is(err, oda.ErrSignature) {
		t.Errorf("DDA with another unpredictable number: %v", err)
	}

	txData := []byte("PDOL data, CDOL1 data, answer without 9F4B")
	ac := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	cdaSig, err := oda.SignDynamicData(icc, oda.CDADynamicData(dyn[1:], 0x80, ac, txData), un)
	if err != nil {
		t.Fatal(err)
	}
	res, err := oda.VerifyCDA(icc.PublicKey, cdaSig, un, 0x80, txData)
	if err != nil || !bytes.Equal(res.Cryptogram, ac) || !bytes.Equal(res.DynamicNumber, dyn[1:]) {
		t.Fatalf("CDA: %+v, %v", res, err)
	}
	if _, err := oda.VerifyCDA(icc.PublicKey, cdaSig, un, 0x40, txData); !errors.Is(err, oda.ErrSignature) {
		t.Errorf("CDA with another CID: %v", err)
	}
	if _, err := oda.VerifyCDA(icc.PublicKey, cdaSig, un, 0x80, txData[1:]); !errors.Is(err, oda.ErrSignature) {
		t.Errorf("CDA over other transaction data: %v", err)
	}
}

func TestCAPKTable(t *testing.T) {
	t.Parallel()
	rid := []byte{0xA0, 0, 0, 0, 3}
	list := oda.TestCAPKs()
	k, err := oda.NewKeys(list)
	if err != nil {
		t.Fatal(err)
	}
	if !k.HasTestKeys() || k.Len() != len(list) {
		t.Fatalf("table of %d keys, test %v", k.Len(), k.HasTestKeys())
	}
	if _, err := k.Find(rid, oda.TestIndex, today); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Find(rid, oda.TestIndexExpired, today); !errors.Is(err, oda.ErrKeyExpired) {
		t.Errorf("expired key: %v", err)
	}
	if _, err := k.Find(rid, oda.TestIndexMissing, today); !errors.Is(err, oda.ErrKeyMissing) {
		t.Errorf("missing key: %v", err)
	}
	if _, err := k.Find(rid, oda.TestIndexExpired, oda.TestCAPKExpired); err != nil {
		t.Errorf("a key is usable on its expiry date: %v", err)
	}
	var none *oda.Keys
	if _, err := none.Find(rid, oda.TestIndex, today); !errors.Is(err, oda.ErrKeyMissing) {
		t.Errorf("no table: %v", err)
	}

	b, err := oda.MarshalCAPKFile(list)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "capk.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	back, err := oda.LoadCAPKFile(path)
	if err != nil || len(back) != len(list) {
		t.Fatalf("%d keys back, %v", len(back), err)
	}
	wrong := slices.Clone(list)
	wrong[0].Checksum = bytes.Repeat([]byte{0x11}, 20)
	bad, err := oda.MarshalCAPKFile(wrong)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oda.ParseCAPKFile(bad); err == nil {
		t.Error("a file with a wrong checksum loads")
	}
	dup := append(slices.Clone(list), list[0])
	if _, err := oda.NewKeys(dup); err == nil {
		t.Error("a key given twice is accepted")
	}
}
