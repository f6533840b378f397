// Package dukpt implements TDES DUKPT (Derived Unique Key Per
// Transaction) as ANSI X9.24-1:2009 defines it, for double-length
// (16-byte) keys, and ISO 9564-1 format 0 PIN blocks.
//
// A PIN pad holds an initial key (IPEK) derived from a base derivation
// key (BDK) and its initial key serial number (KSN); for each PIN it
// increments the 21-bit transaction counter in the KSN, derives the
// transaction key for that counter, takes its PIN variant and encrypts the
// PIN block under it (TDES, ECB), and sends the block with the KSN. The
// host, which holds the BDK (in an HSM, in production), derives the same
// key from the KSN and decrypts.
//
// The reader simulator uses it as a PIN pad; tests use it as the host. The
// terminal driver never needs it: it carries the encrypted block and the
// KSN through. No github.com/moov-io/dukpt release could be fetched from
// the module proxy, so this is written from the standard and checked
// against the test vectors of X9.24-1:2009 Annex A (BDK
// 0123456789ABCDEFFEDCBA9876543210, KSN FFFF9876543210E00000).
//
// Keys are returned in fresh slices that the caller should clear when
// done. Nothing here logs or keeps keys.
package dukpt

import (
	"crypto/des"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
)

// Sizes.
const (
	KeyLen   = 16 // double-length TDES key
	KSNLen   = 10 // key serial number, 80 bits
	BlockLen = 8  // TDES block, and PIN block
)

// Counter limits.
const (
	// CounterBits is the width of the transaction counter: the rightmost
	// 21 bits of the KSN.
	CounterBits = 21
	// MaxOnes is the most 1 bits a transaction counter may have (X9.24:
	// counters with more are skipped, so that a key is at most ten
	// one-way steps from the initial key).
	MaxOnes = 10
)

// ErrExhausted means the transaction counter cannot advance: the PIN pad
// has used all its keys and must be loaded with a new initial key.
var ErrExhausted = errors.New("dukpt: transaction counter exhausted")

// keyMask is XORed with a key to make the second half of the initial key
// and in each one-way step (X9.24-1:2009 A.6 and A.2).
func keyMask() [KeyLen]byte {
	return [KeyLen]byte{0xC0, 0xC0, 0xC0, 0xC0, 0, 0, 0, 0, 0xC0, 0xC0, 0xC0, 0xC0, 0, 0, 0, 0}
}

// InitialKey derives the initial PIN encryption key (IPEK) of the PIN pad
// whose initial KSN is ksn from the base derivation key bdk. The counter
// bits of ksn are ignored.
func InitialKey(bdk, ksn []byte) ([]byte, error) {
	if len(bdk) != KeyLen {
		return nil, fmt.Errorf("dukpt: BDK of %d bytes, want %d", len(bdk), KeyLen)
	}
	if len(ksn) != KSNLen {
		return nil, fmt.Errorf("dukpt: KSN of %d bytes, want %d", len(ksn), KSNLen)
	}
	// The leftmost 64 bits of the KSN with the counter's bits (the low
	// five of byte 7) cleared.
	var reg [BlockLen]byte
	copy(reg[:], ksn[:8])
	reg[7] &= 0xE0

	ik := make([]byte, KeyLen)
	if err := tdesEncrypt(ik[:8], bdk, reg[:]); err != nil {
		return nil, err
	}
	m := keyMask()
	var k2 [KeyLen]byte
	for i := range k2 {
		k2[i] = bdk[i] ^ m[i]
	}
	defer clear(k2[:])
	if err := tdesEncrypt(ik[8:], k2[:], reg[:]); err != nil {
		return nil, err
	}
	return ik, nil
}

// TransactionKey derives the key for ksn's transaction counter from the
// initial key ik: for each 1 bit of the counter, from the highest, that
// bit is set in a register holding the rightmost 64 bits of the KSN with
// the counter cleared, and the key goes through the one-way function with
// the register (X9.24-1:2009 A.3, as the host computes it). The result is
// the key before any variant; see PINKey.
func TransactionKey(ik, ksn []byte) ([]byte, error) {
	if len(ik) != KeyLen {
		return nil, fmt.Errorf("dukpt: initial key of %d bytes, want %d", len(ik), KeyLen)
	}
	if len(ksn) != KSNLen {
		return nil, fmt.Errorf("dukpt: KSN of %d bytes, want %d", len(ksn), KSNLen)
	}
	counter := Counter(ksn)
	var reg [BlockLen]byte
	copy(reg[:], ksn[2:])
	binary.BigEndian.PutUint64(reg[:], binary.BigEndian.Uint64(reg[:])&^(1<<CounterBits-1))

	key := make([]byte, KeyLen)
	copy(key, ik)
	for bit := uint32(1) << (CounterBits - 1); bit != 0; bit >>= 1 {
		if counter&bit == 0 {
			continue
		}
		binary.BigEndian.PutUint64(reg[:], binary.BigEndian.Uint64(reg[:])|uint64(bit))
		if err := oneWay(key, reg[:]); err != nil {
			clear(key)
			return nil, err
		}
	}
	return key, nil
}

