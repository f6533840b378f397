package terminal

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/emv"
	"github.com/vinr/cashlessd/emv/card"
	"github.com/vinr/cashlessd/emv/reader"
	"github.com/vinr/cashlessd/emv/reader/virtual"
)

// rig is the acceptor talking to a virtual reader over a real pty.
type rig struct {
	vr *virtual.Reader
	a  *Acceptor
}

func newRig(t *testing.T, edit ...func(*emv.Config)) *rig {
	t.Helper()
	return newRigAt(t, time.Now, edit...)
}

// newRigAt is newRig with the acceptor's clock.
func newRigAt(t *testing.T, now func() time.Time, edit ...func(*emv.Config)) *rig {
	t.Helper()
	vr, err := virtual.Start(t.Context(), virtual.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { vr.Close() })
	r, err := reader.New(reader.Config{Device: vr.Path()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	cfg := emv.DefaultConfig()
	for _, e := range edit {
		e(&cfg)
	}
	k, err := emv.NewKernel(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &rig{vr: vr, a: New(r, k, now, zerolog.Nop())}
}

// present waits for detection and presents the card image.
func (g *rig) present(t *testing.T, name string, iface emv.Interface, pin string) {
	t.Helper()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = g.vr.WaitFor(ctx, func(s virtual.State) bool { return s.Detecting })
		img, _ := card.Builtin(name)
		c, err := card.New(img, iface)
		if err != nil {
			t.Error(err)
			return
		}
		g.vr.SetPIN(pin)
		if iface == emv.Contactless {
			g.vr.Tap(c)
		} else {
			g.vr.Insert(c)
		}
	}()
}

func TestChipSaleApprovedByHost(t *testing.T) {
	t.Parallel()
	g := newRig(t)
	g.present(t, "visa-approved", emv.Contact, "1234")
	ctx := t.Context()
	s, err := g.a.Detect(ctx, daemon.CardRequest{Kind: daemon.KindSale, Amount: 1000, Currency: "USD"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	data, err := s.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if data.Info.EntryMethod != daemon.EntryChip || data.Info.MaskedPAN != "************4242" || len(data.ICCData) == 0 {
		t.Fatalf("%+v", data.Info)
	}
	ok, err := s.Complete(ctx, daemon.AuthResponse{Approved: true, ResponseCode: "00", AuthCode: "A12345"})
	if err != nil || !ok {
		t.Fatalf("card refused the approval: %v %v", ok, err)
	}
}
