package daemon_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vinr/cashlessd/daemon"
)

func TestSaleOutcomesByTestCard(t *testing.T) {
	t.Parallel()
	m := startTerminal(t, "", nil)
	cases := []struct {
		pan     string
		status  daemon.Status
		decline string
		scheme  string
	}{
		{"4242424242424242", daemon.StatusApproved, "", "visa"},
		{"5555555555554444", daemon.StatusApproved, "", "mastercard"},
		{"4000000000000002", daemon.StatusDeclined, "card_declined", ""},
		{"4000000000009995", daemon.StatusDeclined, "insufficient_funds", ""},
		{"4000000000000069", daemon.StatusDeclined, "expired_card", ""},
		{"378282246310005", daemon.StatusApproved, "", "amex"},
	}
	for i, c := range cases {
		m.card(daemon.SimCard{PAN: ptr(c.pan), PresentAfter: ptr(time.Duration(0)), EntryMethod: ptr(daemon.EntryChip)})
		res, err := m.sale("CARD-"+c.pan, int64(1000+i))
		if err != nil || res.Tx.Status != c.status {
			t.Fatalf("%s: %+v %v", c.pan, res, err)
		}
		tx := res.Tx
		if c.decline != "" {
			if tx.DeclineCode != c.decline || tx.DeclineMessage == "" || tx.CompletedAt.IsZero() {
				t.Errorf("%s: decline %q %q at %s", c.pan, tx.DeclineCode, tx.DeclineMessage, tx.CompletedAt)
			}
			if tx.Receipts == nil || !strings.Contains(tx.Receipts.Customer, "DECLINED") {
				t.Errorf("decline without receipt: %+v", tx.Receipts)
			}
		} else if tx.Card == nil || tx.Card.Scheme != c.scheme {
			t.Errorf("%s: card %+v", c.pan, tx.Card)
		}
	}
	// After a decline the reference may be tried again with another card.
	m.card(daemon.SimCard{PAN: ptr("4242424242424242")})
	m.approved("CARD-4000000000000002", 1002)
}

func TestEntryMethodsAndCardholderVerification(t *testing.T) {
	t.Parallel()
	m := startTerminal(t, "", nil)
	cases := []struct {
		name, pan, entry, want string
		signature, pin         bool
	}{
		{"chip, offline PIN", "4000002500003155", "chip", "chip", false, true},
		{"chip, online PIN", "5555555555554444", "chip", "chip", false, true},
		{"chip, signature", "4000000000000077", "chip", "chip", true, false},
		{"contactless, no CVM", "4242424242424242", "contactless", "contactless", false, false},
		{"magstripe card swiped", "4111111111111111", "swipe", "swipe", true, false},
		// A chip card swiped is asked for its chip: the cardholder inserts it.
		{"chip card swiped", "4242424242424242", "swipe", "chip", false, false},
	}
	for i, c := range cases {
		m.card(daemon.SimCard{PAN: ptr(c.pan), EntryMethod: ptr(c.entry), PresentAfter: ptr(time.Duration(0))})
		tx := m.approved(fmt.Sprintf("ENTRY-%d", i), 500)
		if tx.Card == nil || tx.Card.EntryMethod != c.want {
			t.Errorf("%s: card %+v", c.name, tx.Card)
			continue
		}
		rd := tx.Receipts
		if rd.SignatureRequired != c.signature {
			t.Errorf("%s: signatureRequired %v", c.name, rd.SignatureRequired)
		}
		if c.signature && !strings.Contains(rd.Merchant, "CARDHOLDER SIGNATURE") {
			t.Errorf("%s: signature line missing:\n%s", c.name, rd.Merchant)
		}
		if pin := strings.Contains(rd.Customer, "PIN VERIFIED"); pin != c.pin {
			t.Errorf("%s: PIN VERIFIED %v:\n%s", c.name, pin, rd.Customer)
		}
	}
}

func TestHostUnreachableChargesNothing(t *testing.T) {
	t.Parallel()
	m := startTerminal(t, "", nil)
	m.card(daemon.SimCard{PresentAfter: ptr(time.Duration(0))})
	m.hostOffline()
	res, err := m.sale("OFFLINE-1", 700)
	tx := wantFinished(t, res, err, daemon.StatusFailed, daemon.CodeCommunicationError)
	if tx.Reference != "OFFLINE-1" {
		t.Fatalf("%+v", tx)
	}
	if st := m.status(); st.OpenBatchCount != 0 {
		t.Fatalf("failed sale joined the batch: %d", st.OpenBatchCount)
	}
	m.host(daemon.SimHost{Offline: ptr(false)})
	m.approved("OFFLINE-1", 700)
}

func TestLostHostAnswerIsReversed(t *testing.T) {
	t.Parallel()
	m := startTerminal(t, "", hostTimeout)
	m.card(daemon.SimCard{PresentAfter: ptr(time.Duration(0))})
	m.host(daemon.SimHost{DropResponse: ptr(true)})
	res, err := m.sale("DROP-1", 900)
	tx := wantFinished(t, res, err, daemon.StatusFailed, daemon.CodeCommunicationError)
	if !strings.Contains(tx.ErrorMessage, "reversed") {
		t.Errorf("message should say the authorisation was reversed: %s", tx.ErrorMessage)
	}
	st := m.status()
	if st.OpenBatchCount != 0 {
		t.Fatalf("open batch %d", st.OpenBatchCount)
	}
	// The host also loses the reversal's answer: it stays queued...
	if st.PendingReversals != 1 {
		t.Fatalf("reversal should be queued: %d", st.PendingReversals)
	}
	m.host(daemon.SimHost{DropResponse: ptr(false)})
	// ...and goes out before the next authorisation.
	m.approved("DROP-1", 900)
	if st = m.status(); st.PendingReversals != 0 {
		t.Fatalf("reversal still queued: %d", st.PendingReversals)
	}
	var net int64
	ledger := m.ledger()
	for _, a := range ledger.Approvals {
		if !a.Reversed {
			net += a.Amount
		}
	}
	if net != 900 {
		t.Fatalf("host holds %d, want only the second sale's 900: %+v", net, ledger)
	}
}
