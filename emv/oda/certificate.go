package oda

import (
	"bytes"
	"crypto/sha1"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"
)

// Errors of offline data authentication. Each wraps a more precise reason.
var (
	// ErrKeyMissing: the terminal has no CA public key with the card's
	// RID and index (8F), or the card names none.
	ErrKeyMissing = errors.New("oda: certification authority public key not found")
	// ErrKeyExpired: the terminal's CA public key is past its expiry date.
	ErrKeyExpired = errors.New("oda: certification authority public key expired")
	// ErrIssuerCertificate: the issuer public key certificate (90) does
	// not recover, or its contents are wrong (format, hash, issuer
	// identifier, expiry, algorithms).
	ErrIssuerCertificate = errors.New("oda: issuer public key certificate invalid")
	// ErrICCCertificate: the same for the ICC public key certificate
	// (9F46).
	ErrICCCertificate = errors.New("oda: ICC public key certificate invalid")
	// ErrSignature: the signed static (93) or dynamic (9F4B) application
	// data does not verify.
	ErrSignature = errors.New("oda: signature invalid")
)

// Header, trailer and formats of recovered data (EMV Book 2, tables 6, 7,
// 14, 15, 17, 22).
const (
	recoveredHeader  = 0x6A
	recoveredTrailer = 0xBC
	formatIssuerCert = 0x02
	formatICCCert    = 0x04
	formatStatic     = 0x03
	formatDynamic    = 0x05
	hashSHA1         = 0x01
	algorithmRSA     = 0x01
	padByte          = 0xBB
	hashLen          = sha1.Size
)

// RecoverIssuerKey recovers the issuer public key from its certificate
// (90) with the CA public key, and checks it as EMV Book 2, 5.3 and 6.3
// say: header, format 02, trailer, the SHA-1 hash over the certificate
// data, the remainder (92) and the exponent (9F32), the issuer identifier
// against the leftmost digits of the PAN, the expiry date against today,
// and the algorithm indicators. The certificate serial number is not
// checked against a revocation list (the terminal keeps none).
func RecoverIssuerKey(ca PublicKey, cert, remainder, exponent []byte, pan string, today time.Time) (PublicKey, error) {
	x, err := ca.recover(cert)
	if err != nil {
		return PublicKey{}, fmt.Errorf("%w: %v", ErrIssuerCertificate, err)
	}
	n := len(x)
	if x[0] != recoveredHeader || x[n-1] != recoveredTrailer || x[1] != formatIssuerCert {
		return PublicKey{}, fmt.Errorf("%w: header, trailer or format wrong", ErrIssuerCertificate)
	}
	if !hashMatches(x[n-1-hashLen:n-1], x[1:n-1-hashLen], remainder, exponent) {
		return PublicKey{}, fmt.Errorf("%w: hash does not match", ErrIssuerCertificate)
	}
	if id := fDigits(x[2:6]); len(id) < 3 || len(id) > 8 || len(pan) < len(id) || pan[:len(id)] != id {
		return PublicKey{}, fmt.Errorf("%w: issuer identifier does not match the PAN", ErrIssuerCertificate)
	}
	if expired(x[6:8], today) {
		return PublicKey{}, fmt.Errorf("%w: expired %X", ErrIssuerCertificate, x[6:8])
	}
	if x[11] != hashSHA1 || x[12] != algorithmRSA {
		return PublicKey{}, fmt.Errorf("%w: algorithm %02X/%02X", ErrIssuerCertificate, x[11], x[12])
	}
	key, err := assembleKey(x[15:n-1-hashLen], int(x[13]), int(x[14]), remainder, exponent)
	if err != nil {
		return PublicKey{}, fmt.Errorf("%w: %v", ErrIssuerCertificate, err)
	}
	return key, nil
}

