package hostsim

import (
	"testing"

	"github.com/vinr/cashlessd/daemon/host"
)

func TestTestAmountsPickTheHostAnswer(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		rc, kind string
		amount   int64
		want     string
	}{
		{host.RCApproved, kindSale, 90051, host.RCInsufficientFunds},
		{host.RCApproved, kindPreauth, 90005, host.RCDoNotHonour},
		{host.RCApproved, kindSale, 90054, host.RCExpiredCard},
		{host.RCApproved, kindSale, 90091, host.RCIssuerUnavailable},
		{host.RCApproved, kindSale, 90068, host.RCApproved},
		{host.RCApproved, kindSale, 10051, host.RCApproved},
		{host.RCApproved, kindSale, 190051, host.RCApproved},
		{host.RCApproved, kindRefund, 90051, host.RCApproved},
		{host.RCDoNotHonour, kindSale, 90051, host.RCDoNotHonour},
	} {
		if got := testAnswer(c.rc, c.kind, c.amount); got != c.want {
			t.Errorf("%s %s %d: %s, want %s", c.rc, c.kind, c.amount, got, c.want)
		}
	}
	late := &host.Fields{MTI: host.MTIFinancialRequest, ProcessingCode: host.ProcPurchase, Amount: "000000090068"}
	if !answersTooLate(late, &host.Fields{ResponseCode: host.RCApproved}) || answersTooLate(late, &host.Fields{ResponseCode: host.RCDoNotHonour}) {
		t.Error("90068 approved is answered too late, declined is not")
	}
}
