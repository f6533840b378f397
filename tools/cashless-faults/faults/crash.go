package faults

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/host/hostsim"
)

// Phases a kill can land in, named from the evidence gathered after it.
const (
	PhaseBeforeWrite = "at start, before the pending record"
	PhaseWaitingCard = "waiting for the card"
	PhaseReadingCard = "reading the card, before the host request"
	PhaseBeforeHost  = "request sent, host never got it"
	PhaseInFlight    = "in flight: host decided, answer not back"
	PhaseAfterAnswer = "after the answer, before the booking"
	PhaseWriting     = "while writing (bbolt pwrite/fdatasync)"
	PhasePrinting    = "booked, while printing"
	PhaseDone        = "after the booking (answer sent or not)"
	PhaseRecovery    = "during restart recovery (reversal in flight)"
	PhaseIdle        = "idle"
)

// Operations.
const (
	OpSale       = "sale"
	OpPreauth    = "preauth"
	OpCompletion = "completion"
	OpRefund     = "refund"
	OpBatch      = "batch close"
	OpIncrement  = "increment"
	OpRelease    = "release"
)

// Aims: where a round tries to land its kill.
const (
	aimStart       = "start"
	aimWaiting     = "waiting for card"
	aimReading     = "reading card"
	aimBeforeHost  = "request held before the host"
	aimInFlight    = "answer held after the host"
	aimAfterAnswer = "just after the answer"
	aimWritePend   = "bbolt write of the pending record"
	aimWriteBook   = "bbolt write of the booking"
	aimPrinting    = "printing"
	aimDone        = "after the answer to the ECR"
	aimRecovery    = "recovery reversal"
)

// aims lists where each operation's kills can be aimed.
var aims = map[string][]string{
	OpSale:       {aimStart, aimWaiting, aimReading, aimBeforeHost, aimInFlight, aimAfterAnswer, aimWritePend, aimWriteBook, aimPrinting, aimDone, aimRecovery},
	OpPreauth:    {aimStart, aimWaiting, aimReading, aimBeforeHost, aimInFlight, aimAfterAnswer, aimWritePend, aimWriteBook, aimPrinting, aimDone},
	OpCompletion: {aimStart, aimBeforeHost, aimInFlight, aimAfterAnswer, aimWritePend, aimWriteBook, aimPrinting, aimDone},
	OpRefund:     {aimStart, aimBeforeHost, aimInFlight, aimAfterAnswer, aimWritePend, aimWriteBook, aimPrinting, aimDone},
	OpBatch:      {aimStart, aimBeforeHost, aimInFlight, aimAfterAnswer, aimWriteBook, aimDone},
	OpIncrement:  {aimStart, aimBeforeHost, aimInFlight, aimAfterAnswer, aimWritePend, aimWriteBook, aimDone},
	// A release is booked (with the pre-auth's reversal queued) before its
	// reversal goes to the host.
	OpRelease: {aimStart, aimWritePend, aimBeforeHost, aimInFlight, aimAfterAnswer, aimWriteBook, aimDone},
	OpVoid:    {aimStart, aimWritePend, aimBeforeHost, aimInFlight, aimAfterAnswer, aimWriteBook, aimPrinting, aimDone},
}

// Test cards: mostly approvals, some declines.
var approvingPANs = []string{"4242424242424242", "5555555555554444", "4000000000000077", "378282246310005", "6011111111111117"}

const declinePAN = "4000000000000002"

// request is one ECR call of a round.
type request struct {
	op     string
	kind   daemon.Kind
	path   string
	body   map[string]any
	ref    string
	amount int64
	orig   *original
	pan    string
	// overLimit marks an increment the host simulator declines: the hold
	// would pass its limit (five times the pre-auth's first amount).
	overLimit bool
}

func (r *request) declines() bool { return r.pan == declinePAN || r.overLimit }

// requestMTIs and answerMTIs are the financial messages of an operation.
func requestMTIs(op string) []string {
	switch op {
	case OpSale, OpRefund:
		return []string{"0200"}
	case OpPreauth:
		return []string{"0100"}
	case OpCompletion:
		return []string{"0220"}
	case OpIncrement:
		return []string{"0100"}
	case OpRelease:
		return []string{"0400", "0401"}
	case OpBatch:
		return []string{"0500"}
	case OpVoid:
		return []string{"0400", "0401"}
	}
	return nil
}

