package oda

import (
	"errors"
	"fmt"
	"math/big"
)

// PublicKey is an RSA public key as EMV carries it: a big-endian modulus
// and exponent (3 or 2^16+1).
type PublicKey struct {
	Modulus  []byte
	Exponent []byte
}

// Len is the length of the modulus in bytes: the length of every
// certificate and signature made with the key.
func (k PublicKey) Len() int { return len(k.Modulus) }

// check rejects keys EMV does not allow (Book 2, 5.1 and 6.1: at most
// 248 bytes, exponent 3 or 65537).
func (k PublicKey) check() error {
	if len(k.Modulus) < 64 || len(k.Modulus) > 248 || k.Modulus[0] == 0 {
		return fmt.Errorf("oda: modulus of %d bytes", len(k.Modulus))
	}
	e := new(big.Int).SetBytes(k.Exponent).Int64()
	if e != 3 && e != 65537 {
		return fmt.Errorf("oda: exponent %X", k.Exponent)
	}
	return nil
}

// errRecovery is a signature the key cannot have made: wrong length, or
// not less than the modulus.
var errRecovery = errors.New("oda: signature does not fit the key")

// recover applies the public key to a signature (RSA verification with
// message recovery) and returns the recovered data, as long as the
// modulus.
func (k PublicKey) recover(sig []byte) ([]byte, error) {
	if err := k.check(); err != nil {
		return nil, err
	}
	if len(sig) != len(k.Modulus) {
		return nil, fmt.Errorf("%w: %d bytes for a %d-byte key", errRecovery, len(sig), len(k.Modulus))
	}
	n := new(big.Int).SetBytes(k.Modulus)
	s := new(big.Int).SetBytes(sig)
	if s.Cmp(n) >= 0 {
		return nil, errRecovery
	}
	m := new(big.Int).Exp(s, new(big.Int).SetBytes(k.Exponent), n)
	return m.FillBytes(make([]byte, len(k.Modulus))), nil
}

// PrivateKey is an RSA private key for the personalisation side: the
// simulator's test CA, issuer and cards. Terminals never hold one.
type PrivateKey struct {
	PublicKey
	// D is the private exponent, big-endian.
	D []byte
}

// sign applies the private key to data as long as the modulus (RSA
// signing with message recovery). It is plain modular exponentiation,
// not constant-time: it serves test keys only.
func (k PrivateKey) sign(m []byte) ([]byte, error) {
	if err := k.check(); err != nil {
		return nil, err
	}
	if len(m) != len(k.Modulus) {
		return nil, fmt.Errorf("oda: %d bytes to sign with a %d-byte key", len(m), len(k.Modulus))
	}
	n := new(big.Int).SetBytes(k.Modulus)
	x := new(big.Int).SetBytes(m)
	if x.Cmp(n) >= 0 {
		return nil, errors.New("oda: data to sign is not less than the modulus")
	}
	s := new(big.Int).Exp(x, new(big.Int).SetBytes(k.D), n)
	return s.FillBytes(make([]byte, len(k.Modulus))), nil
}
