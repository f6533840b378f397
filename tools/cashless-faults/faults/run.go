package faults

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/vinr/cashlessd/daemon"
)

// opWeights is how often each operation is the one interrupted.
var opWeights = []struct {
	op     string
	weight int
}{{OpSale, 30}, {OpPreauth, 14}, {OpCompletion, 12}, {OpIncrement, 10}, {OpRelease, 8}, {OpRefund, 20}, {OpBatch, 14}, {OpVoid, 12}}

// pickOp picks the operation of the next kill: first every operation once
// (in a random order, so even a short run kills each), then by weight.
func (h *Harness) pickOp() string {
	if h.firstOps == nil {
		for _, w := range opWeights {
			if len(h.opt.Ops) == 0 || slices.Contains(h.opt.Ops, w.op) {
				h.firstOps = append(h.firstOps, w.op)
			}
		}
		h.rng.Shuffle(len(h.firstOps), func(i, j int) { h.firstOps[i], h.firstOps[j] = h.firstOps[j], h.firstOps[i] })
	}
	if len(h.firstOps) > 0 {
		op := h.firstOps[0]
		h.firstOps = h.firstOps[1:]
		return op
	}
	return h.weightedOp()
}

// weightedOp picks an operation by its weight.
func (h *Harness) weightedOp() string {
	total := 0
	for _, w := range opWeights {
		if len(h.opt.Ops) > 0 && !slices.Contains(h.opt.Ops, w.op) {
			continue
		}
		total += w.weight
	}
	n := h.rng.IntN(total)
	for _, w := range opWeights {
		if len(h.opt.Ops) > 0 && !slices.Contains(h.opt.Ops, w.op) {
			continue
		}
		if n < w.weight {
			return w.op
		}
		n -= w.weight
	}
	return OpSale
}

// termAims are the SIGTERM rounds, in turn.
var termAims = []struct{ op, aim string }{
	{OpSale, aimWaiting}, {OpSale, aimInFlight}, {OpRefund, aimInFlight}, {OpSale, aimPrinting},
	{OpBatch, aimInFlight}, {OpPreauth, aimBeforeHost}, {OpCompletion, aimInFlight}, {OpVoid, aimInFlight}, {"", aimIdle},
}

// RunCrash kills the daemon opt.Kills times and stops it opt.Terms times
// at random moments of random operations, restarting it each time, then
// stops it and reconciles the host's ledger with the terminal's database
// once more with nothing allowed in doubt.
func RunCrash(ctx context.Context, opt Options) (*Report, error) {
	h, err := NewHarness(opt, "")
	if err != nil {
		return nil, err
	}
	defer func() { h.Close() }()
	if _, err := h.startDaemon(ctx); err != nil {
		return h.Report, err
	}
	h.progress("crash rounds: %d kills, %d SIGTERMs, seed %d, work dir %s", opt.Kills, opt.Terms, opt.Seed, opt.Dir)
	begin := time.Now()
	round, terms, segment := 0, 0, 1
	for h.Report.Kills("SIGKILL") < opt.Kills || terms < opt.Terms {
		if err := ctx.Err(); err != nil {
			return h.Report, err
		}
		round++
		killsLeft := opt.Kills - h.Report.Kills("SIGKILL")
		termsLeft := opt.Terms - terms
		var err error
		op := ""
		if termsLeft > 0 && (killsLeft <= 0 || h.rng.IntN(killsLeft+termsLeft) < termsLeft) {
			ta := termAims[terms%len(termAims)]
			terms++
			err = h.TermRound(ctx, round, ta.op, ta.aim)
		} else {
			op = h.pickOp()
			aims := aims[op]
			err = h.KillRound(ctx, round, op, aims[h.rng.IntN(len(aims))])
		}
		if errors.Is(err, errNoOriginal) {
			// Make an original, then try the operation again.
			if op != "" {
				h.firstOps = append([]string{op}, h.firstOps...)
			}
			err = h.setup(ctx)
		}
		if err != nil {
			return h.Report, fmt.Errorf("round %d: %w", round, err)
		}
		if h.stuck != "" {
			// Every later close would fail the same way: reconcile this
			// terminal's money (settlement aside) and go on with a new
			// terminal and host, so the remaining rounds still count.
			segment++
			h.progress("round %d: batch stuck; reconciling and starting terminal %d", round, segment)
			h.final(ctx)
			rep, seq := h.Report, h.seq
			h.Close()
			o := opt
			o.Dir = filepath.Join(opt.Dir, fmt.Sprintf("terminal-%d", segment))
			if h, err = NewHarness(o, ""); err != nil {
				return rep, err
			}
			h.Report, h.seq = rep, seq
			if _, err := h.startDaemon(ctx); err != nil {
				return h.Report, err
			}
		}
	}
	if opt.LongShutdown {
		round++
		if err := h.TermRound(ctx, round, OpSale, aimNever); err != nil {
			return h.Report, err
		}
	}
	h.final(ctx)
	h.summarise(time.Since(begin), segment)
	return h.Report, nil
}

// setup runs a sale and a pre-auth without faults, so refunds and
// completions have originals.
func (h *Harness) setup(ctx context.Context) error {
	for _, op := range []string{OpSale, OpPreauth} {
		r := h.newRequest(op, false)
		if err := h.setCard(ctx, r, aimDone); err != nil {
			return err
		}
		r.pan = approvingPANs[0]
		if a := h.ecr.Post(ctx, "/simulator/v1/card", map[string]any{"pan": r.pan, "presentAfterMs": 0}); a.Status != 200 {
			return fmt.Errorf("card: %s", a.Raw)
		}
		if a := h.run(ctx, r); a.Status != 200 {
			return fmt.Errorf("setup %s: %s %v", op, a.Raw, a.Err)
		}
	}
	return nil
}

