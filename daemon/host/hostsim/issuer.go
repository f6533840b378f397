package hostsim

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/vinr/cashlessd/daemon/host"
	"github.com/vinr/cashlessd/emv"
	"github.com/vinr/cashlessd/emv/card"
	"github.com/vinr/cashlessd/emv/reader/dukpt"
	"github.com/vinr/cashlessd/emv/reader/virtual"
)

// Transaction kinds as the ledger names them.
const (
	kindSale       = "sale"
	kindPreauth    = "preauth"
	kindCompletion = "completion"
	kindRefund     = "refund"
)

// kindOf tells a financial request's kind from its MTI and processing code.
func kindOf(mti, proc string) string {
	switch {
	case mti == host.MTIAuthRequest && proc == host.ProcPurchase:
		return kindPreauth
	case mti == host.MTIFinancialRequest && proc == host.ProcPurchase:
		return kindSale
	case mti == host.MTIFinancialRequest && proc == host.ProcRefund:
		return kindRefund
	case mti == host.MTIAdvice && proc == host.ProcPurchase:
		return kindCompletion
	}
	return ""
}

// issuerDecision answers a card like its issuer would: test cards decline
// with their code, every other card is approved.
func issuerDecision(pan string) string {
	switch pan {
	case "4000000000000002":
		return host.RCDoNotHonour
	case "4000000000009995":
		return host.RCInsufficientFunds
	case "4000000000000069":
		return host.RCExpiredCard
	case "4000000000000127":
		return host.RCIncorrectPIN
	case "4000000000000119":
		return host.RCSystemMalfunction
	}
	return host.RCApproved
}

// authCodeChars leaves out letters that read like digits.
const authCodeChars = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"

// newAuthCode returns a 6-character approval code.
func newAuthCode() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = authCodeChars[int(b[i])%len(authCodeChars)]
	}
	return string(b)
}

// newRRN returns a 12-digit retrieval reference number: last digit of the
// year, day of the year, and eight digits of the host's sequence.
func newRRN(now time.Time, seq uint64) string {
	return fmt.Sprintf("%d%03d%08d", now.Year()%10, now.YearDay(), seq%100_000_000)
}

// issuerData is field 55 of an answer to a chip request: tag 91, issuer
// authentication data (an 8-byte ARPC stand-in and the 2-character
// authorisation response code) for the card's second GENERATE AC.
func issuerData(pan string, icc []byte, rc string) []byte {
	// The issuer knows its cards' keys: for the simulator's cards that is
	// the card image's key, so the ARPC verifies on the card.
	img, err := card.ForPAN(pan)
	if err != nil {
		return nil
	}
	arqc, ok := emv.Find(icc, emv.TagCryptogram)
	if !ok {
		return nil
	}
	return emv.AppendTLV(nil, emv.TagIssuerAuthData, card.IssuerAuthenticationData(img.CardKey(), arqc, rc))
}

// pinMatches is the issuer's online PIN check: the PIN pad's block is
// deciphered under the simulator's DUKPT key (the X9.24 test BDK, as the
// virtual reader uses) and compared with the card's PIN (the card image's,
// or 1234). The clear PIN lives only in this function.
func pinMatches(pan string, block, ksn []byte) bool {
	bdk, _ := hex.DecodeString(virtual.TestBDK)
	key, err := dukpt.PINKey(bdk, ksn)
	if err != nil {
		return false
	}
	plain, err := dukpt.DecryptPINBlock(key, block)
	if err != nil {
		return false
	}
	pin, err := dukpt.ParsePIN0(plain, pan)
	clear(plain)
	if err != nil {
		return false
	}
	want := "1234"
	if img, err := card.ForPAN(pan); err == nil && img.PIN != "" {
		want = img.PIN
	}
	return subtle.ConstantTimeCompare([]byte(pin), []byte(want)) == 1
}
