package oda_test

import (
	"bytes"
	"crypto/rand"
	"math/big"
	"testing"

	"github.com/vinr/cashlessd/emv/oda"
)

// keyE3 makes an RSA key with public exponent 3, as most production CA
// keys have (crypto/rsa only makes 65537).
func keyE3(t *testing.T, bits int) oda.PrivateKey {
	t.Helper()
	three, one := big.NewInt(3), big.NewInt(1)
	for {
		p, err := rand.Prime(rand.Reader, bits/2)
		if err != nil {
			t.Fatal(err)
		}
		q, err := rand.Prime(rand.Reader, bits/2)
		if err != nil {
			t.Fatal(err)
		}
		n := new(big.Int).Mul(p, q)
		if p.Cmp(q) == 0 || n.BitLen() != bits {
			continue
		}
		phi := new(big.Int).Mul(new(big.Int).Sub(p, one), new(big.Int).Sub(q, one))
		d := new(big.Int).ModInverse(three, phi)
		if d == nil {
			continue
		}
		size := bits / 8
		return oda.PrivateKey{PublicKey: oda.PublicKey{Modulus: n.FillBytes(make([]byte, size)), Exponent: []byte{3}},
			D: d.FillBytes(make([]byte, size))}
	}
}

func TestExponentThree(t *testing.T) {
	t.Parallel()
	ca, issuer, icc := keyE3(t, 1024), keyE3(t, 704), keyE3(t, 512)
	cert, rem, err := oda.CertifyIssuer(ca, issuer.PublicKey, "4761", "1230", [3]byte{})
	if err != nil {
		t.Fatal(err)
	}
	ik, err := oda.RecoverIssuerKey(ca.PublicKey, cert, rem, []byte{3}, pan, today)
	if err != nil || !bytes.Equal(ik.Modulus, issuer.Modulus) {
		t.Fatalf("issuer key: %v", err)
	}
	iccCert, iccRem, err := oda.CertifyICC(issuer, icc.PublicKey, pan, "1230", [3]byte{}, static)
	if err != nil {
		t.Fatal(err)
	}
	if len(rem) != 0 || len(iccRem) == 0 {
		t.Errorf("remainders: issuer %d bytes (key fits), ICC %d bytes", len(rem), len(iccRem))
	}
	ck, err := oda.RecoverICCKey(ik, iccCert, iccRem, []byte{3}, pan, static, today)
	if err != nil || !bytes.Equal(ck.Modulus, icc.Modulus) {
		t.Fatalf("ICC key: %v", err)
	}
	sig, err := oda.SignDynamicData(icc, []byte{2, 0xAB, 0xCD}, []byte{9, 9, 9, 9})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oda.VerifyDynamicData(ck, sig, []byte{9, 9, 9, 9}); err != nil {
		t.Fatal(err)
	}
}

// FuzzRecovery feeds arbitrary certificates and signatures to the
// verifiers: they must fail cleanly, never panic.
func FuzzRecovery(f *testing.F) {
	k, err := keys()
	if err != nil {
		f.Fatal(err)
	}
	ca, issuer, icc := k[0], k[1], k[2]
	cert, rem, _ := oda.CertifyIssuer(ca, issuer.PublicKey, "476173", "1230", [3]byte{})
	f.Add(cert, rem)
	f.Add([]byte{0x6A}, []byte{})
	f.Fuzz(func(t *testing.T, sig, extra []byte) {
		_, _ = oda.RecoverIssuerKey(ca.PublicKey, sig, extra, issuer.Exponent, pan, today)
		_, _ = oda.RecoverICCKey(issuer.PublicKey, sig, extra, icc.Exponent, pan, extra, today)
		_, _ = oda.VerifyStaticData(issuer.PublicKey, sig, extra)
		_, _ = oda.VerifyCDA(icc.PublicKey, sig, extra, 0x80, extra)
		_, _ = oda.DynamicNumber(extra)
	})
}
