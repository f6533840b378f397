package faults

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/host"
	"github.com/vinr/cashlessd/daemon/host/hostsim"
	"github.com/vinr/cashlessd/daemon/store"
)

// Snapshot is the terminal's database, read while the daemon is stopped.
type Snapshot struct {
	Txs       map[string]*daemon.Transaction
	Batches   map[string]*daemon.Batch
	Refs      map[string]string // store.RefKey(kind, reference) → transaction ID
	BatchRefs map[string]string // reference → batch ID
	Pending   map[string]bool
	Reversals map[string]bool
	Advices   map[string]bool
	OpenBatch string
}

// Settling reports whether the batch close under ref had begun settling
// (totals and batch number fixed) without the host's confirmation.
func (s *Snapshot) Settling(ref string) bool {
	for _, b := range s.Batches {
		if b.Status == daemon.BatchSettling && b.Reference == ref {
			return true
		}
	}
	return false
}

// ByReference lists the transactions of a kind and reference, oldest
// first.
func (s *Snapshot) ByReference(kind daemon.Kind, ref string) []*daemon.Transaction {
	var out []*daemon.Transaction
	for _, t := range s.Txs {
		if t.Kind == kind && t.Reference == ref {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// ReadSnapshot reads the database read-only (it must not be in use) with
// store.Inspect, which checks bbolt's consistency and reads every bucket
// the reconciliation needs. It then opens a copy with the daemon's own
// store code, to prove the file opens as the daemon would open it, and
// cross-checks the reference index through it.
func ReadSnapshot(dataDir, scratch string) (*Snapshot, error) {
	c, err := store.Inspect(dataDir, 2*time.Second)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	s := &Snapshot{Txs: c.Transactions, Batches: c.Batches, Refs: c.Refs, BatchRefs: c.BatchRefs,
		Pending: c.Pending, Reversals: c.Reversals, Advices: c.Advices, OpenBatch: c.OpenBatch}
	if scratch != "" {
		if err := s.checkWithStore(filepath.Join(dataDir, store.FileName), scratch); err != nil {
			return s, err
		}
	}
	return s, nil
}

// checkWithStore opens a copy of the file with store.Open and checks that
// the daemon's own queries agree with the raw buckets.
func (s *Snapshot) checkWithStore(path, scratch string) error {
	dir, err := os.MkdirTemp(scratch, "dbcopy-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := copyFile(path, filepath.Join(dir, store.FileName)); err != nil {
		return err
	}
	db, err := store.Open(dir, 2*time.Second)
	if err != nil {
		return fmt.Errorf("store.Open: %w", err)
	}
	defer db.Close()
	pend, err := db.PendingTransactions()
	if err != nil {
		return fmt.Errorf("PendingTransactions: %w", err)
	}
	if len(pend) != len(s.Pending) {
		return fmt.Errorf("PendingTransactions lists %d, the pending bucket %d", len(pend), len(s.Pending))
	}
	for _, t := range s.Txs {
		if t.Status != daemon.StatusApproved {
			continue
		}
		got, err := db.ApprovedByReference(t.Kind, t.Reference)
		if err != nil || got.ID != t.ID {
			id := ""
			if got != nil {
				id = got.ID
			}
			return fmt.Errorf("approved %s %q (%s) is not what ApprovedByReference returns (%q, %v): two approvals for one reference?", t.Kind, t.Reference, t.ID, id, err)
		}
	}
	return nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

// Violation is a broken invariant.
type Violation struct {
	Class  string // lost approval, double charge, unreversed orphan, …
	Detail string
}

func (v Violation) String() string { return v.Class + ": " + v.Detail }

// Violation classes.
const (
	VLostApproval   = "lost approval"            // ECR told approved, or terminal booked, but the host does not hold it
	VDoubleCharge   = "double charge"            // two held approvals for one kind and reference
	VOrphan         = "unreversed orphan"        // the host holds money the terminal did not book
	VBookkeeping    = "bookkeeping mismatch"     // refunds, captures or settlement differ between host and terminal
	VDatabase       = "database"                 // the file does not open cleanly, or indexes disagree
	VRetry          = "retry"                    // the ECR's retry of the reference did not end as it must
	VECR            = "ECR answer"               // an answer the ECR got contradicts the books
	VShutdown       = "graceful shutdown"        // SIGTERM did not drain, answer, or exit in time
	VRecovery       = "recovery"                 // the restart did not resolve what was pending
	VDeviceRecovery = "device fault"             // a device fault did not end in the documented error or did not recover
	VLoad           = "load"                     // busy handling, pollers, limits
	VStorage        = "storage"                  // disk full or corrupt database handling
	VSecret         = "secret on disk or in log" // PAN, track data, key
	VRace           = "data race"                // the race detector reported in a child
	VFuzz           = "fuzz target failed"       // go test -fuzz found an input that breaks a property
	VDoubleSettle   = "double settlement"        // an approval counted by two accepted settlements: paid out twice
	VSettlement     = "batch never settles"      // a batch close left host and terminal disagreeing on what is settled
)

// Doubt lists what may legitimately be unresolved at the moment of a
// kill: the transaction that was running (pending, recovery resolves it)
// and a batch close in flight.
type Doubt struct {
	Tx       map[string]bool
	Batch    bool
	Queued   bool // reversals may still wait in the queue
	Original map[string]bool
	// SettlementBroken skips the settlement checks once a stuck batch
	// was reported (VSettlement): every later close fails the same way.
	SettlementBroken bool
}

// Reconcile compares the host's ledger with the terminal's database.
func Reconcile(s *Snapshot, l hostsim.Ledger, terminalID string, doubt Doubt) []Violation {
	var out []Violation
	add := func(class, f string, a ...any) { out = append(out, Violation{class, fmt.Sprintf(f, a...)}) }
	doubtOrig := map[string]bool{}
	for id := range doubt.Original {
		doubtOrig[id] = true
	}
	for _, t := range s.Txs {
		if t.OriginalID != "" && ((t.Status == daemon.StatusPending && doubt.Tx[t.ID]) || (t.ReversalPending && (doubt.Queued || doubt.Tx[t.ID]))) {
			doubtOrig[t.OriginalID] = true
		}
	}
	held := map[string]*hostsim.Approval{}
	perRef := map[string][]string{}
	for i := range l.Approvals {
		a := &l.Approvals[i]
		if a.TerminalID != terminalID {
			continue
		}
		t := s.Txs[a.TransactionID]
		if a.Reversed {
			if t != nil && t.Status == daemon.StatusApproved && !given(t) {
				add(VLostApproval, "%s %s %q is booked approved on the terminal but the host reversed it", t.Kind, t.ID, t.Reference)
			}
			continue
		}
		held[a.TransactionID] = a
		switch {
		case t == nil:
			add(VOrphan, "host holds %s %d (rrn %s, tx %s) that the terminal never recorded", a.Kind, a.Amount, a.RRN, a.TransactionID)
			continue
		case t.Status == daemon.StatusApproved && given(t) && !(t.ReversalPending && (doubt.Queued || doubt.Tx[t.ReleaseID])):
			add(VOrphan, "host holds pre-auth %s %q (%d), which the terminal %s and does not reverse any more", t.ID, t.Reference, a.Held(), t.HoldEnd)
		case t.Status == daemon.StatusApproved:
			if string(t.Kind) != a.Kind || t.TotalAmount() != a.Amount {
				add(VBookkeeping, "%s: terminal %s %d, host %s %d", t.ID, t.Kind, t.TotalAmount(), a.Kind, a.Amount)
			}
			if t.HostReference != "" && t.HostReference != a.RRN {
				add(VBookkeeping, "%s: terminal RRN %s, host %s", t.ID, t.HostReference, a.RRN)
			}
		case t.Status == daemon.StatusPending && doubt.Tx[t.ID]:
		case t.ReversalPending && (doubt.Queued || doubt.Tx[t.ID]):
		default:
			add(VOrphan, "host holds %s %d for %s %q, which the terminal has as %s (reversal pending %v)", a.Kind, a.Amount, t.ID, t.Reference, t.Status, t.ReversalPending)
		}
		perRef[a.Kind+"\x00"+t.Reference] = append(perRef[a.Kind+"\x00"+t.Reference], t.ID)
	}
	for k, ids := range perRef {
		if len(ids) > 1 {
			kind, ref, _ := strings.Cut(k, "\x00")
			add(VDoubleCharge, "the host holds %d approvals of %s %q: %v", len(ids), kind, ref, ids)
		}
	}
	booked := map[string][]string{}
	for _, t := range s.Txs {
		if t.Status == daemon.StatusPending && !s.Pending[t.ID] {
			add(VDatabase, "%s is pending but not in the pending queue", t.ID)
		}
		if t.Status != daemon.StatusPending && s.Pending[t.ID] {
			add(VDatabase, "%s is %s but still in the pending queue", t.ID, t.Status)
		}
		if t.ReversalPending != s.Reversals[t.ID] {
			add(VDatabase, "%s reversal flag %v, queue %v", t.ID, t.ReversalPending, s.Reversals[t.ID])
		}
		if t.Status != daemon.StatusApproved {
			continue
		}
		k := string(t.Kind) + "\x00" + t.Reference
		booked[k] = append(booked[k], t.ID)
		if indexed := s.Refs[store.RefKey(t.Kind, t.Reference)]; indexed != t.ID {
			add(VDatabase, "approved %s %q (%s) is not the one the reference index points to (%s)", t.Kind, t.Reference, t.ID, indexed)
		}
		if t.Kind == daemon.KindVoid {
			out = append(out, voidViolations(s, t)...)
			continue
		}
		a := held[t.ID]
		if t.Kind == daemon.KindRelease || (a == nil && given(t)) {
			// A release has no approval of its own: its pre-auth's
			// reversal is checked above.
			continue
		}
		if a == nil {
			add(VLostApproval, "the terminal booked %s %s %q (%d) but the host holds no approval for it", t.Kind, t.ID, t.Reference, t.TotalAmount())
			continue
		}
		if doubtOrig[t.ID] {
			continue
		}
		switch t.Kind {
		case daemon.KindSale, daemon.KindCompletion:
			if t.RefundedAmount != a.Refunded {
				add(VBookkeeping, "%s %q: refunded %d on the terminal, %d at the host", t.ID, t.Reference, t.RefundedAmount, a.Refunded)
			}
		case daemon.KindPreauth:
			if (t.CompletionID != "") != (a.CompletedBy != "") {
				add(VBookkeeping, "pre-auth %s %q: completion %q on the terminal, %q at the host", t.ID, t.Reference, t.CompletionID, a.CompletedBy)
			}
			if t.IncrementedAmount != a.Incremented {
				add(VBookkeeping, "pre-auth %s %q: increments of %d on the terminal, %d at the host", t.ID, t.Reference, t.IncrementedAmount, a.Incremented)
			}
		}
		if t.Kind != daemon.KindPreauth && t.Kind != daemon.KindIncrement && !doubt.Batch && !doubt.SettlementBroken {
			b := s.Batches[t.BatchID]
			closed := b != nil && b.Status == daemon.BatchClosed
			if closed != a.Settled {
				add(VBookkeeping, "%s %q: batch %s closed=%v on the terminal, settled=%v at the host", t.ID, t.Reference, t.BatchID, closed, a.Settled)
			}
		}
	}
	for k, ids := range booked {
		if len(ids) > 1 {
			kind, ref, _ := strings.Cut(k, "\x00")
			add(VDoubleCharge, "the terminal booked %d approvals of %s %q: %v", len(ids), kind, ref, ids)
		}
	}
	if v := PaidTwice(l, terminalID); v != nil {
		out = append(out, *v)
	}
	return append(out, batchTotalViolations(s)...)
}

// given reports whether t is a pre-auth whose hold the terminal gave back
// (released or expired): the host must reverse it.
func given(t *daemon.Transaction) bool {
	return t.Kind == daemon.KindPreauth && t.HoldEnd != ""
}

// PaidTwice checks that what the host's accepted settlements paid out is
// what the approvals they settled add up to: an approval counted by two
// settlements is paid to the merchant twice. It needs only the ledger.
func PaidTwice(l hostsim.Ledger, terminalID string) *Violation {
	var paid, settled host.BatchTotals
	for _, st := range l.Settlements {
		if st.TerminalID == terminalID && st.ResponseCode == "00" {
			paid.CaptureCount += st.Host.CaptureCount
			paid.CaptureAmount += st.Host.CaptureAmount
			paid.RefundCount += st.Host.RefundCount
			paid.RefundAmount += st.Host.RefundAmount
		}
	}
	for i := range l.Approvals {
		a := &l.Approvals[i]
		if a.TerminalID != terminalID || !a.Settled {
			continue
		}
		switch capture, refund := a.Counts(); {
		case capture:
			settled.CaptureCount++
			settled.CaptureAmount += a.Amount
		case refund:
			settled.RefundCount++
			settled.RefundAmount += a.Amount
		}
	}
	if paid == settled {
		return nil
	}
	return &Violation{VDoubleSettle, fmt.Sprintf("the host's accepted settlements paid out %d captures (%d) and %d refunds (%d) more than the approvals they settled",
		paid.CaptureCount-settled.CaptureCount, paid.CaptureAmount-settled.CaptureAmount,
		paid.RefundCount-settled.RefundCount, paid.RefundAmount-settled.RefundAmount)}
}
