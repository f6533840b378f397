package host_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/host"
	"github.com/vinr/cashlessd/daemon/host/hostsim"
	"github.com/vinr/cashlessd/emv/reader/dukpt"
	"github.com/vinr/cashlessd/emv/reader/virtual"
	"github.com/vinr/cashlessd/pan"
)

// memCounters is an in-memory host.Counters for tests.
type memCounters struct {
	mu sync.Mutex
	n  map[string]uint32
}

func newCounters() *memCounters { return &memCounters{n: map[string]uint32{}} }

func (c *memCounters) Next(name string) (uint32, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[name]++
	return c.n[name], nil
}

func (c *memCounters) Current(name string) (uint32, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[name], nil
}

// logSink collects log lines and lets a test wait for one.
type logSink struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	added chan struct{}
}

func newLogSink() *logSink { return &logSink{added: make(chan struct{}, 1)} }

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.buf.Write(p)
	s.mu.Unlock()
	select {
	case s.added <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// waitFor blocks until a log line contains text, or fails the test when ctx
// ends first.
func (s *logSink) waitFor(ctx context.Context, t *testing.T, text string) {
	t.Helper()
	for !strings.Contains(s.String(), text) {
		select {
		case <-s.added:
		case <-ctx.Done():
			t.Fatalf("log never showed %q:\n%s", text, s.String())
		}
	}
}

// rig is one simulated host and one client talking to it over loopback TCP.
type rig struct {
	srv      *hostsim.Server
	client   *host.Client
	counters *memCounters
	ledger   string
	logs     *logSink
}

type rigOption func(*host.Config, *hostsim.Config)

func withTimeout(d time.Duration) rigOption {
	return func(c *host.Config, _ *hostsim.Config) { c.Timeout = d }
}

func withLedgerInMemory(_ *host.Config, s *hostsim.Config) { s.LedgerPath = "" }

func newRig(t testing.TB, opts ...rigOption) *rig {
	t.Helper()
	r := &rig{counters: newCounters(), ledger: filepath.Join(t.TempDir(), "ledger.json"), logs: newLogSink()}
	log := zerolog.New(r.logs)
	scfg := hostsim.Config{LedgerPath: r.ledger, Log: log}
	ccfg := host.Config{TerminalID: "T0000001", MerchantID: "M00000000000001", Timeout: 5 * time.Second,
		Counters: r.counters, Log: log}
	for _, o := range opts {
		o(&ccfg, &scfg)
	}
	srv, err := hostsim.New(scfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(context.Background(), "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	ccfg.Address = srv.Addr()
	client, err := host.New(ccfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	r.srv, r.client = srv, client
	return r
}

// shortCtx is for a request whose answer the host drops: it gives up
// after a moment instead of the client's full timeout.
func shortCtx(ctx context.Context, t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	t.Cleanup(cancel)
	return ctx
}

// testCtx bounds a test's waits; it is a safety net, not a timing check.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

const approvedPAN = "4242424242424242"

func card(number string) *daemon.CardData {
	ksn := []byte{0xFF, 0xFF, 0x98, 0x76, 0x54, 0x32, 0x10, 0xE0, 0x00, 0x01}
	return &daemon.CardData{
		PAN: number, ExpiryYYMM: "3012", CardSequenceNo: "1",
		Info:     daemon.CardInfo{MaskedPAN: pan.Mask(number), Scheme: "visa", EntryMethod: daemon.EntryChip},
		ICCData:  []byte{0x9F, 0x26, 0x08, 1, 2, 3, 4, 5, 6, 7, 8},
		PINBlock: pinBlock(number, "1234", ksn),
		KSN:      ksn,
	}
}

// pinBlock enciphers a PIN as the PIN pad would, under the test BDK the
// host simulator checks PINs with.
func pinBlock(pan, pin string, ksn []byte) []byte {
	bdk, _ := hex.DecodeString(virtual.TestBDK)
	key, err := dukpt.PINKey(bdk, ksn)
	if err != nil {
		panic(err)
	}
	plain, err := dukpt.FormatPIN0(pin, pan)
	if err != nil {
		return []byte{1, 2, 3, 4, 5, 6, 7, 8} // a PAN no PIN pad would take
	}
	block, err := dukpt.EncryptPINBlock(key, plain)
	if err != nil {
		panic(err)
	}
	return block
}

func sale(id, pan string, amount int64) daemon.AuthRequest {
	return daemon.AuthRequest{Kind: daemon.KindSale, TransactionID: id, Reference: "ref-" + id,
		Amount: amount, Currency: "MYR", Card: card(pan), Time: time.Now()}
}

// approval returns the ledger's latest approval of a transaction ID.
func approval(t *testing.T, l hostsim.Ledger, id string) hostsim.Approval {
	t.Helper()
	for i := len(l.Approvals) - 1; i >= 0; i-- {
		if l.Approvals[i].TransactionID == id {
			return l.Approvals[i]
		}
	}
	t.Fatalf("no approval for %s in ledger", id)
	return hostsim.Approval{}
}

// netHeld is what the host holds as captured for a terminal: captures minus
// refunds of approvals that were not reversed.
func netHeld(l hostsim.Ledger) int64 {
	var n int64
	for _, a := range l.Approvals {
		switch capture, refund := a.Counts(); {
		case capture:
			n += a.Amount
		case refund:
			n -= a.Amount
		}
	}
	return n
}
