// Command cashless-bench measures cashlessd against its floors, side by
// side in one run, and prints each figure with its floor and the ratio:
// the daemon's CPU per status request (keep-alive and with a full
// handshake per request, on an empty database and after 1,000 sales)
// against a minimal net/http TLS server answering the same bytes, its CPU
// per sale against the device/commit floor (two bbolt commits, the reader
// round trips and the host round trip a sale makes, in a process of their
// own), lookups, bytes per stored transaction and batch close as history
// grows, start-up time, memory, and bytes on the serial wires. cashlessd
// runs in production mode against simulated devices in this process, so
// its /proc figures are its own. `make bench` runs it; BENCH_QUICK=1
// makes a fast, smaller run.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	m := &Main{Stdout: os.Stdout, Stderr: os.Stderr}
	if err := m.Run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "cashless-bench:", err)
		os.Exit(1)
	}
}

// Main is the benchmark program.
type Main struct {
	Stdout io.Writer
	Stderr io.Writer
}

// settings size one run.
type settings struct {
	daemon        string        // path of the cashlessd binary
	cloud         string        // path of the cashless-cloud binary ("" skips its figures)
	window        time.Duration // one load window
	rounds        int           // alternating A/B rounds per comparison
	clients       int           // keep-alive clients
	handshakes    int           // concurrent new-connection clients
	sales         int           // sequential sales with the card tapped
	chipSales     int           // then with the chip inserted
	smallHist     int           // small history for growth ratios
	largeHist     int           // large history for growth ratios
	batchSize     int           // transactions in the batch closed
	memorySales   int           // sales before the last RSS reading
	memoryHistory int           // stored transactions the memory figures start from
	markdown      string        // where to write the table as Markdown
	status        bool          // compare status with its floor
	cloudCalls    int           // sequential calls per path for the relay's overhead
	idleTerminals int           // fake terminals held open for the memory per connection
}

// Run parses flags and runs every measurement.
func (m *Main) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("cashless-bench", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	s := settings{}
	fs.StringVar(&s.daemon, "daemon", "bin/cashlessd", "cashlessd binary to measure")
	fs.StringVar(&s.cloud, "cloud", "", "cashless-cloud binary: adds the relay's figures (empty: skipped)")
	fs.StringVar(&s.markdown, "markdown", "", "also write the table as Markdown to this file")
	baseline := fs.String("serve-baseline", "", "internal: run the baseline server for DIR")
	saleFloor := fs.String("sale-floor", "", "internal: run the sale floor (JSON settings)")
	only := fs.String("only", "", "run only the steps whose name contains this")
	noStatus := fs.Bool("no-status", false, "skip the status comparisons (to profile the sales alone)")
	sales := fs.Int("sales", 0, "sales with the card tapped and with the chip (0: the run's default)")
	quick := os.Getenv("BENCH_QUICK") != ""
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *baseline != "" {
		return serveBaseline(ctx, *baseline, m.Stdout)
	}
	if *saleFloor != "" {
		return runSaleFloor(*saleFloor, m.Stdout)
	}
	s.window, s.rounds, s.clients, s.handshakes = 3*time.Second, 2, 50, 8
	s.sales, s.chipSales, s.smallHist, s.largeHist, s.batchSize = 780, 200, 1_000, 1_000_000, 10_000
	s.memoryHistory, s.memorySales = 100_000, 1_000
	s.cloudCalls, s.idleTerminals = 300, 2000
	if quick {
		s.window, s.rounds = 2*time.Second, 1
		s.sales, s.chipSales, s.largeHist, s.batchSize = 200, 80, 100_000, 2_000
		s.memoryHistory, s.memorySales = 10_000, 300
		s.cloudCalls, s.idleTerminals = 100, 300
	}
	s.status = !*noStatus
	if *sales > 0 {
		s.sales, s.chipSales = *sales, *sales
	}
	r := &report{}
	start := time.Now()
	steps := []struct {
		name string
		run  func(context.Context, settings, *report) error
	}{
		{"status and sales", benchStatusAndSales},
		{"growth", benchGrowth},
		{"memory", benchMemory},
		{"serial efficiency", benchSerial},
		{"cloud relay", benchCloud},
	}
	for _, st := range steps {
		if !strings.Contains(st.name, *only) {
			continue
		}
		fmt.Fprintf(m.Stderr, "== %s\n", st.name)
		if err := st.run(ctx, s, r); err != nil {
			return fmt.Errorf("%s: %w", st.name, err)
		}
	}
	r.note(fmt.Sprintf("run took %s; quick=%v", time.Since(start).Round(time.Second), quick))
	r.print(m.Stdout)
	if s.markdown != "" {
		return os.WriteFile(s.markdown, []byte(r.markdownTable()), 0o644)
	}
	return nil
}

// row is one printed figure.
type row struct {
	figure, value, floor, ratio, goal, verdict string
}

// report collects rows.
type report struct {
	rows  []row
	notes []string
}

// compare adds a figure measured against a floor, with a goal on the ratio.
func (r *report) compare(figure, unit string, value, floor float64, goal string, ok bool) {
	ratio := "-"
	if floor != 0 {
		ratio = fmt.Sprintf("%.2f", value/floor)
	}
	r.add(row{figure, fmt.Sprintf("%.4g %s", value, unit), fmt.Sprintf("%.4g %s", floor, unit), ratio, goal, verdict(goal, ok)})
}

// figure adds a figure with no floor.
func (r *report) figure(figure, value, goal string, ok bool) {
	r.add(row{figure, value, "-", "-", goal, verdict(goal, ok)})
}

func (r *report) add(x row) { r.rows = append(r.rows, x) }

func (r *report) note(s string) { r.notes = append(r.notes, s) }

func verdict(goal string, ok bool) string {
	switch {
	case goal == "" || goal == "-":
		return ""
	case ok:
		return "met"
	}
	return "MISSED"
}

// print writes the table for a terminal.
func (r *report) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tcashlessd\tfloor\tratio\tgoal\t")
	for _, x := range r.rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", x.figure, x.value, x.floor, x.ratio, x.goal, x.verdict)
	}
	_ = tw.Flush()
	for _, n := range r.notes {
		fmt.Fprintln(w, "note:", n)
	}
}

// markdownTable renders the table for docs/performance.md.
func (r *report) markdownTable() string {
	var b strings.Builder
	b.WriteString("| figure | cashlessd | floor | ratio | goal | |\n|---|---|---|---|---|---|\n")
	for _, x := range r.rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", x.figure, x.value, x.floor, x.ratio, x.goal, x.verdict)
	}
	for _, n := range r.notes {
		fmt.Fprintf(&b, "\n%s\n", n)
	}
	return b.String()
}
