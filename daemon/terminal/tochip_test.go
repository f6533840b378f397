package terminal

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/emv"
	"github.com/vinr/cashlessd/emv/card"
	"github.com/vinr/cashlessd/emv/reader"
	"github.com/vinr/cashlessd/emv/reader/virtual"
)

// promptLog keeps the prompts the acceptor reports.
type promptLog struct {
	mu    sync.Mutex
	names []string
}

func (p *promptLog) Prompt(_, name string, _ []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.names = append(p.names, name)
}

func (p *promptLog) has(name string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Contains(p.names, name)
}

// TestTappedCardSentToChip: a tap over the contactless transaction limit
// is not a reader error: the card is powered off, the reader asks for
// the chip (detecting the contact slot only) and the sale goes on with
// the inserted card.
func TestTappedCardSentToChip(t *testing.T) {
	t.Parallel()
	g := newRig(t, func(cfg *emv.Config) { cfg.ContactlessTransactionLimit = 2000 })
	prompts := &promptLog{}
	g.a.ObservePrompts(prompts)
	img, err := card.Builtin("visa-approved")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = g.vr.WaitFor(ctx, func(s virtual.State) bool { return s.Detecting })
		c, _ := card.New(img, emv.Contactless)
		g.vr.Tap(c)
		_ = g.vr.WaitFor(ctx, func(s virtual.State) bool { return s.Detecting && s.Interfaces == reader.Contact })
		g.vr.Remove()
		c, _ = card.New(img, emv.Contact)
		g.vr.Insert(c)
	}()
	ctx := t.Context()
	s, err := g.a.Detect(ctx, daemon.CardRequest{Kind: daemon.KindSale, Amount: 5000, Currency: "USD", TransactionID: "T1"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	data, err := s.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if data.Info.EntryMethod != daemon.EntryChip || !prompts.has(PromptInsertCard) {
		t.Fatalf("entry %s, prompts %v", data.Info.EntryMethod, prompts.names)
	}
	ok, err := s.Complete(ctx, daemon.AuthResponse{Approved: true, ResponseCode: "00"})
	if err != nil || !ok {
		t.Fatalf("%v %v", ok, err)
	}
}

// TestTappedCardNoChipInserted: when no card is inserted before the card
// timeout, the read ends with "no card", not a reader error.
func TestTappedCardNoChipInserted(t *testing.T) {
	t.Parallel()
	g := newRig(t, func(cfg *emv.Config) { cfg.ContactlessTransactionLimit = 2000 })
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = g.vr.WaitFor(ctx, func(s virtual.State) bool { return s.Detecting })
		img, _ := card.Builtin("visa-approved")
		c, _ := card.New(img, emv.Contactless)
		g.vr.Tap(c)
		_ = g.vr.WaitFor(ctx, func(s virtual.State) bool { return s.Detecting && s.Interfaces == reader.Contact })
		g.vr.Remove()
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	s, err := g.a.Detect(ctx, daemon.CardRequest{Kind: daemon.KindSale, Amount: 5000, Currency: "USD"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Read(t.Context()); !errors.Is(err, daemon.ErrNoCard) {
		t.Fatalf("read: %v", err)
	}
}
