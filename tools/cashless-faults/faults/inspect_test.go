package faults

import (
	"testing"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/host"
	"github.com/vinr/cashlessd/daemon/host/hostsim"
	"github.com/vinr/cashlessd/daemon/store"
)

// The reconciliation must catch what it is there to catch: each case
// breaks one invariant on purpose.
func TestReconcileCatchesEachViolation(t *testing.T) {
	t.Parallel()
	sale := func(id, ref string, st daemon.Status) *daemon.Transaction {
		return &daemon.Transaction{ID: id, Kind: daemon.KindSale, Reference: ref, Status: st, Amount: 500, Currency: "USD", BatchID: "b1"}
	}
	approval := func(id string, reversed bool) hostsim.Approval {
		return hostsim.Approval{Kind: "sale", TerminalID: HostTerminalID, TransactionID: id, Amount: 500, Reversed: reversed}
	}
	snap := func(txs ...*daemon.Transaction) *Snapshot {
		s := &Snapshot{Txs: map[string]*daemon.Transaction{}, Batches: map[string]*daemon.Batch{"b1": {ID: "b1", Status: daemon.BatchOpen}},
			Refs: map[string]string{}, Pending: map[string]bool{}, Reversals: map[string]bool{}}
		for _, t := range txs {
			s.Txs[t.ID] = t
			if t.Status == daemon.StatusApproved {
				s.Refs[store.RefKey(t.Kind, t.Reference)] = t.ID
				if b := s.Batches[t.BatchID]; b != nil {
					b.Add(t)
				}
			}
			if t.Status == daemon.StatusPending {
				s.Pending[t.ID] = true
			}
			if t.ReversalPending {
				s.Reversals[t.ID] = true
			}
		}
		return s
	}
	voided := func(id, ref string, queued bool) *daemon.Transaction {
		t := sale(id, ref, daemon.StatusVoided)
		t.ReversalPending = queued
		return t
	}
	void := func(id, ref, orig string) *daemon.Transaction {
		return &daemon.Transaction{ID: id, Kind: daemon.KindVoid, Reference: ref, Status: daemon.StatusApproved, Amount: 500,
			Currency: "USD", OriginalID: orig}
	}
	queued := sale("t2", "R2", daemon.StatusFailed)
	queued.ReversalPending = true
	cases := []struct {
		name  string
		s     *Snapshot
		l     []hostsim.Approval
		doubt Doubt
		want  string // "" for none
	}{
		{"clean", snap(sale("t1", "R1", daemon.StatusApproved)), []hostsim.Approval{approval("t1", false)}, Doubt{}, ""},
		{"orphan: host holds a failed sale", snap(sale("t1", "R1", daemon.StatusFailed)), []hostsim.Approval{approval("t1", false)}, Doubt{}, VOrphan},
		{"orphan: host holds an unknown transaction", snap(), []hostsim.Approval{approval("t9", false)}, Doubt{}, VOrphan},
		{"pending at a kill is in doubt", snap(sale("t1", "R1", daemon.StatusPending)), []hostsim.Approval{approval("t1", false)}, Doubt{Tx: map[string]bool{"t1": true}}, ""},
		{"pending after recovery is an orphan", snap(sale("t1", "R1", daemon.StatusPending)), []hostsim.Approval{approval("t1", false)}, Doubt{}, VOrphan},
		{"queued reversal mid-run", snap(queued), []hostsim.Approval{approval("t2", false)}, Doubt{Queued: true}, ""},
		{"queued reversal at the end", snap(queued), []hostsim.Approval{approval("t2", false)}, Doubt{}, VOrphan},
		{"lost: booked but reversed at the host", snap(sale("t1", "R1", daemon.StatusApproved)), []hostsim.Approval{approval("t1", true)}, Doubt{}, VLostApproval},
		{"lost: booked, host has nothing", snap(sale("t1", "R1", daemon.StatusApproved)), nil, Doubt{}, VLostApproval},
		{"double charge at the host", snap(sale("t1", "R1", daemon.StatusApproved), sale("t3", "R1", daemon.StatusFailed)),
			[]hostsim.Approval{approval("t1", false), approval("t3", false)}, Doubt{Queued: true, Tx: map[string]bool{"t3": true}}, VDoubleCharge},
		{"refund bookkeeping", snap(func() *daemon.Transaction {
			x := sale("t1", "R1", daemon.StatusApproved)
			x.RefundedAmount = 100
			return x
		}()),
			[]hostsim.Approval{approval("t1", false)}, Doubt{}, VBookkeeping},
		{"void: original voided and reversed", snap(voided("t1", "R1", false), void("t5", "V1", "t1")),
			[]hostsim.Approval{approval("t1", true)}, Doubt{}, ""},
		{"void: reversal queued mid-run", snap(voided("t1", "R1", true), void("t5", "V1", "t1")),
			[]hostsim.Approval{approval("t1", false)}, Doubt{Queued: true}, ""},
		{"void: the host still holds the original at the end", snap(voided("t1", "R1", true), void("t5", "V1", "t1")),
			[]hostsim.Approval{approval("t1", false)}, Doubt{}, VOrphan},
		{"void: booked, original still approved", snap(sale("t1", "R1", daemon.StatusApproved), void("t5", "V1", "t1")),
			[]hostsim.Approval{approval("t1", false)}, Doubt{}, VBookkeeping},
		{"void: original still counted in its batch", func() *Snapshot {
			s := snap(voided("t1", "R1", false), void("t5", "V1", "t1"))
			s.Batches["b1"].Add(sale("t1", "R1", daemon.StatusApproved))
			return s
		}(), []hostsim.Approval{approval("t1", true)}, Doubt{}, VBookkeeping},
	}
	settledTwice := hostsim.Ledger{Approvals: []hostsim.Approval{{Kind: "sale", TerminalID: HostTerminalID, TransactionID: "t1", Amount: 500, Settled: true}},
		Settlements: []hostsim.Settlement{
			{TerminalID: HostTerminalID, Batch: "000001", ResponseCode: "00", Host: host.BatchTotals{CaptureCount: 1, CaptureAmount: 500}},
			{TerminalID: HostTerminalID, Batch: "000001", ResponseCode: "00", Host: host.BatchTotals{CaptureCount: 1, CaptureAmount: 500}},
		}}
	closed := snap(sale("t1", "R1", daemon.StatusApproved))
	closed.Batches["b1"].Status = daemon.BatchClosed
	if got := Reconcile(closed, settledTwice, HostTerminalID, Doubt{}); len(got) != 1 || got[0].Class != VDoubleSettle {
		t.Errorf("a sale in two accepted settlements: %v", got)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Reconcile(c.s, hostsim.Ledger{Approvals: c.l}, HostTerminalID, c.doubt)
			if c.want == "" {
				if len(got) > 0 {
					t.Fatalf("unexpected: %v", got)
				}
				return
			}
			for _, v := range got {
				if v.Class == c.want {
					return
				}
			}
			t.Fatalf("want a %q violation, got %v", c.want, got)
		})
	}
}
