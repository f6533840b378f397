package hostsim_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vinr/cashlessd/daemon/host"
	"github.com/vinr/cashlessd/daemon/host/hostsim"
)

const pan = "4242424242424242"

func start(t testing.TB, cfg hostsim.Config) *hostsim.Server {
	t.Helper()
	s := startFirst(t, cfg)
	if cfg.LedgerPath != "" {
		t.Cleanup(func() { sameOnDisk(t, s, cfg.LedgerPath) })
	}
	return s
}

// startFirst starts a server whose ledger file a later server of the
// test goes on writing (so its own view ends up behind the file).
func startFirst(t testing.TB, cfg hostsim.Config) *hostsim.Server {
	t.Helper()
	s, err := hostsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(context.Background(), "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// sameOnDisk checks that replaying the ledger file gives the ledger the
// server holds (when the test left a readable file).
func sameOnDisk(t testing.TB, s *hostsim.Server, path string) {
	t.Helper()
	onDisk, err := hostsim.ReadLedger(path)
	if err != nil {
		return
	}
	want, _ := json.Marshal(s.Ledger())
	got, _ := json.Marshal(onDisk)
	if string(got) != string(want) {
		t.Errorf("the ledger file replays to\n%s\nthe server holds\n%s", got, want)
	}
}

// exchange sends f over c and reads the answer, framing by hand.
func exchange(t testing.TB, c net.Conn, f *host.Fields) *host.Fields {
	t.Helper()
	packed, err := host.Encode(host.Spec(), f)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if err := host.WriteFrame(c, packed); err != nil {
		t.Fatal(err)
	}
	raw, err := host.ReadFrame(c)
	if err != nil {
		t.Fatal(err)
	}
	out, err := host.Decode(host.Spec(), raw)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func saleFields(stan string) *host.Fields {
	return &host.Fields{MTI: "0200", PAN: pan, ProcessingCode: "000000", Amount: "000000001000",
		TransmissionTime: "0101120000", STAN: stan, LocalTime: "120000", LocalDate: "0101", EntryMode: "051",
		ConditionCode: "00", TerminalID: "T0000001", MerchantID: "M00000000000001",
		Currency: "458", Batch: "000001", TransactionID: "tx-" + stan}
}

func dial(t testing.TB, s *hostsim.Server) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestRawSignOnAndSale(t *testing.T) {
	t.Parallel()
	s := start(t, hostsim.Config{})
	c := dial(t, s)
	on := exchange(t, c, &host.Fields{MTI: "0800", TransmissionTime: "0101120000", STAN: "000001",
		TerminalID: "T0000001", NetworkCode: "001"})
	if on.MTI != "0810" || on.ResponseCode != "00" || on.STAN != "000001" || on.TerminalID != "T0000001" {
		t.Fatalf("sign-on answer %+v", on)
	}
	resp := exchange(t, c, saleFields("000002"))
	if resp.MTI != "0210" || resp.ResponseCode != "00" || len(resp.AuthCode) != 6 || len(resp.RRN) != 12 || resp.STAN != "000002" {
		t.Fatalf("sale answer %+v", resp)
	}
	l := s.Ledger()
	if len(l.Approvals) != 1 || l.Approvals[0].MaskedPAN != "************4242" || l.Approvals[0].RRN != resp.RRN {
		t.Fatalf("ledger %+v", l)
	}
	// The server counts an answer once its write returned, which can be
	// just after the client has read it.
	tr := s.Traffic()
	for deadline := time.Now().Add(5 * time.Second); tr.MessagesOut < 2 && time.Now().Before(deadline); tr = s.Traffic() {
		time.Sleep(time.Millisecond)
	}
	if tr.MessagesIn != 2 || tr.MessagesOut != 2 || tr.BytesIn == 0 || tr.BytesOut == 0 {
		t.Errorf("traffic %+v", tr)
	}
}

func TestLedgerSurvivesRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "ledger.json")
	s := startFirst(t, hostsim.Config{LedgerPath: path})
	first := exchange(t, dial(t, s), saleFields("000001"))
	_ = s.Close()

	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("ledger file: %v %v", fi, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left beside the ledger: %v", entries)
	}
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), pan) {
		t.Error("full PAN in the ledger file")
	}

	s2 := start(t, hostsim.Config{LedgerPath: path})
	second := exchange(t, dial(t, s2), saleFields("000002"))
	l := s2.Ledger()
	if len(l.Approvals) != 2 || first.RRN == second.RRN || l.Sequence != 2 {
		t.Errorf("after restart: %+v", l)
	}
	onDisk, err := hostsim.ReadLedger(path)
	if err != nil || len(onDisk.Approvals) != 2 {
		t.Errorf("ledger file after restart: %+v %v", onDisk, err)
	}
}

