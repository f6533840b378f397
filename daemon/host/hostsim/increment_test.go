package hostsim_test

import (
	"testing"

	"github.com/vinr/cashlessd/daemon/host"
	"github.com/vinr/cashlessd/daemon/host/hostsim"
)

// TestIncrementRaisesTheHold: a 0100 naming a pre-auth (37, 38, 90) raises
// its hold up to five times its first amount; a repeat gets the same
// answer, a larger increment is declined 51, a reversal of an increment
// takes only it off, a completion may capture the raised hold.
func TestIncrementRaisesTheHold(t *testing.T) {
	t.Parallel()
	s := start(t, hostsim.Config{})
	c := dial(t, s)
	pre := saleFields("000001")
	pre.MTI, pre.ConditionCode, pre.TransactionID = host.MTIAuthRequest, host.ConditionPreauth, "tx-pa"
	pa := exchange(t, c, pre)
	if pa.ResponseCode != host.RCApproved {
		t.Fatalf("pre-auth: %+v", pa)
	}
	inc := func(stan, id, amount string) *host.Fields {
		return exchange(t, c, &host.Fields{MTI: host.MTIAuthRequest, ProcessingCode: host.ProcPurchase, Amount: amount,
			TransmissionTime: "0101120000", STAN: stan, LocalTime: "120000", LocalDate: "0101", TerminalID: "T0000001", MerchantID: "M00000000000001",
			ConditionCode: host.ConditionPreauth, RRN: pa.RRN, AuthCode: pa.AuthCode, Currency: "458", Batch: "000001",
			TransactionID: id, Original: &host.OriginalData{MTI: host.MTIAuthRequest, STAN: "000001", TransmissionTime: "0101120000",
				Acquirer: "00000000000", Forwarder: "00000000000"}})
	}
	held := func() int64 {
		for _, a := range s.Ledger().Approvals {
			if a.TransactionID == "tx-pa" {
				return a.Held()
			}
		}
		t.Fatal("no pre-auth in the ledger")
		return 0
	}
	first := inc("000002", "tx-inc-1", "000000002000")
	if first.MTI != "0110" || first.ResponseCode != host.RCApproved || first.AuthCode != pa.AuthCode || first.RRN == pa.RRN || held() != 3000 {
		t.Fatalf("increment: %+v, held %d", first, held())
	}
	if again := inc("000003", "tx-inc-1", "000000002000"); again.RRN != first.RRN || held() != 3000 {
		t.Fatalf("repeat: %+v, held %d", again, held())
	}
	if over := inc("000004", "tx-inc-2", "000000002001"); over.ResponseCode != host.RCInsufficientFunds || held() != 3000 {
		t.Fatalf("over the limit: %+v, held %d", over, held())
	}
	inc("000005", "tx-inc-3", "000000000500")
	rev := exchange(t, c, &host.Fields{MTI: host.MTIReversal, ProcessingCode: host.ProcPurchase, Amount: "000000000500",
		TransmissionTime: "0101120000", STAN: "000006", LocalTime: "120000", LocalDate: "0101", TerminalID: "T0000001", MerchantID: "M00000000000001",
		ConditionCode: host.ConditionPreauth, TransactionID: "tx-inc-3",
		Original: &host.OriginalData{MTI: host.MTIAuthRequest, STAN: "000005", TransmissionTime: "0101120000",
			Acquirer: "00000000000", Forwarder: "00000000000"}})
	if rev.ResponseCode != host.RCApproved || held() != 3000 {
		t.Fatalf("reversal of an increment: %+v, held %d", rev, held())
	}
	capture := func(stan, amount string) *host.Fields {
		return exchange(t, c, &host.Fields{MTI: host.MTIAdvice, ProcessingCode: host.ProcPurchase, Amount: amount,
			TransmissionTime: "0101120000", STAN: stan, LocalTime: "120000", LocalDate: "0101", TerminalID: "T0000001", MerchantID: "M00000000000001",
			ConditionCode: host.ConditionPreauth, RRN: pa.RRN, AuthCode: pa.AuthCode, Currency: "458", Batch: "000001",
			TransactionID: "tx-c-" + stan, Original: &host.OriginalData{MTI: host.MTIAuthRequest, STAN: "000001",
				TransmissionTime: "0101120000", Acquirer: "00000000000", Forwarder: "00000000000"}})
	}
	if over := capture("000007", "000000003001"); over.ResponseCode != host.RCInvalidAmount {
		t.Fatalf("capture above the hold: %+v", over)
	}
	if ok := capture("000008", "000000003000"); ok.ResponseCode != host.RCApproved {
		t.Fatalf("capture of the raised hold: %+v", ok)
	}
}
