package faults

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/vinr/cashlessd/certs"
	"github.com/vinr/cashlessd/daemon"
)

const (
	aimIdle  = "idle"
	aimNever = "card never presented (outlives the grace)"
)

// shutdownGrace is the daemon's bound on draining (serve.go).
const shutdownGrace = 30 * time.Second

// TermRound sends SIGTERM at a phase of an operation and checks that the
// daemon stops taking work, finishes or resolves what runs within the
// grace, answers the running request and exits 0; then restarts it.
func (h *Harness) TermRound(ctx context.Context, round int, op, aim string) error {
	var r *request
	var a *armed
	var got Answer
	answered := false
	lastStage := ""
	if aim != aimIdle {
		r = h.newRequest(op, aim == aimPrinting)
		if r == nil {
			return errNoOriginal
		}
		armAim := aim
		if aim == aimNever {
			armAim = aimWaiting
		}
		var err error
		if a, err = h.arm(ctx, r, armAim); err != nil {
			return err
		}
		if aim == aimNever {
			if x := h.ecr.Post(ctx, "/simulator/v1/card", map[string]any{"present": false}); x.Status != 200 {
				return fmt.Errorf("card: %s", x.Raw)
			}
		}
		got, answered, _ = h.fire(a, armAim, syscall.SIGTERM)
		a.poller.mu.Lock()
		lastStage = a.poller.last
		a.poller.mu.Unlock()
	} else {
		_ = h.d.Signal(syscall.SIGTERM)
	}
	signalled := time.Now()
	var bad []Violation
	violate := func(class, f string, x ...any) { bad = append(bad, Violation{class, fmt.Sprintf(f, x...)}) }

	// New work must be refused while the daemon drains: probe once it
	// says so (a signal takes a moment to be handled).
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && !strings.Contains(h.d.Log(), "shutting down"); {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	probeRef := fmt.Sprintf("PROBE-%05d", round)
	if probe, err := NewECR(h.ecr.Base, filepath.Join(h.dataDir, "certs", certs.CAFile)); err == nil {
		pa := probe.Post(ctx, "/cashless/v1/sale", map[string]any{"amount": 100, "currency": "USD", "reference": probeRef})
		probe.Close()
		if pa.Err == nil && !(pa.Status == 409 && pa.Code() == daemon.CodeTerminalBusy) {
			violate(VShutdown, "a new sale after SIGTERM got %s", pa.Outcome())
		}
	}

	limit := shutdownGrace + 10*time.Second
	if !h.d.Wait(limit) {
		violate(VShutdown, "cashlessd still running %s after SIGTERM", limit)
		h.d.Kill()
	}
	h.checkRace(h.d)
	exit := h.d.ExitedAt().Sub(signalled)
	if err := h.d.ExitErr(); err != nil {
		violate(VShutdown, "exit status after SIGTERM: %v", err)
	}
	if exit > shutdownGrace+3*time.Second {
		violate(VShutdown, "exit took %s, the grace is %s", exit, shutdownGrace)
	}
	var evs []Event
	if a != nil {
		a.poller.finish()
		evs = h.proxy.Since(a.mark)
		if !answered {
			select {
			case got = <-a.answer:
			case <-time.After(5 * time.Second):
				got = Answer{Err: errors.New("no answer")}
			}
		}
	}
	h.proxy.SetRules()

	s, _, t, rb := h.inspect(r, nil, false, true)
	bad = append(bad, rb...)
	p := KillPoint{Round: round, Signal: "SIGTERM", Op: op, Aimed: aim, Exit: exit, ECR: "-"}
	if r == nil {
		p.Op, p.Phase, p.Outcome = "-", PhaseIdle, "exited"
	} else {
		p.ECR = got.Outcome()
		if got.Err != nil {
			violate(VShutdown, "the running %s %q got no answer before the exit: %v", r.op, r.ref, got.Err)
		}
		bad = append(bad, checkAnswer(r, got, s)...)
		closed := false
		if s != nil {
			_, closed = s.BatchRefs[r.ref]
			if len(s.Pending) > 0 {
				violate(VShutdown, "%d transactions left pending after a graceful stop", len(s.Pending))
			}
			if len(s.ByReference(daemon.KindSale, probeRef)) > 0 {
				violate(VShutdown, "the sale sent after SIGTERM was started")
			}
		}
		// The phase is what was running when the signal came.
		var before []Event
		for _, e := range evs {
			if !e.At.After(signalled) {
				before = append(before, e)
			}
		}
		var pending *daemon.Transaction
		if t != nil {
			c := *t
			c.Status = daemon.StatusPending
			pending = &c
		}
		p.Phase = classify(r, pending, false, before, lastStage, "")
		if answered {
			p.Phase = PhaseDone
		}
		switch {
		case r.op == OpBatch && closed:
			p.Outcome = "batch closed"
		case r.op == OpBatch:
			p.Outcome = "batch open"
		case t == nil:
			p.Outcome = "nothing recorded"
		default:
			p.Outcome = "finished " + string(t.Status)
			if t.ReversalPending {
				p.Outcome += " (reversal queued)"
			}
		}
		if s != nil {
			for id := range s.Txs {
				h.known[id] = true
			}
		}
		h.record(r, got)
	}

	took, err := h.startDaemon(ctx)
	if err != nil {
		bad = append(bad, Violation{VRecovery, err.Error()})
		h.finishPoint(p, bad)
		return err
	}
	p.Recovery = took
	if n, err := h.waitNoReversals(ctx, 10*time.Second); err != nil || n != 0 {
		violate(VRecovery, "%d reversals still queued 10 s after the restart (%v)", n, err)
	}
	if r != nil && (got.Err != nil || got.Status != 200) {
		var rv []Violation
		closed := false
		if s != nil {
			_, closed = s.BatchRefs[r.ref]
		}
		p.Retry, rv = h.retry(ctx, r, t, closed)
		bad = append(bad, rv...)
	}
	h.finishPoint(p, bad)
	return nil
}
