package hostsim

import (
	"strings"

	"github.com/vinr/cashlessd/daemon/host"
	"github.com/vinr/cashlessd/emv"
)

// Field numbers a request must carry, per message, as the field table of
// docs/host-protocol.md marks them M (mandatory).
var (
	mandatoryNetwork    = []int{7, 11, 41, 70}
	mandatorySale       = []int{2, 3, 4, 7, 11, 12, 13, 22, 25, 41, 42, 49, 60, 62}
	mandatoryRefund     = []int{3, 4, 7, 11, 12, 13, 25, 37, 41, 42, 49, 60, 62, 90}
	mandatoryCompletion = []int{3, 4, 7, 11, 12, 13, 25, 37, 41, 42, 49, 60, 62, 90}
	mandatoryIncrement  = mandatoryCompletion
	mandatoryAdvice     = []int{3, 4, 7, 11, 12, 13, 22, 25, 38, 39, 41, 42, 49, 55, 60, 62}
	mandatoryTCAdvice   = []int{3, 4, 7, 11, 12, 13, 22, 25, 37, 38, 39, 41, 42, 49, 55, 60, 62, 90}
	mandatoryReversal   = []int{3, 4, 7, 11, 12, 13, 25, 41, 42, 62, 90}
	mandatoryUpload     = []int{3, 4, 7, 11, 12, 13, 25, 39, 41, 42, 49, 60, 62, 90}
	mandatorySettlement = []int{3, 7, 11, 12, 13, 41, 42, 60, 63}
)

// MandatoryFields are the fields a request of this MTI and content must
// carry: the M cells of the field table in docs/host-protocol.md, and
// track 2 (35) for a swiped card (POS entry mode 90x or 80x). nil for a
// message the host does not take.
func MandatoryFields(req *host.Fields) []int {
	var out []int
	switch req.MTI {
	case host.MTINetwork:
		return mandatoryNetwork
	case host.MTIAuthRequest:
		if host.IsIncrement(req) {
			return mandatoryIncrement
		}
		out = mandatorySale
	case host.MTIFinancialRequest:
		out = mandatorySale
		if req.ProcessingCode == host.ProcRefund {
			out = mandatoryRefund
		}
	case host.MTIAdvice, host.MTIAdviceRepeat:
		if host.IsTCAdvice(req) {
			return mandatoryTCAdvice
		}
		if host.IsOfflineAdvice(req) {
			return mandatoryAdvice
		}
		return mandatoryCompletion
	case host.MTIReversal, host.MTIReversalRepeat:
		return mandatoryReversal
	case host.MTIBatchUpload:
		return mandatoryUpload
	case host.MTISettlement:
		return mandatorySettlement
	default:
		return nil
	}
	if Swiped(req) {
		out = append(append([]int(nil), out...), 35)
	}
	return out
}

// Swiped reports whether a request's card was read from the magnetic
// stripe: POS entry mode 90x (swipe) or 80x (fallback to the stripe after
// a failed chip read).
func Swiped(req *host.Fields) bool {
	return strings.HasPrefix(req.EntryMode, "90") || strings.HasPrefix(req.EntryMode, "80")
}

// missingField returns the first mandatory field req lacks, 0 when none.
func missingField(req *host.Fields) int {
	for _, n := range MandatoryFields(req) {
		if !present(req, n) {
			return n
		}
	}
	return 0
}

// present reports whether field n of f is set.
func present(f *host.Fields, n int) bool {
	switch n {
	case 2:
		return f.PAN != ""
	case 3:
		return f.ProcessingCode != ""
	case 4:
		return f.Amount != ""
	case 7:
		return f.TransmissionTime != ""
	case 11:
		return f.STAN != ""
	case 12:
		return f.LocalTime != ""
	case 13:
		return f.LocalDate != ""
	case 22:
		return f.EntryMode != ""
	case 25:
		return f.ConditionCode != ""
	case 35:
		return f.Track2 != ""
	case 37:
		return strings.TrimSpace(f.RRN) != ""
	case 38:
		return strings.TrimSpace(f.AuthCode) != ""
	case 39:
		return f.ResponseCode != ""
	case 41:
		return strings.TrimSpace(f.TerminalID) != ""
	case 42:
		return strings.TrimSpace(f.MerchantID) != ""
	case 49:
		return f.Currency != ""
	case 55:
		return len(f.ICC) > 0
	case 60:
		return f.Batch != ""
	case 62:
		return f.TransactionID != ""
	case 63:
		return f.Totals != nil
	case 70:
		return f.NetworkCode != ""
	case 90:
		return f.Original != nil
	}
	return true
}

// trackAgrees reports whether track 2 (field 35) names the card of
// field 2 and, when field 14 is sent, its expiry date.
func trackAgrees(req *host.Fields) bool {
	t, err := emv.ParseTrack2(req.Track2)
	if err != nil {
		return false
	}
	return t.PAN == req.PAN && (req.Expiry == "" || t.Expiry == req.Expiry)
}
