package faults

import (
	"fmt"
	"slices"

	"github.com/vinr/cashlessd/daemon"
)

// OpVoid is a void of an approved sale or completion of the open batch.
const OpVoid = "void"

// newVoid makes r a void of a pooled sale or completion that has no
// refunds and is still in the open batch as far as the ECR knows; nil when
// there is none.
func (h *Harness) newVoid(r *request) *request {
	var open []*original
	for _, o := range h.sales {
		if o.refunded == 0 && !o.closed {
			open = append(open, o)
		}
	}
	if len(open) == 0 {
		return nil
	}
	o := open[h.rng.IntN(len(open))]
	r.kind, r.path, r.orig, r.amount = daemon.KindVoid, "/cashless/v1/void", o, o.amount
	r.body = map[string]any{"originalReference": o.ref, "reference": r.ref}
	return r
}

// voided takes a voided original out of the pool: it can no longer be
// refunded or voided.
func (h *Harness) voided(o *original) {
	h.sales = slices.DeleteFunc(h.sales, func(x *original) bool { return x == o })
}

// batchClosed marks every pooled original as in a closed batch: no void
// reaches it any more.
func (h *Harness) batchClosed() {
	for _, o := range h.sales {
		o.closed = true
	}
}

// voidViolations checks a booked void: its original is marked voided (the
// host's side, reversed or queued, is checked with the approvals).
func voidViolations(s *Snapshot, t *daemon.Transaction) []Violation {
	o := s.Txs[t.OriginalID]
	switch {
	case o == nil:
		return []Violation{{VBookkeeping, fmt.Sprintf("void %s %q: its original %s is not on the terminal", t.ID, t.Reference, t.OriginalID)}}
	case o.Status != daemon.StatusVoided:
		return []Violation{{VBookkeeping, fmt.Sprintf("void %s %q is booked but its original %s %q is %s", t.ID, t.Reference, o.ID, o.Reference, o.Status)}}
	}
	return nil
}

// batchTotalViolations checks that every batch counts exactly its approved
// sales, completions and refunds: a voided one has left its batch's counts
// and amounts.
func batchTotalViolations(s *Snapshot) []Violation {
	type sum struct{ n, net int64 }
	in := map[string]*sum{}
	for _, t := range s.Txs {
		counted := t.Kind == daemon.KindSale || t.Kind == daemon.KindCompletion || t.Kind == daemon.KindRefund
		if t.Status != daemon.StatusApproved || t.BatchID == "" || !counted {
			continue
		}
		x := in[t.BatchID]
		if x == nil {
			x = &sum{}
			in[t.BatchID] = x
		}
		x.n++
		if t.Kind == daemon.KindRefund {
			x.net -= t.TotalAmount()
		} else {
			x.net += t.TotalAmount()
		}
	}
	var out []Violation
	for id, b := range s.Batches {
		x := in[id]
		if x == nil {
			x = &sum{}
		}
		if b.TransactionCount() != x.n || b.TotalAmount() != x.net {
			out = append(out, Violation{VBookkeeping, fmt.Sprintf("batch %s (%s) counts %d transactions, %d net; its approved transactions are %d, %d net",
				id, b.Status, b.TransactionCount(), b.TotalAmount(), x.n, x.net)})
		}
	}
	return out
}
