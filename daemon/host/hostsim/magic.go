package hostsim

import (
	"strconv"

	"github.com/vinr/cashlessd/daemon/host"
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
)

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
