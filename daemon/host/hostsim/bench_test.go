package hostsim_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vinr/cashlessd/daemon/host/hostsim"
)

// BenchmarkBookingWithHistory books sales on a ledger file that already
// holds 10,000 approvals: what one booking costs once a host has history.
func BenchmarkBookingWithHistory(b *testing.B) {
	path := filepath.Join(b.TempDir(), "ledger.json")
	var l hostsim.Ledger
	at := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for i := range 10_000 {
		l.Approvals = append(l.Approvals, hostsim.Approval{Kind: "sale", MTI: "0200", TerminalID: "T0000002", MerchantID: "M00000000000001",
			STAN: fmt.Sprintf("%06d", i%1_000_000), TransactionID: fmt.Sprintf("old-%d", i), RRN: fmt.Sprintf("%012d", i),
			AuthCode: "A00001", MaskedPAN: "************4242", Amount: 1000, Currency: "MYR", Batch: "000001", ApprovedAt: at})
	}
	l.Sequence = 10_000
	raw, err := json.Marshal(l)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, append(raw, '\n'), 0o600); err != nil {
		b.Fatal(err)
	}
	s := start(b, hostsim.Config{LedgerPath: path})
	c := dial(b, s)
	b.ResetTimer()
	for i := range b.N {
		if resp := exchange(b, c, saleFields(fmt.Sprintf("%06d", i%1_000_000))); resp.ResponseCode != "00" {
			b.Fatalf("sale answered %s", resp.ResponseCode)
		}
	}
}
