package hostsim

import (
	"strconv"

	"github.com/vinr/cashlessd/daemon/host"
	"github.com/vinr/cashlessd/emv"
)

// Test amounts pick the host's answer, so an integrator's tests need no
// /simulator/v1/host call: a sale or pre-auth of a total from
// TestAmountMin to TestAmountMax (900.00 to 900.99 in a currency with two
// decimals) is answered by its last two digits. A test card with its own
// answer (a decline card, a wrong PIN) keeps it; amounts outside the range
// are never touched. The simulated cardholder reads the same amounts for
// the card's behaviour (daemon/sim).
const (
	TestAmountMin = 90000
	TestAmountMax = 90099
)

// Host answers by the last two digits of a test amount.
const (
	// TestDoNotHonour is declined 05 (card_declined).
	TestDoNotHonour = 5
	// TestInsufficientFunds is declined 51 (insufficient_funds).
	TestInsufficientFunds = 51
	// TestExpiredCard is declined 54 (expired_card).
	TestExpiredCard = 54
	// TestTooLate is approved and booked, but the answer never comes: the
	// terminal gives up after its host timeout and reverses it.
	TestTooLate = 68
	// TestIssuerUnavailable is answered 91 (issuer unavailable): nothing
	// is charged and the terminal reports a communication error.
	TestIssuerUnavailable = 91
	// TestScript is approved, and the answer to a chip request carries an
	// issuer script (template 72, run after the second GENERATE AC: one
	// PUT DATA) that the card runs: issuer script results 20 and the
	// script identifier TestScriptID(TestScript).
	TestScript = 72
	// TestScriptFailing is approved with a script whose second command
	// the card refuses (an instruction it does not know): results 12 and
	// the script identifier.
	TestScriptFailing = 73
	// TestScriptMalformed is approved with a script template that holds
	// a data object no script may hold: the terminal sends none of its
	// commands and reports it failed, results 10 and the identifier.
	TestScriptMalformed = 74
	// TestCardRefuses is approved, but the issuer authentication data
	// (91) of the answer to a chip request does not verify on the card:
	// the card refuses the approval (AAC at the second GENERATE AC) and
	// the terminal reverses it, with the card's final chip data in 55.
	TestCardRefuses = 75
)

// TestScriptID is the script identifier (9F18) of the issuer script a
// test amount asks for: "SC", 00 and the amount's last two digits (BCD).
func TestScriptID(code int) []byte { return []byte{'S', 'C', 0x00, byte(code/10%10<<4 | code%10)} }

// testScripts is the issuer script template a test amount asks the host
// to add to its approval of a chip request, nil for any other amount.
func testScripts(kind string, amount int64) []byte {
	code := testAmountCode(kind, amount)
	switch code {
	case TestScript, TestScriptFailing, TestScriptMalformed:
	default:
		return nil
	}
	// PUT DATA (secure messaging: CLA 84) of the lower consecutive
	// offline limit (9F58), a stand-in MAC after the value.
	putData := []byte{0x84, 0xDA, 0x9F, 0x58, 0x05, 0x03, 0x4D, 0x41, 0x43, 0x31}
	script := emv.AppendTLV(nil, emv.TagScriptID, TestScriptID(code))
	script = emv.AppendTLV(script, emv.TagIssuerScriptCommand, putData)
	switch code {
	case TestScriptFailing:
		// An instruction the card does not know: 6D00.
		script = emv.AppendTLV(script, emv.TagIssuerScriptCommand, []byte{0x84, 0x1F, 0x00, 0x00, 0x00})
	case TestScriptMalformed:
		// The terminal country code is no part of a script.
		script = emv.AppendTLV(script, emv.TagTerminalCountry, []byte{0x04, 0x58})
	}
	return emv.AppendTLV(nil, emv.TagIssuerScript2, script)
}

// spoilIssuerAuth breaks the ARPC of the issuer authentication data in
// icc (an answer's 55, see issuerData) when the test amount asks for a
// card that refuses the approval (TestCardRefuses).
func spoilIssuerAuth(icc []byte, kind string, amount int64) {
	if testAmountCode(kind, amount) != TestCardRefuses {
		return
	}
	if v, ok := emv.Find(icc, emv.TagIssuerAuthData); ok && len(v) > 0 {
		v[0] ^= 0xFF
	}
}

// testAmountCode is a test amount's last two digits, or -1 for any other
// amount or request (only sales and pre-auths are test requests).
func testAmountCode(kind string, amount int64) int {
	if (kind != kindSale && kind != kindPreauth) || amount < TestAmountMin || amount > TestAmountMax {
		return -1
	}
	return int(amount % 100)
}

// testAnswer is the response code for a card the issuer would approve
// (rc), changed by a test amount.
func testAnswer(rc, kind string, amount int64) string {
	if rc != host.RCApproved {
		return rc
	}
	switch testAmountCode(kind, amount) {
	case TestDoNotHonour:
		return host.RCDoNotHonour
	case TestInsufficientFunds:
		return host.RCInsufficientFunds
	case TestExpiredCard:
		return host.RCExpiredCard
	case TestIssuerUnavailable:
		return host.RCIssuerUnavailable
	}
	return rc
}

// answersTooLate reports an approval of a test amount whose answer is
// withheld (TestTooLate): booked here, never received by the terminal.
func answersTooLate(req, resp *host.Fields) bool {
	amount, err := strconv.ParseInt(req.Amount, 10, 64)
	return err == nil && resp.ResponseCode == host.RCApproved &&
		testAmountCode(kindOf(req.MTI, req.ProcessingCode), amount) == TestTooLate
}
