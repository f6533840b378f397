package sim

import (
	"strconv"
	"strings"
	"time"

	"github.com/vinr/cashlessd/daemon"
)

// Test amounts pick the cardholder's behaviour in simulator mode, so an
// integrator's tests need no /simulator/v1/card call: a total (amount +
// tip, in minor units) from TestAmountMin to TestAmountMax, i.e. 900.00
// to 900.99 in a currency with two decimals, is read off the reader's
// display as a cardholder would, and its last two digits decide (the host
// simulator decides the host's answer the same way, see hostsim). A
// setting given explicitly with SetCard wins over the amount.
const (
	TestAmountMin = 90000
	TestAmountMax = 90099
)

// Card behaviours by the last two digits of a test amount.
const (
	// TestCancel: the cardholder presses cancel at the card prompt.
	TestCancel = 17
	// TestSlowCard: the card comes SlowCardAfter after the prompt.
	TestSlowCard = 30
	// TestPINPrompt: the cardholder inserts a chip card that asks for an
	// online PIN (PINCardPAN) and types it right.
	TestPINPrompt = 40
	// TestWrongPIN: the same card, and a wrong PIN typed (WrongPIN); the
	// issuer declines it (incorrect_pin).
	TestWrongPIN = 55
	// TestNoCard: no card is presented; the prompt times out.
	TestNoCard = 99
)

// Values the test amounts use.
const (
	SlowCardAfter = 3 * time.Second
	PINCardPAN    = "5200828282828210"
	WrongPIN      = "0000"
)

// explicit marks the card settings SetCard was given.
type explicit struct {
	card, entry, presentAfter, present, pin bool
}

// testAmount reads the amount the reader shows ("USD 900.40": its digits
// are the amount in minor units) and returns its last two digits when it
// is a test amount.
func testAmount(shown string) (int, bool) {
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, shown)
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n < TestAmountMin || n > TestAmountMax {
		return 0, false
	}
	return int(n % 100), true
}

// forAmount is what the cardholder does for the amount shown: the card
// settings, changed by a test amount where they were not set explicitly,
// and whether the cardholder presses cancel instead.
func (c cardState) forAmount(shown string) (cardState, bool) {
	code, ok := testAmount(shown)
	if !ok {
		return c, false
	}
	switch code {
	case TestCancel:
		return c, !c.set.present
	case TestSlowCard:
		if !c.set.presentAfter {
			c.presentAfter = SlowCardAfter
		}
	case TestPINPrompt, TestWrongPIN:
		if !c.set.card {
			c.pan, c.image = PINCardPAN, nil
		}
		if !c.set.entry {
			c.entry = daemon.EntryChip
		}
		if code == TestWrongPIN && !c.set.pin {
			c.pin = WrongPIN
		}
	case TestNoCard:
		if !c.set.present {
			c.present = false
		}
	}
	return c, false
}
