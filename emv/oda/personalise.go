package oda

import (
	"bytes"
	"crypto/sha1"
	"fmt"
	"strings"
)

// This file is the issuer's and the card's side: making certificates and
// signatures. The simulator's virtual cards and the tests use it with
// test keys.

// CertifyIssuer makes an issuer public key certificate (90) under a CA
// private key (EMV Book 2, 5.1 table 2): issuerID is the leftmost 3 to 8
// digits of the PANs it covers, expiry MMYY. It returns the certificate
// and the issuer public key remainder (92), empty when the key fits.
func CertifyIssuer(ca PrivateKey, issuer PublicKey, issuerID, expiry string, serial [3]byte) (cert, remainder []byte, err error) {
	if len(issuerID) < 3 || len(issuerID) > 8 {
		return nil, nil, fmt.Errorf("oda: issuer identifier of %d digits", len(issuerID))
	}
	id, err := packF(issuerID, 4)
	if err != nil {
		return nil, nil, err
	}
	exp, err := packF(expiry, 2)
	if err != nil || len(expiry) != 4 {
		return nil, nil, fmt.Errorf("oda: expiry %q: want MMYY", expiry)
	}
	head := append([]byte{formatIssuerCert}, id...)
	head = append(head, exp...)
	head = append(head, serial[:]...)
	head = append(head, hashSHA1, algorithmRSA, byte(len(issuer.Modulus)), byte(len(issuer.Exponent)))
	return certify(ca, head, issuer, nil)
}

// CertifyICC makes an ICC public key certificate (9F46) under the issuer
// private key (EMV Book 2, 6.1 table 4) over the card's static data to be
// authenticated. It returns the certificate and the ICC public key
// remainder (9F48).
func CertifyICC(issuer PrivateKey, icc PublicKey, pan, expiry string, serial [3]byte, staticData []byte) (cert, remainder []byte, err error) {
	p, err := packF(pan, 10)
	if err != nil {
		return nil, nil, err
	}
	exp, err := packF(expiry, 2)
	if err != nil || len(expiry) != 4 {
		return nil, nil, fmt.Errorf("oda: expiry %q: want MMYY", expiry)
	}
	head := append([]byte{formatICCCert}, p...)
	head = append(head, exp...)
	head = append(head, serial[:]...)
	head = append(head, hashSHA1, algorithmRSA, byte(len(icc.Modulus)), byte(len(icc.Exponent)))
	return certify(issuer, head, icc, staticData)
}

// certify signs head, the leftmost part of the certified key (padded
// with BB), and a hash over them, the key's remainder and exponent and
// any extra data.
func certify(signer PrivateKey, head []byte, key PublicKey, extra []byte) (cert, remainder []byte, err error) {
	room := signer.Len() - 2 - len(head) - hashLen // header, trailer
	if room <= 0 {
		return nil, nil, fmt.Errorf("oda: %d-byte key cannot certify", signer.Len())
	}
	leftmost := key.Modulus
	if len(leftmost) > room {
		leftmost, remainder = key.Modulus[:room], bytes.Clone(key.Modulus[room:])
	}
	body := append(bytes.Clone(head), leftmost...)
	body = append(body, bytes.Repeat([]byte{padByte}, room-len(leftmost))...)
	h := sha1.New()
	h.Write(body)
	h.Write(remainder)
	h.Write(key.Exponent)
	h.Write(extra)
	cert, err = signer.sign(frame(body, h.Sum(nil)))
	return cert, remainder, err
}

// SignStaticData makes signed static application data (93) under the
// issuer private key (EMV Book 2, 5.1 table 3).
func SignStaticData(issuer PrivateKey, dac [2]byte, staticData []byte) ([]byte, error) {
	body := append([]byte{formatStatic, hashSHA1}, dac[:]...)
	body = append(body, bytes.Repeat([]byte{padByte}, issuer.Len()-2-len(body)-hashLen)...)
	h := sha1.New()
	h.Write(body)
	h.Write(staticData)
	return issuer.sign(frame(body, h.Sum(nil)))
}

// SignDynamicData makes signed dynamic application data (9F4B) under the
// ICC private key (EMV Book 2, 6.5.1 table 17) over the ICC dynamic data
// and the terminal's data (DDOL data for DDA, the unpredictable number
// for CDA).
func SignDynamicData(icc PrivateKey, iccDynamicData, terminalData []byte) ([]byte, error) {
	room := icc.Len() - 2 - 3 - hashLen
	if len(iccDynamicData) > room {
		return nil, fmt.Errorf("oda: %d bytes of ICC dynamic data do not fit", len(iccDynamicData))
	}
	body := append([]byte{formatDynamic, hashSHA1, byte(len(iccDynamicData))}, iccDynamicData...)
	body = append(body, bytes.Repeat([]byte{padByte}, room-len(iccDynamicData))...)
	h := sha1.New()
	h.Write(body)
	h.Write(terminalData)
	return icc.sign(frame(body, h.Sum(nil)))
}

// CDADynamicData is the ICC dynamic data of a CDA signature (EMV Book 2,
// 6.6.1 table 19): the ICC dynamic number, the cryptogram information
// data, the cryptogram and the transaction data hash code, which is
// SHA-1 over the transaction data (see VerifyCDA).
func CDADynamicData(idn []byte, cid byte, cryptogram, transactionData []byte) []byte {
	sum := sha1.Sum(transactionData)
	out := append([]byte{byte(len(idn))}, idn...)
	out = append(out, cid)
	out = append(out, cryptogram...)
	return append(out, sum[:]...)
}

// frame puts header and trailer around the body and its hash.
func frame(body, hash []byte) []byte {
	out := append([]byte{recoveredHeader}, body...)
	out = append(out, hash...)
	return append(out, recoveredTrailer)
}

// packF packs decimal digits into n bytes, padded on the right with F.
func packF(digits string, n int) ([]byte, error) {
	if len(digits) > 2*n || strings.Trim(digits, "0123456789") != "" {
		return nil, fmt.Errorf("oda: %q does not fit %d bytes of digits", digits, n)
	}
	s := digits + strings.Repeat("F", 2*n-len(digits))
	out := make([]byte, n)
	for i := range out {
		out[i] = nibble(s[2*i])<<4 | nibble(s[2*i+1])
	}
	return out, nil
}

func nibble(c byte) byte {
	if c == 'F' {
		return 0x0F
	}
	return c - '0'
}
