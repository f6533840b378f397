package emv_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/vinr/cashlessd/emv"
	"github.com/vinr/cashlessd/emv/card"
)

// txTime is the fixed transaction time of the tests.
var txTime = time.Date(2026, 3, 15, 14, 30, 0, 0, time.UTC)

// newKernel returns a kernel with the default configuration and a
// deterministic unpredictable number.
func newKernel(t testing.TB, edit ...func(*emv.Config)) *emv.Kernel {
	t.Helper()
	cfg := emv.DefaultConfig()
	cfg.TerminalID = "TERM0001"
	cfg.MerchantID = "MERCHANT0000001"
	cfg.IFDSerial = "SN000001"
	cfg.Rand = rand.NewChaCha8([32]byte{1, 2, 3})
	for _, e := range edit {
		e(&cfg)
	}
	k, err := emv.NewKernel(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func sale(amount int64) emv.Transaction {
	return emv.Transaction{Type: emv.TypePurchase, Amount: amount, Currency: "USD", Time: txTime, SequenceCounter: 42}
}

// insert powers up a built-in card on an interface.
func insert(t testing.TB, name string, iface emv.Interface) (*card.Card, *card.Image) {
	t.Helper()
	img, err := card.Builtin(name)
	if err != nil {
		t.Fatal(err)
	}
	c, err := card.New(img, iface)
	if err != nil {
		t.Fatal(err)
	}
	return c, img
}

// pinPad is a test PIN pad at the device end: it holds the card's
// transport to present offline PINs, as a real reader does, and returns a
// fixed encrypted block for online PINs.
type pinPad struct {
	mu          sync.Mutex
	card        emv.Transport
	offline     []string // PINs the cardholder types, in order
	bypass      bool
	onlineCalls int
	requests    []emv.PINRequest
	block       func(ctx context.Context) error
}

func (p *pinPad) OnlinePIN(ctx context.Context, req emv.PINRequest) (emv.EncryptedPIN, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.onlineCalls++
	p.requests = append(p.requests, req)
	if p.block != nil {
		if err := p.block(ctx); err != nil {
			return emv.EncryptedPIN{}, err
		}
	}
	if p.bypass {
		return emv.EncryptedPIN{}, emv.ErrPINBypassed
	}
	return emv.EncryptedPIN{Block: emv.MustHex("1A2B3C4D5E6F7081"), KSN: emv.MustHex("FFFF9876543210E00001")}, nil
}

func (p *pinPad) OfflinePIN(ctx context.Context, req emv.PINRequest) (emv.OfflinePINResult, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests = append(p.requests, req)
	if p.bypass {
		return emv.OfflinePINResult{}, emv.ErrPINBypassed
	}
	if len(p.offline) == 0 {
		return emv.OfflinePINResult{}, errors.New("test PIN pad: no PIN left to type")
	}
	pin := p.offline[0]
	p.offline = p.offline[1:]
	return emv.VerifyOfflinePIN(ctx, p.card, []byte(pin))
}

// counter is a Transport that counts what crosses it.
type counter struct {
	t            emv.Transport
	apdus, bytes int
	commands     [][]byte
}

func (c *counter) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	resp, err := c.t.Transmit(ctx, apdu)
	c.apdus++
	c.bytes += len(apdu) + len(resp)
	c.commands = append(c.commands, append([]byte(nil), apdu...))
	return resp, err
}

// ins lists the INS bytes sent, for asserting the command flow.
func (c *counter) ins() []byte {
	out := make([]byte, len(c.commands))
	for i, cmd := range c.commands {
		out[i] = cmd[1]
	}
	return out
}

func (c *counter) sent(ins byte) int {
	n := 0
	for _, cmd := range c.commands {
		if cmd[1] == ins {
			n++
		}
	}
	return n
}

// approve is the issuer of a virtual card approving: response code 00 and
// issuer authentication data over the ARQC.
func approve(img *card.Image, o emv.Outcome) emv.HostResponse {
	arpc := card.IssuerAuthenticationData(img.CardKey(), o.Cryptogram, "00")
	return emv.HostResponse{Approved: true, ResponseCode: "00", AuthCode: "123456",
		IssuerData: emv.AppendTLV(nil, emv.TagIssuerAuthData, arpc)}
}

// tag returns a data object of the outcome's ICC data.
func tag(t testing.TB, o emv.Outcome, tg emv.Tag) []byte {
	t.Helper()
	v, ok := emv.Find(o.ICCData, tg)
	if !ok {
		t.Fatalf("ICC data has no %s (%s)", tg, tg.Name())
	}
	return v
}
