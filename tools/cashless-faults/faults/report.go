package faults

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// KillPoint is one SIGKILL or SIGTERM of the daemon and what followed.
type KillPoint struct {
	Round     int
	Signal    string // "SIGKILL" or "SIGTERM"
	Op        string
	Aimed     string // the phase the round aimed at
	Phase     string // the phase the kill landed in, from the evidence
	WriteCall string // the write system call a thread was in, if any
	Outcome   string // how the interrupted work was resolved
	Retry     string // what the ECR's retry of the reference got
	ECR       string // what the ECR got from the interrupted request
	Recovery  time.Duration
	Exit      time.Duration // SIGTERM: signal to exit
	Bad       int           // violations found at this point
}

// Row is one line of the fault table outside the crash rounds.
type Row struct {
	Class   string
	Fault   string
	Times   int
	Outcome string
	Bad     int
}

// Report collects a run's results.
type Report struct {
	mu         sync.Mutex
	Points     []KillPoint
	Rows       []Row
	Violations []Violation
	seen       map[string]bool
	Notes      []string
	Started    time.Time
}

// NewReport starts a report.
func NewReport() *Report { return &Report{seen: map[string]bool{}, Started: time.Now()} }

// Violate records a violation once; it reports whether it was new.
func (r *Report) Violate(v Violation) bool { return r.ViolateAt(v, "") }

// ViolateAt records a violation found at a place (a round), once: the
// same broken invariant seen again at a later round is not counted again.
func (r *Report) ViolateAt(v Violation, where string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := v.String()
	if r.seen[key] {
		return false
	}
	r.seen[key] = true
	if where != "" {
		v.Detail = where + ": " + v.Detail
	}
	r.Violations = append(r.Violations, v)
	return true
}

// Point adds a kill point.
func (r *Report) Point(p KillPoint) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Points = append(r.Points, p)
}

// Add adds a row, merging with an existing one of the same class, fault
// and outcome.
func (r *Report) Add(row Row) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.Rows {
		x := &r.Rows[i]
		if x.Class == row.Class && x.Fault == row.Fault && x.Outcome == row.Outcome {
			x.Times += row.Times
			x.Bad += row.Bad
			return
		}
	}
	r.Rows = append(r.Rows, row)
}

// Note adds a line under the tables.
func (r *Report) Note(format string, a ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Notes = append(r.Notes, fmt.Sprintf(format, a...))
}

// Merge adds another report's results.
func (r *Report) Merge(o *Report) {
	for _, p := range o.Points {
		r.Point(p)
	}
	for _, row := range o.Rows {
		r.Add(row)
	}
	for _, v := range o.Violations {
		r.Violate(v)
	}
	for _, n := range o.Notes {
		r.Note("%s", n)
	}
}

// Kills counts kill points by signal.
func (r *Report) Kills(signal string) int {
	n := 0
	for _, p := range r.Points {
		if p.Signal == signal {
			n++
		}
	}
	return n
}

// Count is how many violations of a class were found.
func (r *Report) Count(class string) int {
	n := 0
	for _, v := range r.Violations {
		if v.Class == class {
			n++
		}
	}
	return n
}

// phaseOrder sorts phases in the order a transaction goes through them.
var phaseOrder = []string{PhaseBeforeWrite, PhaseWaitingCard, PhaseReadingCard, PhaseBeforeHost, PhaseInFlight,
	PhaseAfterAnswer, PhaseWriting, PhasePrinting, PhaseDone, PhaseRecovery, PhaseIdle}

func phaseRank(p string) int {
	for i, x := range phaseOrder {
		if x == p {
			return i
		}
	}
	return len(phaseOrder)
}

// tally counts strings and renders "a 3, b 1".
type tally map[string]int

func (t tally) String() string {
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if t[keys[i]] != t[keys[j]] {
			return t[keys[i]] > t[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, t[k])
	}
	return strings.Join(parts, ", ")
}

type phaseRow struct {
	phase                       string
	n, bad                      int
	ops, outcomes, retries, ecr tally
	calls                       tally
	maxExit                     time.Duration
}

func (r *Report) phaseRows(signal string) []*phaseRow {
	rows := map[string]*phaseRow{}
	for _, p := range r.Points {
		if p.Signal != signal {
			continue
		}
		x := rows[p.Phase]
		if x == nil {
			x = &phaseRow{phase: p.Phase, ops: tally{}, outcomes: tally{}, retries: tally{}, ecr: tally{}, calls: tally{}}
			rows[p.Phase] = x
		}
		x.n++
		x.bad += p.Bad
		x.ops[p.Op]++
		x.outcomes[p.Outcome]++
		if p.Retry != "" {
			x.retries[p.Retry]++
		}
		x.ecr[p.ECR]++
		if p.WriteCall != "" {
			x.calls[p.WriteCall]++
		}
		x.maxExit = max(x.maxExit, p.Exit)
	}
	out := make([]*phaseRow, 0, len(rows))
	for _, x := range rows {
		out = append(out, x)
	}
	sort.Slice(out, func(i, j int) bool { return phaseRank(out[i].phase) < phaseRank(out[j].phase) })
	return out
}