// RecoverICCKey recovers the ICC public key from its certificate (9F46)
// with the issuer public key, and checks it as EMV Book 2, 6.4 says:
// format 04, the hash over the certificate data, the remainder (9F48),
// the exponent (9F47) and the static data to be authenticated, the PAN,
// the expiry date and the algorithm indicators.
func RecoverICCKey(issuer PublicKey, cert, remainder, exponent []byte, pan string, staticData []byte, today time.Time) (PublicKey, error) {
	x, err := issuer.recover(cert)
	if err != nil {
		return PublicKey{}, fmt.Errorf("%w: %v", ErrICCCertificate, err)
	}
	n := len(x)
	if n < 42 || x[0] != recoveredHeader || x[n-1] != recoveredTrailer || x[1] != formatICCCert {
		return PublicKey{}, fmt.Errorf("%w: header, trailer or format wrong", ErrICCCertificate)
	}
	if !hashMatches(x[n-1-hashLen:n-1], x[1:n-1-hashLen], remainder, exponent, staticData) {
		return PublicKey{}, fmt.Errorf("%w: hash does not match", ErrICCCertificate)
	}
	if fDigits(x[2:12]) != pan {
		return PublicKey{}, fmt.Errorf("%w: PAN does not match", ErrICCCertificate)
	}
	if expired(x[12:14], today) {
		return PublicKey{}, fmt.Errorf("%w: expired %X", ErrICCCertificate, x[12:14])
	}
	if x[17] != hashSHA1 || x[18] != algorithmRSA {
		return PublicKey{}, fmt.Errorf("%w: algorithm %02X/%02X", ErrICCCertificate, x[17], x[18])
	}
	key, err := assembleKey(x[21:n-1-hashLen], int(x[19]), int(x[20]), remainder, exponent)
	if err != nil {
		return PublicKey{}, fmt.Errorf("%w: %v", ErrICCCertificate, err)
	}
	return key, nil
}

// assembleKey builds a recovered public key from the leftmost digits in
// the certificate and the remainder: when the key is longer than the
// room in the certificate the remainder holds the rest, else the
// certificate's field is padded with BB.
func assembleKey(leftmost []byte, keyLen, expLen int, remainder, exponent []byte) (PublicKey, error) {
	if len(exponent) != expLen || (expLen != 1 && expLen != 3) {
		return PublicKey{}, fmt.Errorf("exponent of %d bytes, certificate says %d", len(exponent), expLen)
	}
	var mod []byte
	if keyLen <= len(leftmost) {
		mod = bytes.Clone(leftmost[:keyLen])
	} else {
		if len(remainder) != keyLen-len(leftmost) {
			return PublicKey{}, fmt.Errorf("remainder of %d bytes, want %d", len(remainder), keyLen-len(leftmost))
		}
		mod = append(bytes.Clone(leftmost), remainder...)
	}
	k := PublicKey{Modulus: mod, Exponent: bytes.Clone(exponent)}
	if err := k.check(); err != nil {
		return PublicKey{}, err
	}
	return k, nil
}

// hashMatches compares a recovered SHA-1 hash with the hash of the parts.
func hashMatches(want []byte, parts ...[]byte) bool {
	h := sha1.New()
	for _, p := range parts {
		h.Write(p)
	}
	return subtle.ConstantTimeCompare(h.Sum(nil), want) == 1
}

// fDigits reads compressed numeric digits up to the first F padding
// nibble; any other non-digit nibble makes it "".
func fDigits(b []byte) string {
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		for _, d := range [2]byte{c >> 4, c & 0x0F} {
			switch {
			case d <= 9:
				out = append(out, '0'+d)
			case d == 0x0F:
				return string(out)
			default:
				return ""
			}
		}
	}
	return string(out)
}

// expired reports whether a certificate expiry date (MMYY, BCD) lies
// before today's month: a certificate is valid to the end of its month.
func expired(mmyy []byte, today time.Time) bool {
	d := fDigits(mmyy)
	if len(d) != 4 {
		return true
	}
	month := int(d[0]-'0')*10 + int(d[1]-'0')
	year := 2000 + int(d[2]-'0')*10 + int(d[3]-'0')
	if month < 1 || month > 12 {
		return true
	}
	return year*12+month < today.Year()*12+int(today.Month())
}