// final stops the daemon gracefully and reconciles with nothing in doubt.
func (h *Harness) final(ctx context.Context) {
	if err := h.stopDaemon(); err != nil {
		h.Report.Violate(Violation{VShutdown, err.Error()})
	}
	h.d = nil
	s, l, _, bad := h.inspect(nil, nil, false, false)
	for _, v := range bad {
		h.Report.ViolateAt(v, "final")
	}
	if s == nil {
		return
	}
	if len(s.Pending) > 0 {
		h.Report.Violate(Violation{VRecovery, fmt.Sprintf("final: %d transactions still pending", len(s.Pending))})
	}
	if len(s.Reversals) > 0 {
		h.Report.Violate(Violation{VRecovery, fmt.Sprintf("final: %d reversals still queued", len(s.Reversals))})
	}
	for _, a := range h.answers {
		t := s.Txs[a.txID]
		switch {
		case a.txID == "":
		case a.kind == string(daemon.KindVoid) && a.status == 200:
			if t == nil || t.Status != daemon.StatusApproved || s.Txs[t.OriginalID] == nil ||
				s.Txs[t.OriginalID].Status != daemon.StatusVoided || held(l, t.OriginalID) {
				h.Report.Violate(Violation{VLostApproval, fmt.Sprintf("final: the ECR was told void %q %s was approved; terminal %v, the host still holds the original %v", a.ref, a.txID, t, t != nil && held(l, t.OriginalID))})
			}
		case a.status == 200 && t != nil && t.Status == daemon.StatusVoided && !held(l, a.txID):
			// Approved, then voided by the ECR: reversed at the host.
		case a.kind == string(daemon.KindRelease):
			// A release holds nothing at the host; its pre-auth must be
			// reversed.
			var orig *daemon.Transaction
			if t != nil {
				orig = s.Txs[t.OriginalID]
			}
			if a.status == 200 && (t == nil || t.Status != daemon.StatusApproved || orig == nil || orig.HoldEnd != daemon.HoldReleased || held(l, orig.ID)) {
				h.Report.Violate(Violation{VLostApproval, fmt.Sprintf("final: the ECR was told release %q %s was approved; terminal %v, pre-auth %v", a.ref, a.txID, t, orig)})
			}
		case a.status == 200 && t != nil && given(t):
			// A pre-auth released (or expired) since: the host must have
			// reversed it.
			if t.Status != daemon.StatusApproved || held(l, a.txID) {
				h.Report.Violate(Violation{VOrphan, fmt.Sprintf("final: pre-auth %q %s was %s on the terminal; host holds it %v", a.ref, a.txID, t.HoldEnd, held(l, a.txID))})
			}
		case a.status == 200 && (t == nil || t.Status != daemon.StatusApproved || !held(l, a.txID)):
			h.Report.Violate(Violation{VLostApproval, fmt.Sprintf("final: the ECR was told %s %q %s was approved; terminal %v, host holds it %v", a.kind, a.ref, a.txID, t != nil && t.Status == daemon.StatusApproved, held(l, a.txID))})
		case a.status != 200 && t != nil && (t.Status == daemon.StatusApproved || held(l, a.txID)):
			h.Report.Violate(Violation{VECR, fmt.Sprintf("final: the ECR was told %d %s for %q but %s is %s (host holds it %v)", a.status, a.code, a.ref, a.txID, t.Status, held(l, a.txID))})
		}
	}
	// Totals: what the host holds equals what the terminal booked.
	hostSum, termSum := map[string]int64{}, map[string]int64{}
	hostN, termN, reversed := 0, 0, 0
	for _, a := range l.Approvals {
		if a.TerminalID != HostTerminalID {
			continue
		}
		if a.Reversed {
			reversed++
			continue
		}
		hostN++
		hostSum[a.Kind] += a.Amount
	}
	for _, t := range s.Txs {
		if t.Status == daemon.StatusApproved && !given(t) && t.Kind != daemon.KindRelease {
			termN++
			termSum[string(t.Kind)] += t.TotalAmount()
		}
	}
	for _, k := range []string{"sale", "preauth", "completion", "refund", "increment"} {
		if hostSum[k] != termSum[k] {
			h.Report.Violate(Violation{VBookkeeping, fmt.Sprintf("final: host holds %d in %ss, the terminal booked %d", hostSum[k], k, termSum[k])})
		}
	}
	settled := 0
	for _, st := range l.Settlements {
		if st.ResponseCode == "00" {
			settled++
		}
	}
	h.Report.Note("Final reconciliation (%s): the host holds %d approvals (%d reversed, %d settlements), the terminal booked %d approved of %d transactions; sales %d, pre-auths %d (not released), increments %d, completions %d, refunds %d (minor units) on both sides.",
		filepath.Base(h.opt.Dir), hostN, reversed, settled, termN, len(s.Txs), hostSum["sale"], hostSum["preauth"], hostSum["increment"], hostSum["completion"], hostSum["refund"])
}

func (h *Harness) summarise(took time.Duration, terminals int) {
	var maxRec, sumRec time.Duration
	n := 0
	for _, p := range h.Report.Points {
		if p.Recovery > 0 {
			n++
			sumRec += p.Recovery
			maxRec = max(maxRec, p.Recovery)
		}
	}
	avg := time.Duration(0)
	if n > 0 {
		avg = sumRec / time.Duration(n)
	}
	h.Report.Note("Crash rounds took %s on %d terminal(s) (a new terminal and host after each batch that never settles); restart to ready (recovery included) averaged %s, at most %s; seed %d.",
		took.Round(time.Second), terminals, avg.Round(time.Millisecond), maxRec.Round(time.Millisecond), h.opt.Seed)
}