func TestLedgerAppendsOneLinePerBooking(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ledger.json")
	s := start(t, hostsim.Config{LedgerPath: path})
	c := dial(t, s)
	exchange(t, c, saleFields("000001"))
	before, _ := os.ReadFile(path)
	exchange(t, c, saleFields("000002"))
	after, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(after), string(before)) || strings.Count(string(after), "\n") != 2 {
		t.Fatalf("a booking did not append one line:\n%s", after)
	}
	// A repeated request changes nothing and writes nothing.
	exchange(t, c, saleFields("000002"))
	if again, _ := os.ReadFile(path); string(again) != string(after) {
		t.Errorf("a repeat wrote to the ledger:\n%s", again)
	}
}

func TestLedgerIgnoresATornLastLine(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ledger.json")
	s := startFirst(t, hostsim.Config{LedgerPath: path})
	exchange(t, dial(t, s), saleFields("000001"))
	_ = s.Close()
	// A crash in the middle of the next append.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString(`{"seq":2,"set":[{"at":1,"appro`)
	_ = f.Close()
	if l, err := hostsim.ReadLedger(path); err != nil || len(l.Approvals) != 1 || l.Sequence != 1 {
		t.Fatalf("torn ledger reads as %+v %v", l, err)
	}
	s2 := start(t, hostsim.Config{LedgerPath: path})
	exchange(t, dial(t, s2), saleFields("000002"))
	if l, err := hostsim.ReadLedger(path); err != nil || len(l.Approvals) != 2 || l.Sequence != 2 {
		t.Errorf("after the torn line and one more sale: %+v %v", l, err)
	}
}

func TestLedgerReadsAWholeLedgerFile(t *testing.T) {
	t.Parallel()
	// What earlier versions wrote: the whole ledger, indented.
	path := filepath.Join(t.TempDir(), "ledger.json")
	old := `{
  "approvals": [{"kind": "sale", "mti": "0200", "terminalId": "T0000001", "merchantId": "M00000000000001",
    "stan": "000001", "transactionId": "tx-000001", "rrn": "000000000001", "authCode": "A00001",
    "amount": 1000, "currency": "MYR", "batch": "000001", "approvedAt": "2026-01-01T12:00:00Z"}],
  "reversals": [],
  "settlements": [],
  "sequence": 1
}
`
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(strings.ReplaceAll(old, "\n", ""), "  ", "")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := start(t, hostsim.Config{LedgerPath: path})
	exchange(t, dial(t, s), saleFields("000002"))
	if l, err := hostsim.ReadLedger(path); err != nil || len(l.Approvals) != 2 || l.Sequence != 2 || l.Approvals[0].RRN != "000000000001" {
		t.Errorf("ledger after a sale on a whole-ledger file: %+v %v", l, err)
	}
}

func TestUnwritableLedgerRefuses(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "ledger-dir")
	path := filepath.Join(dir, "ledger.json")
	s := start(t, hostsim.Config{LedgerPath: path})
	// The ledger's directory turns into a file: nothing can be written.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	resp := exchange(t, dial(t, s), saleFields("000001"))
	if resp.ResponseCode != "96" || resp.AuthCode != "" {
		t.Errorf("answer when the ledger cannot be written: %+v", resp)
	}
	if l := s.Ledger(); len(l.Approvals) != 0 || l.Sequence != 0 {
		t.Errorf("booked although not persisted: %+v", l)
	}
}

func TestOfflineClosesConnections(t *testing.T) {
	t.Parallel()
	s := start(t, hostsim.Config{})
	s.SetOffline(true)
	c := dial(t, s)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("read from offline host: %v, want EOF", err)
	}
}

func TestListenStopsWithContext(t *testing.T) {
	t.Parallel()
	s, err := hostsim.New(hostsim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.Listen(ctx, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	cancel()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", s.Addr())
		if err != nil {
			break
		}
		_ = c.Close()
		if time.Now().After(deadline) {
			t.Fatal("server still listening after its context ended")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close after context end: %v", err)
	}
}
