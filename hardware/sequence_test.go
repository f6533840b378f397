package hardware_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/store"
	"github.com/vinr/cashlessd/emv"
	"github.com/vinr/cashlessd/hardware"
)

// TestSequenceCounterSurvivesRestart pays chip sales through simulator
// mode's devices (the virtual reader on a pseudo-terminal, the host
// simulator over TCP, the store in bbolt), opens them again over the same
// data directory, and pays again: the terminal transaction sequence
// counter (9F41) in the chip data the host receives goes up with every
// transaction and across the restart, and the card's ATC (9F36) goes up
// with every transaction while the simulator runs.
func TestSequenceCounterSurvivesRestart(t *testing.T) {
	t.Parallel()
	cfg := simConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var last uint64
	n := 0
	for run := range 2 {
		db, err := store.Open(cfg.DataDir, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		devs, err := hardware.Open(ctx, cfg, db, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		pan, chip, now := "4242424242424242", daemon.EntryChip, time.Duration(0)
		if err := devs.Simulator.SetCard(daemon.SimCard{PAN: &pan, EntryMethod: &chip, PresentAfter: &now}); err != nil {
			t.Fatal(err)
		}
		var lastATC uint64
		for i := range 2 {
			n++
			id := fmt.Sprintf("tx-seq-%d", n)
			sess, err := devs.Reader.Detect(ctx, daemon.CardRequest{Kind: daemon.KindSale, Amount: 1000, Currency: "USD", TransactionID: id})
			if err != nil {
				t.Fatal(err)
			}
			data, err := sess.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			seq, atc := bcdOrBinary(t, data.ICCData, emv.TagSequenceCounter, true), bcdOrBinary(t, data.ICCData, emv.TagATC, false)
			if seq <= last {
				t.Errorf("run %d, sale %d: 9F41 %d after %d", run, i, seq, last)
			}
			if i > 0 && atc != lastATC+1 {
				t.Errorf("run %d, sale %d: ATC %d after %d", run, i, atc, lastATC)
			}
			last, lastATC = seq, atc
			resp, err := devs.Host.Authorise(ctx, daemon.AuthRequest{Kind: daemon.KindSale, TransactionID: id, Reference: "ref-" + id,
				Amount: 1000, Currency: "USD", Card: &data, Time: time.Now()})
			if err != nil || !resp.Approved {
				t.Fatalf("run %d, sale %d: %+v %v", run, i, resp, err)
			}
			if _, err := sess.Complete(ctx, resp); err != nil {
				t.Fatal(err)
			}
			_ = sess.Close()
		}
		if err := devs.Close(); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// bcdOrBinary reads a tag of chip data as a number: n digits (BCD) or
// binary.
func bcdOrBinary(t *testing.T, icc []byte, tag emv.Tag, bcd bool) uint64 {
	t.Helper()
	v, ok := emv.Find(icc, tag)
	if !ok || len(v) == 0 {
		t.Fatalf("no %s in the chip data", tag)
	}
	var n uint64
	for _, b := range v {
		if bcd {
			n = n*100 + uint64(b>>4)*10 + uint64(b&0x0F)
		} else {
			n = n<<8 | uint64(b)
		}
	}
	return n
}
