package oda

import (
	"bytes"
	"fmt"
)

// VerifyStaticData checks signed static application data (93) with the
// issuer public key over the static data to be authenticated (EMV Book 2,
// 5.4) and returns the data authentication code (9F45).
func VerifyStaticData(issuer PublicKey, ssad, staticData []byte) ([]byte, error) {
	x, err := issuer.recover(ssad)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSignature, err)
	}
	n := len(x)
	if n < 26 || x[0] != recoveredHeader || x[n-1] != recoveredTrailer || x[1] != formatStatic || x[2] != hashSHA1 {
		return nil, fmt.Errorf("%w: signed static data header, trailer or format wrong", ErrSignature)
	}
	if !hashMatches(x[n-1-hashLen:n-1], x[1:n-1-hashLen], staticData) {
		return nil, fmt.Errorf("%w: signed static data hash does not match", ErrSignature)
	}
	return bytes.Clone(x[3:5]), nil
}

// VerifyDynamicData checks signed dynamic application data (9F4B) with
// the ICC public key over the terminal's data (EMV Book 2, 6.5.2: the DDOL
// data for DDA; 6.6.2: the unpredictable number for CDA) and returns the
// ICC dynamic data it carries.
func VerifyDynamicData(icc PublicKey, sdad, terminalData []byte) ([]byte, error) {
	x, err := icc.recover(sdad)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSignature, err)
	}
	n := len(x)
	if n < 26 || x[0] != recoveredHeader || x[n-1] != recoveredTrailer || x[1] != formatDynamic || x[2] != hashSHA1 {
		return nil, fmt.Errorf("%w: signed dynamic data header, trailer or format wrong", ErrSignature)
	}
	ldd := int(x[3])
	if 4+ldd > n-1-hashLen {
		return nil, fmt.Errorf("%w: ICC dynamic data of %d bytes does not fit", ErrSignature, ldd)
	}
	if !hashMatches(x[n-1-hashLen:n-1], x[1:n-1-hashLen], terminalData) {
		return nil, fmt.Errorf("%w: signed dynamic data hash does not match", ErrSignature)
	}
	return bytes.Clone(x[4 : 4+ldd]), nil
}

// DynamicNumber returns the ICC dynamic number (9F4C) at the start of
// ICC dynamic data: its length byte (2 to 8) and the number.
func DynamicNumber(iccDynamicData []byte) ([]byte, error) {
	if len(iccDynamicData) < 1 {
		return nil, fmt.Errorf("%w: empty ICC dynamic data", ErrSignature)
	}
	l := int(iccDynamicData[0])
	if l < 2 || l > 8 || len(iccDynamicData) < 1+l {
		return nil, fmt.Errorf("%w: ICC dynamic number of %d bytes", ErrSignature, l)
	}
	return bytes.Clone(iccDynamicData[1 : 1+l]), nil
}

// CDAResult is what a verified CDA signature vouches for.
type CDAResult struct {
	DynamicNumber []byte // 9F4C
	Cryptogram    []byte // 9F26, which a CDA answer carries only here
}

// VerifyCDA checks the signed dynamic application data of a GENERATE AC
// answer (EMV Book 2, 6.6.2): the signature over the unpredictable number
// (9F37), the cryptogram information data in the signature against the
// one in the answer, and the transaction data hash code against the hash
// of the transaction data (TransactionDataHash). It returns the ICC
// dynamic number and the application cryptogram.
func VerifyCDA(icc PublicKey, sdad, unpredictable []byte, cid byte, transactionData []byte) (CDAResult, error) {
	dyn, err := VerifyDynamicData(icc, sdad, unpredictable)
	if err != nil {
		return CDAResult{}, err
	}
	idn, err := DynamicNumber(dyn)
	if err != nil {
		return CDAResult{}, err
	}
	rest := dyn[1+len(idn):]
	if len(rest) < 1+8+hashLen {
		return CDAResult{}, fmt.Errorf("%w: CDA dynamic data too short", ErrSignature)
	}
	if rest[0] != cid {
		return CDAResult{}, fmt.Errorf("%w: signed CID %02X, answer says %02X", ErrSignature, rest[0], cid)
	}
	if !hashMatches(rest[9:9+hashLen], transactionData) {
		return CDAResult{}, fmt.Errorf("%w: transaction data hash does not match", ErrSignature)
	}
	return CDAResult{DynamicNumber: idn, Cryptogram: bytes.Clone(rest[1:9])}, nil
}