// aimRows counts aimed phase → landed phase.
func (r *Report) aimRows() [][3]string {
	m := map[string]tally{}
	for _, p := range r.Points {
		if p.Signal != "SIGKILL" {
			continue
		}
		key := p.Op + ": " + p.Aimed
		if m[key] == nil {
			m[key] = tally{}
		}
		m[key][p.Phase]++
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([][3]string, 0, len(keys))
	for _, k := range keys {
		n := 0
		for _, c := range m[k] {
			n += c
		}
		out = append(out, [3]string{k, fmt.Sprint(n), m[k].String()})
	}
	return out
}

// Print writes the tables for a terminal.
func (r *Report) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if kills := r.Kills("SIGKILL"); kills > 0 {
		fmt.Fprintf(tw, "SIGKILL points: %d\n", kills)
		fmt.Fprintln(tw, "phase\tkills\toperations\toutcome\tECR retry\tviolations\t")
		for _, x := range r.phaseRows("SIGKILL") {
			outcome := x.outcomes.String()
			if len(x.calls) > 0 {
				outcome += " [in " + x.calls.String() + "]"
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%d\t\n", x.phase, x.n, x.ops, outcome, x.retries, x.bad)
		}
		fmt.Fprintln(tw)
	}
	if terms := r.Kills("SIGTERM"); terms > 0 {
		fmt.Fprintf(tw, "SIGTERM points: %d\n", terms)
		fmt.Fprintln(tw, "phase\tstops\toperations\tanswer to the running request\toutcome\tslowest exit\tviolations\t")
		for _, x := range r.phaseRows("SIGTERM") {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%d\t\n", x.phase, x.n, x.ops, x.ecr, x.outcomes, x.maxExit.Round(time.Millisecond), x.bad)
		}
		fmt.Fprintln(tw)
	}
	if len(r.Rows) > 0 {
		fmt.Fprintln(tw, "class\tfault or input\ttimes\toutcome\tviolations\t")
		for _, x := range r.Rows {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t\n", x.Class, x.Fault, x.Times, x.Outcome, x.Bad)
		}
	}
	_ = tw.Flush()
	r.printSummary(w)
}

func (r *Report) printSummary(w io.Writer) {
	fmt.Fprintf(w, "\n%s\n", r.Summary())
	for _, v := range r.Violations {
		fmt.Fprintln(w, "VIOLATION", v)
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note:", n)
	}
}

// Markdown renders the report for docs/reliability.md.
func (r *Report) Markdown() string {
	var b strings.Builder
	esc := func(s string) string { return strings.ReplaceAll(s, "|", "\\|") }
	if kills := r.Kills("SIGKILL"); kills > 0 {
		fmt.Fprintf(&b, "### SIGKILL: %d kill points\n\n", kills)
		b.WriteString("| phase the kill landed in | kills | operations | how it was resolved | the ECR's retry of the reference | violations |\n|---|---|---|---|---|---|\n")
		for _, x := range r.phaseRows("SIGKILL") {
			outcome := x.outcomes.String()
			if len(x.calls) > 0 {
				outcome += " (thread in " + x.calls.String() + ")"
			}
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %d |\n", esc(x.phase), x.n, x.ops, esc(outcome), esc(x.retries.String()), x.bad)
		}
		b.WriteString("\nWhere the kills were aimed and where they landed:\n\n| operation: aimed at | kills | landed in |\n|---|---|---|\n")
		for _, row := range r.aimRows() {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", esc(row[0]), row[1], esc(row[2]))
		}
		b.WriteString("\n")
	}
	if terms := r.Kills("SIGTERM"); terms > 0 {
		fmt.Fprintf(&b, "### SIGTERM: %d graceful stops\n\n", terms)
		b.WriteString("| phase | stops | operations | answer to the running request | outcome | slowest exit | violations |\n|---|---|---|---|---|---|---|\n")
		for _, x := range r.phaseRows("SIGTERM") {
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %d |\n", esc(x.phase), x.n, x.ops, esc(x.ecr.String()), esc(x.outcomes.String()), x.maxExit.Round(time.Millisecond), x.bad)
		}
		b.WriteString("\n")
	}
	if len(r.Rows) > 0 {
		b.WriteString("### Device, storage, load, input and secrets\n\n| class | fault or input | times | outcome | violations |\n|---|---|---|---|---|\n")
		for _, x := range r.Rows {
			fmt.Fprintf(&b, "| %s | %s | %d | %s | %d |\n", esc(x.Class), esc(x.Fault), x.Times, esc(x.Outcome), x.Bad)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "**%s.**\n", r.Summary())
	for _, v := range r.Violations {
		fmt.Fprintf(&b, "\n- VIOLATION %s", esc(strings.Join(strings.Fields(v.String()), " ")))
	}
	if len(r.Violations) > 0 {
		b.WriteString("\n")
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "\n%s\n", n)
	}
	return b.String()
}

// Summary counts the violations: the three money classes first, then the
// others by class.
func (r *Report) Summary() string {
	others := tally{}
	for _, v := range r.Violations {
		if v.Class != VLostApproval && v.Class != VDoubleCharge && v.Class != VOrphan && v.Class != VDoubleSettle {
			others[v.Class]++
		}
	}
	out := fmt.Sprintf("lost approvals %d, double charges %d, unreversed orphans %d, double settlements %d",
		r.Count(VLostApproval), r.Count(VDoubleCharge), r.Count(VOrphan), r.Count(VDoubleSettle))
	if len(others) == 0 {
		return out + "; no other violation"
	}
	return out + "; other violations: " + others.String()
}