// oneWay is the non-reversible key generation process (X9.24-1:2009 A.2):
// key becomes the next key for the register reg.
func oneWay(key, reg []byte) error {
	var right, left [BlockLen]byte
	// Right half: DES(keyL, reg XOR keyR) XOR keyR.
	if err := desStep(right[:], key[:8], key[8:], reg); err != nil {
		return err
	}
	// Left half: the same with the key XOR C0C0C0C000000000C0C0C0C000000000.
	m := keyMask()
	var k2 [KeyLen]byte
	for i := range k2 {
		k2[i] = key[i] ^ m[i]
	}
	defer clear(k2[:])
	if err := desStep(left[:], k2[:8], k2[8:], reg); err != nil {
		return err
	}
	copy(key[:8], left[:])
	copy(key[8:], right[:])
	clear(left[:])
	clear(right[:])
	return nil
}

// desStep sets dst to DES(kl, reg XOR kr) XOR kr.
func desStep(dst, kl, kr, reg []byte) error {
	c, err := des.NewCipher(kl)
	if err != nil {
		return err
	}
	var x [BlockLen]byte
	for i := range x {
		x[i] = reg[i] ^ kr[i]
	}
	c.Encrypt(dst, x[:])
	for i := range BlockLen {
		dst[i] ^= kr[i]
	}
	return nil
}

// PINVariant returns key XOR 00000000000000FF00000000000000FF, the PIN
// encryption variant of a transaction key (X9.24-1:2009 A.4.1).
func PINVariant(key []byte) []byte {
	v := append([]byte(nil), key...)
	if len(v) == KeyLen {
		v[7] ^= 0xFF
		v[15] ^= 0xFF
	}
	return v
}

// PINKey derives, host side, the PIN encryption key for ksn from the base
// derivation key: the PIN variant of the transaction key.
func PINKey(bdk, ksn []byte) ([]byte, error) {
	ik, err := InitialKey(bdk, ksn)
	if err != nil {
		return nil, err
	}
	defer clear(ik)
	tk, err := TransactionKey(ik, ksn)
	if err != nil {
		return nil, err
	}
	defer clear(tk)
	return PINVariant(tk), nil
}

// Counter returns the transaction counter: the rightmost 21 bits of ksn.
func Counter(ksn []byte) uint32 {
	if len(ksn) != KSNLen {
		return 0
	}
	return uint32(ksn[7]&0x1F)<<16 | uint32(ksn[8])<<8 | uint32(ksn[9])
}

// WithCounter returns a copy of ksn with its transaction counter set to c.
func WithCounter(ksn []byte, c uint32) []byte {
	out := append([]byte(nil), ksn...)
	if len(out) == KSNLen {
		out[7] = out[7]&0xE0 | byte(c>>16)&0x1F
		out[8] = byte(c >> 8)
		out[9] = byte(c)
	}
	return out
}

// NextKSN returns the KSN a PIN pad uses next after ksn: the counter
// advanced to the next value with at most MaxOnes 1 bits (X9.24: a
// counter with more is skipped by adding its lowest 1 bit). It returns
// ErrExhausted when the counter would overflow its 21 bits.
func NextKSN(ksn []byte) ([]byte, error) {
	if len(ksn) != KSNLen {
		return nil, fmt.Errorf("dukpt: KSN of %d bytes, want %d", len(ksn), KSNLen)
	}
	c := Counter(ksn) + 1
	for bits.OnesCount32(c) > MaxOnes {
		c += c & -c
	}
	if c >= 1<<CounterBits {
		return nil, ErrExhausted
	}
	return WithCounter(ksn, c), nil
}

// EncryptPINBlock encrypts an 8-byte PIN block under a PIN key (TDES,
// ECB, double-length key).
func EncryptPINBlock(pinKey, block []byte) ([]byte, error) {
	if len(block) != BlockLen {
		return nil, fmt.Errorf("dukpt: PIN block of %d bytes, want %d", len(block), BlockLen)
	}
	out := make([]byte, BlockLen)
	if err := tdesEncrypt(out, pinKey, block); err != nil {
		return nil, err
	}
	return out, nil
}

// DecryptPINBlock decrypts an 8-byte encrypted PIN block with a PIN key.
func DecryptPINBlock(pinKey, block []byte) ([]byte, error) {
	if len(block) != BlockLen {
		return nil, fmt.Errorf("dukpt: PIN block of %d bytes, want %d", len(block), BlockLen)
	}
	c, err := tdes(pinKey)
	if err != nil {
		return nil, err
	}
	out := make([]byte, BlockLen)
	c.Decrypt(out, block)
	return out, nil
}

// tdesEncrypt encrypts one block under a double-length key (K1 K2 K1).
func tdesEncrypt(dst, key, src []byte) error {
	c, err := tdes(key)
	if err != nil {
		return err
	}
	c.Encrypt(dst, src)
	return nil
}

type blockCipher interface {
	Encrypt(dst, src []byte)
	Decrypt(dst, src []byte)
}

func tdes(key []byte) (blockCipher, error) {
	if len(key) != KeyLen {
		return nil, fmt.Errorf("dukpt: key of %d bytes, want %d", len(key), KeyLen)
	}
	var k [24]byte
	copy(k[:], key)
	copy(k[16:], key[:8])
	defer clear(k[:])
	return des.NewTripleDESCipher(k[:])
}