func answerMTIs(op string) []string {
	var out []string
	for _, m := range requestMTIs(op) {
		if a := m[:2] + string(m[2]+1) + "0"; !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// newRequest builds the ECR call of an operation; it returns nil when the
// operation has no original to work on.
func (h *Harness) newRequest(op string, print bool) *request {
	h.seq++
	ref := fmt.Sprintf("F%05d-%s", h.seq, map[string]string{OpSale: "S", OpPreauth: "P", OpCompletion: "C", OpRefund: "R", OpBatch: "B", OpIncrement: "I", OpRelease: "L", OpVoid: "V"}[op])
	r := &request{op: op, ref: ref}
	amount := 100 + h.rng.Int64N(20000)
	switch op {
	case OpSale:
		r.kind, r.path = daemon.KindSale, "/cashless/v1/sale"
		r.body = map[string]any{"amount": amount, "currency": "USD", "reference": ref}
		r.amount = amount
		if h.rng.IntN(3) == 0 {
			tip := 1 + h.rng.Int64N(500)
			r.body["tipAmount"] = tip
			r.amount += tip
		}
	case OpPreauth:
		r.kind, r.path = daemon.KindPreauth, "/cashless/v1/preauth"
		r.body = map[string]any{"amount": amount, "currency": "USD", "reference": ref}
		r.amount = amount
	case OpCompletion:
		if len(h.preauths) == 0 {
			return nil
		}
		o := h.preauths[h.rng.IntN(len(h.preauths))]
		capture := 1 + h.rng.Int64N(o.amount+o.incremented)
		r.kind, r.path, r.orig, r.amount = daemon.KindCompletion, "/cashless/v1/preauth/complete", o, capture
		r.body = map[string]any{"originalReference": o.ref, "captureAmount": capture, "currency": "USD", "reference": ref}
	case OpIncrement, OpRelease:
		if len(h.preauths) == 0 {
			return nil
		}
		o := h.preauths[h.rng.IntN(len(h.preauths))]
		r.orig = o
		if op == OpRelease {
			r.kind, r.path, r.amount = daemon.KindRelease, "/cashless/v1/preauth/release", o.amount+o.incremented
			r.body = map[string]any{"originalReference": o.ref, "reference": ref}
			return r
		}
		amt := 1 + h.rng.Int64N(o.amount)
		r.kind, r.path, r.amount = daemon.KindIncrement, "/cashless/v1/preauth/increment", amt
		r.overLimit = o.amount+o.incremented+amt > 5*o.amount
		r.body = map[string]any{"originalReference": o.ref, "amount": amt, "reference": ref}
		return r
	case OpRefund:
		var open []*original
		for _, o := range h.sales {
			if o.amount > o.refunded {
				open = append(open, o)
			}
		}
		if len(open) == 0 {
			return nil
		}
		o := open[h.rng.IntN(len(open))]
		amt := 1 + h.rng.Int64N(o.amount-o.refunded)
		r.kind, r.path, r.orig, r.amount = daemon.KindRefund, "/cashless/v1/refund", o, amt
		r.body = map[string]any{"originalReference": o.ref, "amount": amt, "currency": "USD", "reference": ref}
	case OpBatch:
		r.path = "/cashless/v1/batch/close"
		r.body = map[string]any{"reference": ref}
		return r
	case OpVoid:
		if h.newVoid(r) == nil {
			return nil
		}
	}
	if print {
		r.body["printReceipt"] = true
	}
	return r
}

// setCard chooses the simulated card for a sale or pre-auth.
func (h *Harness) setCard(ctx context.Context, r *request, aim string) error {
	if r.kind != daemon.KindSale && r.kind != daemon.KindPreauth {
		return nil
	}
	r.pan = pick(h, approvingPANs...)
	if h.rng.IntN(10) == 0 && aim != aimPrinting {
		r.pan = declinePAN
	}
	entry := pick(h, "chip", "contactless", "swipe")
	present := h.uniform(0, 60*time.Millisecond)
	switch aim {
	case aimWaiting:
		present = h.uniform(h.opt.MaxHold/2, h.opt.MaxHold*2)
	case aimReading:
		entry, present = "chip", 0
	case aimPrinting:
		entry = "chip"
		if h.rng.IntN(4) != 0 {
			r.pan = "4000000000000077" // chip and signature: two copies
		}
	}
	a := h.ecr.Post(ctx, "/simulator/v1/card", map[string]any{"pan": r.pan, "entryMethod": entry, "presentAfterMs": present.Milliseconds()})
	if a.Err != nil || a.Status != 200 {
		return fmt.Errorf("setting the card: %s %v", a.Raw, a.Err)
	}
	return nil
}

// run sends the request without any fault and records the outcome: for
// setting up originals, and for the ECR's retries.
func (h *Harness) run(ctx context.Context, r *request) Answer {
	a := h.ecr.Post(ctx, r.path, r.body)
	h.record(r, a)
	return a
}

// record keeps a final answer for the end-of-run check and updates the
// pools of originals.
func (h *Harness) record(r *request, a Answer) {
	if r.op == OpBatch && a.Err == nil && a.Status == 200 {
		h.batchClosed()
	}
	if a.Err != nil || r.op == OpBatch {
		return
	}
	h.answers = append(h.answers, recorded{kind: string(r.kind), ref: r.ref, txID: a.Str("transactionId"), status: a.Status, code: a.Code()})
	if a.Status != 200 || h.pooled[r.ref] {
		return
	}
	h.pooled[r.ref] = true
	switch r.op {
	case OpSale:
		h.sales = append(h.sales, &original{ref: r.ref, amount: r.amount})
	case OpPreauth:
		h.preauths = append(h.preauths, &original{ref: r.ref, amount: r.amount})
	case OpCompletion:
		h.preauths = slices.DeleteFunc(h.preauths, func(o *original) bool { return o == r.orig })
		h.sales = append(h.sales, &original{ref: r.ref, amount: r.amount})
	case OpIncrement:
		r.orig.incremented += r.amount
	case OpRelease:
		h.preauths = slices.DeleteFunc(h.preauths, func(o *original) bool { return o == r.orig })
	case OpRefund:
		r.orig.refunded += r.amount
	case OpVoid:
		h.voided(r.orig)
	}
}

// stagePoller polls status and remembers the stages it saw.
type stagePoller struct {
	mu     sync.Mutex
	last   string
	seen   map[string]bool
	waitOn string
	hit    chan struct{}
	stop   chan struct{}
	done   chan struct{}
}

func (h *Harness) pollStages(ctx context.Context, every time.Duration, waitOn string) *stagePoller {
	p := &stagePoller{seen: map[string]bool{}, waitOn: waitOn, hit: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	ecr := h.ecr
	go func() {
		defer close(p.done)
		fired := false
		for {
			select {
			case <-p.stop:
				return
			default:
			}
			a := ecr.Post(ctx, "/cashless/v1/status", "{}")
			if a.Err == nil {
				stage := ""
				if at := a.Obj("activeTransaction"); at != nil {
					stage, _ = at["stage"].(string)
				}
				p.mu.Lock()
				if stage != "" {
					p.last = stage
					p.seen[stage] = true
				}
				p.mu.Unlock()
				if !fired && stage != "" && stage == p.waitOn {
					fired = true
					close(p.hit)
				}
			}
			select {
			case <-p.stop:
				return
			case <-time.After(every):
			}
		}
	}()
	return p
}

func (p *stagePoller) finish() string {
	close(p.stop)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

// armed is a round in progress: the request in flight and what to wait
// for before the signal.
type armed struct {
	req     *request
	mark    int
	poller  *stagePoller
	answer  chan Answer
	trigger <-chan struct{}
	delay   time.Duration
	began   time.Time
	// killedIn is set when the trigger itself killed the daemon inside a
	// write system call (written before the trigger closes).
	killedIn string
}

// arm sets up the faults for an aim and sends the request.
func (h *Harness) arm(ctx context.Context, r *request, aim string) (*armed, error) {
	if err := h.setCard(ctx, r, aim); err != nil {
		return nil, err
	}
	a := &armed{req: r, answer: make(chan Answer, 1)}
	hold := h.uniform(h.opt.MaxHold*3/8, h.opt.MaxHold)
	switch aim {
	case aimBeforeHost:
		h.proxy.SetRules(&Rule{Dir: Up, MTIs: requestMTIs(r.op), Action: Hold, Delay: hold, Once: true})
	case aimInFlight, aimRecovery:
		h.proxy.SetRules(&Rule{Dir: Down, MTIs: answerMTIs(r.op), Action: Hold, Delay: hold, Once: true})
	default:
		h.proxy.SetRules()
	}
	a.mark = h.proxy.Mark()
	switch aim {
	case aimReading:
		a.poller = h.pollStages(ctx, time.Millisecond, string(daemon.StageReadingCard))
	case aimPrinting:
		a.poller = h.pollStages(ctx, 5*time.Millisecond, "")
	case aimWaiting:
		a.poller = h.pollStages(ctx, 5*time.Millisecond, string(daemon.StageWaitingForCard))
	default:
		a.poller = h.pollStages(ctx, 10*time.Millisecond, "")
	}
	a.began = time.Now()
	go func() { a.answer <- h.ecr.Post(ctx, r.path, r.body) }()
	isEvent := func(dir Dir, what string, mtis []string) func(Event) bool {
		return func(e Event) bool { return e.Dir == dir && e.What == what && slices.Contains(mtis, e.MTI) }
	}
	trig := make(chan struct{})
	var wait <-chan Event
	switch aim {
	case aimStart:
		close(trig)
		a.delay = h.uniform(0, 4*time.Millisecond)
	case aimWaiting:
		go relay(a.poller.hit, trig)
		a.delay = h.uniform(0, h.opt.MaxHold/2)
	case aimReading:
		go relay(a.poller.hit, trig)
		a.delay = h.uniform(0, 3*time.Millisecond)
	case aimPrinting:
		// The virtual printer saves each job as it is cut: kill as the
		// first copy lands (the second, or the print result, is still to
		// come), or up to 2 ms later.
		dir := filepath.Join(h.dataDir, "printer")
		before := countJobs(dir)
		go func() {
			for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline) && countJobs(dir) == before; {
				time.Sleep(100 * time.Microsecond)
			}
			close(trig)
		}()
		a.delay = h.uniform(0, 2*time.Millisecond)
	case aimBeforeHost:
		wait = h.proxy.Await(a.mark, isEvent(Up, "held", requestMTIs(r.op)))
		a.delay = h.uniform(0, hold*3/4)
	case aimInFlight, aimRecovery:
		wait = h.proxy.Await(a.mark, isEvent(Down, "held", answerMTIs(r.op)))
		a.delay = h.uniform(0, hold*3/4)
	case aimAfterAnswer:
		wait = h.proxy.Await(a.mark, isEvent(Down, "forwarded", answerMTIs(r.op)))
		a.delay = h.uniform(0, 6*time.Millisecond)
	case aimDone:
		a.delay = h.uniform(0, 30*time.Millisecond)
	case aimWritePend, aimWriteBook:
		// Watch the daemon's threads and fire the moment one is inside
		// pwrite64 or fdatasync: the pending record's commit comes right
		// after the request, the booking's right after the answer.
		var after <-chan Event
		if aim == aimWritePend {
			now := make(chan Event, 1)
			now <- Event{}
			after = now
		} else {
			after = h.proxy.Await(a.mark, isEvent(Down, "forwarded", answerMTIs(r.op)))
		}
		d := h.d
		go func() {
			select {
			case <-after:
			case <-time.After(15 * time.Second):
			}
			tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/syscall", d.Pid()))
			for i, deadline := 0, time.Now().Add(2*time.Second); time.Now().Before(deadline); i++ {
				if i%64 == 63 {
					tasks, _ = filepath.Glob(fmt.Sprintf("/proc/%d/task/*/syscall", d.Pid()))
				}
				if w := sampleTasks(tasks).Writing; w != "" {
					// Kill at once: the write lasts a fraction of a millisecond.
					_ = d.Signal(syscall.SIGKILL)
					a.killedIn = w
					break
				}
			}
			close(trig)
		}()
	}
	if wait != nil {
		go func() { <-wait; close(trig) }()
	}
	a.trigger = trig
	return a, nil
}

func relay(from <-chan struct{}, to chan struct{}) {
	<-from
	close(to)
}

// fire waits for the trigger (or the answer, or a time limit), waits the
// delay and sends sig. It returns the answer if it came before the signal
// and the write system call a thread was in.
func (h *Harness) fire(a *armed, aim string, sig syscall.Signal) (Answer, bool, string) {
	var got Answer
	answered := false
	limit := time.NewTimer(15 * time.Second)
	defer limit.Stop()
	if aim == aimDone {
		select {
		case got = <-a.answer:
			answered = true
		case <-limit.C:
		}
	} else {
		select {
		case <-a.trigger:
		case got = <-a.answer:
			answered = true
		case <-limit.C:
		}
	}
	if a.delay > 0 {
		time.Sleep(a.delay)
	}
	if !answered {
		select {
		case got = <-a.answer:
			answered = true
		default:
		}
	}
	// killedIn is written before the trigger closes: read it only then
	// (fire may have left its wait through the answer or the time limit).
	killedIn := ""
	select {
	case <-a.trigger:
		killedIn = a.killedIn
	default:
	}
	if killedIn != "" && sig == syscall.SIGKILL {
		return got, answered, killedIn
	}
	sample := sampleSyscalls(h.d.Pid())
	_ = h.d.Signal(sig)
	return got, answered, sample.Writing
}

// roundTx finds the transaction the round created (new since the last
// inspection).
func (h *Harness) roundTx(s *Snapshot, r *request) *daemon.Transaction {
	if r.kind == "" {
		return nil
	}
	var found *daemon.Transaction
	for _, t := range s.ByReference(r.kind, r.ref) {
		if !h.known[t.ID] {
			found = t
		}
	}
	return found
}

// classify names the phase a kill landed in from the evidence: the
// proxy's view of the wire, the database after the kill, the stages status
// showed, and the write system call a thread was in.
func classify(r *request, t *daemon.Transaction, batchClosed bool, evs []Event, lastStage, writeCall string) string {
	if writeCall != "" {
		return PhaseWriting
	}
	if r.kind == daemon.KindRelease && t != nil && t.Status == daemon.StatusApproved {
		// A release is booked first; its reversal names the pre-auth.
		var held, fwd, ans bool
		for _, e := range evs {
			if e.TxID != t.OriginalID {
				continue
			}
			held = held || (e.Dir == Up && e.What == "held")
			fwd = fwd || (e.Dir == Up && e.What == "forwarded")
			ans = ans || (e.Dir == Down && e.What == "forwarded")
		}
		switch {
		case held && !fwd:
			return PhaseBeforeHost
		case fwd && !ans:
			return PhaseInFlight
		}
	}
	var reqSeen, reqFwd, ansFwd bool
	txID := ""
	if t != nil {
		// A void's reversal names the original it cancels.
		txID = t.ID
		if r.op == OpVoid {
			txID = t.OriginalID
		}
	}
	for _, e := range evs {
		if r.op != OpBatch && t != nil && e.TxID != txID {
			continue
		}
		switch {
		case e.Dir == Up && slices.Contains(requestMTIs(r.op), e.MTI):
			reqSeen = true
			reqFwd = reqFwd || e.What == "forwarded"
		case e.Dir == Down && slices.Contains(answerMTIs(r.op), e.MTI):
			ansFwd = ansFwd || e.What == "forwarded"
		}
	}
	if r.op == OpBatch {
		switch {
		case batchClosed:
			return PhaseDone
		case !reqSeen && !reqFwd:
			return PhaseBeforeHost
		case !reqFwd:
			return PhaseBeforeHost
		case !ansFwd:
			return PhaseInFlight
		}
		return PhaseAfterAnswer
	}
	switch {
	case t == nil:
		return PhaseBeforeWrite
	case r.op == OpVoid && !ansFwd && reqFwd:
		// A void is booked before its reversal goes to the host.
		return PhaseInFlight
	case r.op == OpVoid && !ansFwd:
		return PhaseBeforeHost
	case t.Status == daemon.StatusPending:
		switch {
		case !reqSeen && (r.kind == daemon.KindRefund || r.kind == daemon.KindCompletion || r.kind == daemon.KindIncrement ||
			r.kind == daemon.KindRelease):
			return PhaseBeforeHost
		case !reqSeen && (lastStage == "" || lastStage == string(daemon.StageWaitingForCard)):
			return PhaseWaitingCard
		case !reqSeen:
			return PhaseReadingCard
		case !reqFwd:
			return PhaseBeforeHost
		case !ansFwd:
			return PhaseInFlight
		}
		return PhaseAfterAnswer
	case t.PrintReceipt && t.Receipts != nil && !t.ReceiptPrinted && t.PrinterError == "":
		return PhasePrinting
	}
	return PhaseDone
}

// inspect reads the database and the ledger after the daemon stopped and
// reconciles them, with the round's own work allowed to be in doubt.
func (h *Harness) inspect(r *request, extra []string, doubtBatch, queued bool) (*Snapshot, hostsim.Ledger, *daemon.Transaction, []Violation) {
	var bad []Violation
	s, err := ReadSnapshot(h.dataDir, h.scratch)
	if err != nil {
		bad = append(bad, Violation{VDatabase, err.Error()})
		if s == nil {
			return nil, hostsim.Ledger{}, nil, bad
		}
	}
	l, err := h.readLedger()
	if err != nil {
		bad = append(bad, Violation{VDatabase, "host ledger: " + err.Error()})
	}
	var t *daemon.Transaction
	doubt := Doubt{Tx: map[string]bool{}, Batch: doubtBatch, Queued: queued, SettlementBroken: h.stuck != ""}
	for _, id := range extra {
		doubt.Tx[id] = true
	}
	if r != nil {
		t = h.roundTx(s, r)
		if t != nil {
			doubt.Tx[t.ID] = true
		}
	}
	bad = append(bad, Reconcile(s, l, HostTerminalID, doubt)...)
	return s, l, t, bad
}

// checkAnswer compares an answer the ECR got before the kill with the
// books.
func checkAnswer(r *request, a Answer, s *Snapshot) []Violation {
	if a.Err != nil || s == nil || r.op == OpBatch {
		return nil
	}
	id := a.Str("transactionId")
	t := s.Txs[id]
	switch {
	case a.Status == 200 && (t == nil || t.Status != daemon.StatusApproved):
		return []Violation{{VLostApproval, fmt.Sprintf("the ECR was told %s %q was approved (%s) but the terminal has %v", r.kind, r.ref, id, t)}}
	case a.Status != 200 && t != nil && t.Status == daemon.StatusApproved:
		return []Violation{{VECR, fmt.Sprintf("the ECR was told %s for %q but the terminal booked %s approved", a.Outcome(), r.ref, id)}}
	}
	return nil
}

// held reports whether the host holds an unreversed approval for the
// transaction.
func held(l hostsim.Ledger, id string) bool {
	for _, a := range l.Approvals {
		if a.TransactionID == id && !a.Reversed {
			return true
		}
	}
	return false
}

// outcome names how the interrupted work ended, from the state at the kill
// and the ledger after recovery.
func outcome(r *request, t *daemon.Transaction, batchClosed, batchSettling, hostHeldAtKill bool, after hostsim.Ledger) string {
	if r.op == OpBatch {
		switch {
		case batchClosed:
			return "closed before the kill"
		case batchSettling:
			return "settling at the kill (totals fixed)"
		}
		return "open at the kill"
	}
	switch {
	case t == nil:
		return "nothing recorded"
	case t.Status == daemon.StatusApproved:
		return "booked before the kill"
	case t.Status == daemon.StatusDeclined:
		return "declined before the kill"
	case t.Status != daemon.StatusPending:
		return string(t.Status) + " before the kill"
	case hostHeldAtKill && !held(after, t.ID):
		return "reversed at restart"
	case hostHeldAtKill:
		return "STILL HELD after restart"
	}
	return "voided at restart (host held nothing)"
}

// retry repeats the interrupted request, as the ECR may, and checks the
// answer against what was booked before the kill.
func (h *Harness) retry(ctx context.Context, r *request, t *daemon.Transaction, batchClosed bool) (string, []Violation) {
	if r.kind == daemon.KindSale || r.kind == daemon.KindPreauth {
		// The daemon restarted with the default card; present the same one.
		if a := h.ecr.Post(ctx, "/simulator/v1/card", map[string]any{"pan": r.pan, "presentAfterMs": 0}); a.Status != 200 {
			return "card not set", []Violation{{VRetry, string(a.Raw)}}
		}
	}
	a := h.run(ctx, r)
	bad := func(f string, x ...any) (string, []Violation) {
		return "FAILED " + a.Outcome(), []Violation{{VRetry, fmt.Sprintf("%s %q: ", r.op, r.ref) + fmt.Sprintf(f, x...)}}
	}
	if a.Err != nil {
		return bad("no answer: %v", a.Err)
	}
	if r.op == OpBatch {
		switch {
		case a.Status == 503 && a.Code() == daemon.CodeCommunicationError && h.settlementRefused():
			h.stuck = fmt.Sprintf("batch close %q: the retry got 503 communication_error; the host refused the settlement (95): %s", r.ref, h.lastSettlement())
			return "FAILED: host refused the settlement (95)", []Violation{{VSettlement, h.stuck}}
		case a.Status != 200:
			return bad("%s", a.Raw)
		case batchClosed && !a.Replayed:
			return bad("the batch was closed before the kill but the retry closed another")
		case a.Replayed:
			return "replayed", nil
		}
		return "closed", nil
	}
	approvedBefore := t != nil && t.Status == daemon.StatusApproved
	switch {
	case approvedBefore && (a.Status != 200 || !a.Replayed || a.Str("transactionId") != t.ID):
		return bad("approved as %s before the kill, retry got %d replayed=%v %s", t.ID, a.Status, a.Replayed, a.Str("transactionId"))
	case approvedBefore:
		return "replayed", nil
	case a.Replayed:
		return bad("nothing was approved before the kill, yet the retry was replayed")
	case r.declines() && a.Status == 402:
		return "declined again", nil
	case r.op == OpVoid && a.Status == 422 && a.Code() == daemon.CodeVoidNotAllowed && r.orig.closed:
		return "refused: the batch closed meanwhile", nil
	case a.Status == 200:
		return "approved", nil
	}
	return bad("%s", a.Raw)
}

// KillRound runs one SIGKILL round aimed at a phase of an operation and
// returns the kill points it made.
func (h *Harness) KillRound(ctx context.Context, round int, op, aim string) error {
	r := h.newRequest(op, aim == aimPrinting || h.rng.IntN(4) == 0)
	if r == nil {
		return errNoOriginal
	}
	a, err := h.arm(ctx, r, aim)
	if err != nil {
		return err
	}
	got, answered, call := h.fire(a, aim, syscall.SIGKILL)
	<-h.d.Done()
	h.checkRace(h.d)
	lastStage := a.poller.finish()
	if !answered {
		select {
		case got = <-a.answer:
		case <-time.After(10 * time.Second):
			got = Answer{Err: errors.New("no answer after the kill")}
		}
	}
	h.proxy.SetRules()
	evs := h.proxy.Since(a.mark)

	s, _, t, bad := h.inspect(r, nil, op == OpBatch, true)
	closed, settling := false, false
	if s != nil && op == OpBatch {
		_, closed = s.BatchRefs[r.ref]
		settling = s.Settling(r.ref)
	}
	heldAtKill := false
	if t != nil {
		if l, err := h.readLedger(); err == nil {
			heldAtKill = held(l, t.ID)
		}
	}
	bad = append(bad, checkAnswer(r, got, s)...)
	h.record(r, got)
	p := KillPoint{Round: round, Signal: "SIGKILL", Op: op, Aimed: aim, WriteCall: call, ECR: got.Outcome()}
	p.Phase = classify(r, t, closed, evs, lastStage, call)
	if call != "" {
		p.WriteCall = call + " (" + writeOf(r, t, closed, evs) + ")"
	}
	if got.Err == nil && p.Phase != PhaseWriting {
		p.Phase = PhaseDone
	}

	// A recovery round kills again while the restart reverses.
	if aim == aimRecovery && t != nil && t.Status == daemon.StatusPending {
		if err := h.killDuringRecovery(ctx, round, r, t); err != nil {
			return err
		}
	}
	took, err := h.startDaemon(ctx)
	if err != nil {
		bad = append(bad, Violation{VRecovery, err.Error()})
		h.finishPoint(p, bad)
		return err
	}
	p.Recovery = took
	after, _ := h.readLedger()
	p.Outcome = outcome(r, t, closed, settling, heldAtKill, after)
	if n, err := h.waitNoReversals(ctx, 10*time.Second); err != nil || n != 0 {
		bad = append(bad, Violation{VRecovery, fmt.Sprintf("round %d: %d reversals still queued 10 s after the restart (%v)", round, n, err)})
	}
	if s != nil {
		for id := range s.Txs {
			h.known[id] = true
		}
	}
	soldFirst := false
	if h.rng.IntN(8) == 0 && op == OpBatch {
		// The ECR does not retry at once: it sells first, then closes.
		if x := h.newRequest(OpSale, false); x != nil {
			_ = h.setCard(ctx, x, aimDone)
			h.run(ctx, x)
			soldFirst = true
		}
	}
	var rb []Violation
	p.Retry, rb = h.retry(ctx, r, t, closed)
	if soldFirst {
		p.Retry = "after a sale: " + p.Retry
	}
	if l, err := h.readLedger(); err == nil {
		if v := PaidTwice(l, HostTerminalID); v != nil && v.String() != h.paidTwice {
			h.paidTwice = v.String()
			bad = append(bad, *v)
			p.Retry += " (settled twice)"
		}
	}
	bad = append(bad, rb...)
	h.finishPoint(p, bad)
	return nil
}

var errNoOriginal = errors.New("no original for this operation yet")

func (h *Harness) finishPoint(p KillPoint, bad []Violation) {
	for _, v := range bad {
		if h.Report.ViolateAt(v, fmt.Sprintf("round %d (%s, %s, %s)", p.Round, p.Signal, p.Op, p.Phase)) {
			p.Bad++
		}
	}
	h.Report.Point(p)
	h.progress("round %4d %-7s %-10s aimed %-30q landed %-45q %-38s retry %-16s ecr %-22s %s", p.Round, p.Signal, p.Op, p.Aimed, p.Phase, p.Outcome, p.Retry, p.ECR,
		map[bool]string{true: fmt.Sprintf("VIOLATIONS %d", p.Bad), false: ""}[p.Bad > 0])
}

// killDuringRecovery restarts the daemon with the answer to the recovery
// reversal held at the proxy, and kills it while the reversal is in
// flight: a kill point of its own.
func (h *Harness) killDuringRecovery(ctx context.Context, round int, r *request, t *daemon.Transaction) error {
	hold := h.uniform(h.opt.MaxHold*3/8, h.opt.MaxHold)
	dir, mtis := Down, []string{"0410"}
	if h.rng.IntN(2) == 0 {
		dir, mtis = Up, []string{"0400", "0401"}
	}
	h.proxy.SetRules(&Rule{Dir: dir, MTIs: mtis, Action: Hold, Delay: hold, Once: true})
	mark := h.proxy.Mark()
	wait := h.proxy.Await(mark, func(e Event) bool { return e.Dir == dir && e.What == "held" && e.TxID == t.ID })
	d, err := h.opt.Launcher.StartDaemon(h.dataDir, h.cfg, h.daemonLog())
	if err != nil {
		return err
	}
	h.d = d
	p := KillPoint{Round: round, Signal: "SIGKILL", Op: r.op, Aimed: aimRecovery, ECR: "-"}
	select {
	case <-wait:
		time.Sleep(h.uniform(0, hold*3/4))
		p.WriteCall = sampleSyscalls(d.Pid()).Writing
		d.Kill()
	case <-d.Ready():
		// The reversal went through before the hold could catch it.
		d.Kill()
	case <-d.Done():
		return fmt.Errorf("cashlessd exited during recovery:\n%s", tail(d.Log(), 1500))
	case <-time.After(20 * time.Second):
		d.Kill()
		return errors.New("the recovery reversal never reached the proxy")
	}
	h.checkRace(d)
	h.proxy.SetRules()
	p.Phase = PhaseRecovery
	evs := h.proxy.Since(mark)
	fwd := false
	for _, e := range evs {
		if e.TxID == t.ID && e.Dir == Up && e.What == "forwarded" {
			fwd = true
		}
	}
	s, _, _, bad := h.inspect(nil, []string{t.ID}, false, true)
	if s != nil && s.Txs[t.ID] != nil && s.Txs[t.ID].Status != daemon.StatusPending {
		p.Outcome = "recovered before the kill"
	} else if fwd {
		p.Outcome = "reversal reached the host; still pending, reversed again at the next start"
	} else {
		p.Outcome = "reversal never reached the host; sent at the next start"
	}
	p.Retry = "(see the round's first kill)"
	h.finishPoint(p, bad)
	return nil
}

// settlementRefused reports whether the host's last settlement of this
// terminal was refused with 95.
func (h *Harness) settlementRefused() bool {
	l, err := h.readLedger()
	if err != nil {
		return false
	}
	for i := len(l.Settlements) - 1; i >= 0; i-- {
		if st := l.Settlements[i]; st.TerminalID == HostTerminalID {
			return st.ResponseCode == "95"
		}
	}
	return false
}

// lastSettlement describes the host's settlements of the batch last
// refused.
func (h *Harness) lastSettlement() string {
	l, err := h.readLedger()
	if err != nil || len(l.Settlements) == 0 {
		return ""
	}
	last := l.Settlements[len(l.Settlements)-1]
	out := fmt.Sprintf("batch %s, terminal sent %+v, host holds %+v", last.Batch, last.Terminal, last.Host)
	for _, st := range l.Settlements {
		if st.ResponseCode == "00" && st.Batch != last.Batch {
			continue
		}
		if st.ResponseCode == "00" {
			out += fmt.Sprintf("; batch %s was settled (00) at %s", st.Batch, st.At.Format("15:04:05.000"))
		}
	}
	return out
}

// writeOf names the commit a kill inside a write system call interrupted,
// from the database after the kill and the wire.
func writeOf(r *request, t *daemon.Transaction, batchClosed bool, evs []Event) string {
	answered := false
	for _, e := range evs {
		if e.Dir == Down && e.What == "forwarded" && slices.Contains(answerMTIs(r.op), e.MTI) && (r.op == OpBatch || t == nil || e.TxID == t.ID) {
			answered = true
		}
	}
	switch {
	case r.op == OpBatch && batchClosed:
		return "after the close"
	case r.op == OpBatch && answered:
		return "closing the batch"
	case r.op == OpBatch:
		return "before the settlement"
	case t == nil && r.op == OpVoid:
		return "the void's booking"
	case t == nil:
		return "pending record"
	case t.Status == daemon.StatusPending && answered:
		return "booking"
	case t.Status == daemon.StatusPending:
		return "during the card or host step"
	case t.PrintReceipt && t.Receipts != nil && !t.ReceiptPrinted && t.PrinterError == "":
		return "booked, print result"
	}
	return "after the booking"
}
