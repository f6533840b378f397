// Command cashless-faults is cashlessd's fault harness. It runs the real
// cashlessd binary and its host simulator as separate processes, with a
// fault-injecting proxy on the ISO 8583 link between them, and:
//
//   - kills the daemon with SIGKILL at random moments of sales, refunds,
//     pre-auths, completions and batch closes (before the host request, in
//     flight, after the answer, while writing, while printing, during the
//     restart's own recovery), restarts it on the same data directory,
//     retries the ECR's reference, and reconciles the host's ledger with
//     the terminal's database after every kill and at the end;
//   - stops it with SIGTERM mid-transaction and checks the drain;
//   - injects device faults (reader, printer, host link), storage faults
//     (full disk, corrupt database), load (busy terminal, status pollers,
//     oversized bodies, slow headers), hostile input (fuzz targets, key
//     guessing), a brute force of pairing codes over a code's lifetime,
//     and scans everything written for card data and keys.
//
// It prints a table of kill points per phase and outcome and of every
// other fault, writes it as Markdown with -markdown, and exits 1 on any
// violation. `make reliability` runs the full suite.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/vinr/cashlessd/tools/cashless-faults/faults"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code, err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cashless-faults:", err)
	}
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("cashless-faults", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		bin      = fs.String("daemon", "bin/cashlessd", "cashlessd binary")
		rounds   = fs.Int("rounds", 500, "SIGKILL points to make")
		terms    = fs.Int("sigterm", 40, "SIGTERM rounds")
		long     = fs.Bool("long-shutdown", true, "add a SIGTERM whose transaction outlives the 30 s grace")
		suites   = fs.String("suites", "crash,devices,storage,load,input,secrets,hostile,pairing", "suites to run, comma-separated")
		devices  = fs.Int("device-rounds", 5, "repetitions of each device fault")
		pollers  = fs.Int("pollers", 200, "status pollers in the load suite")
		pollFor  = fs.Duration("poll-for", time.Minute, "how long the pollers run")
		fuzzTime = fs.Duration("fuzztime", 20*time.Second, "time per fuzz target (0 skips fuzzing; needs the go tool and the module)")
		seed     = fs.Uint64("seed", 0, "random seed (0: from the clock)")
		dir      = fs.String("dir", "", "work directory (default: a new temporary one, removed on success)")
		markdown = fs.String("markdown", "", "also write the report as Markdown to this file")
		quiet    = fs.Bool("q", false, "no per-round progress")
		ops      = fs.String("ops", "", "crash suite: only these operations (sale,preauth,completion,increment,release,refund,batch close,void)")
	)
	if err := fs.Parse(args); err != nil {
		return 2, err
	}
	abs, err := filepath.Abs(*bin)
	if err != nil {
		return 2, err
	}
	if _, err := os.Stat(abs); err != nil {
		return 2, fmt.Errorf("-daemon %s: %w (run `make build` first)", *bin, err)
	}
	work := *dir
	if work == "" {
		if work, err = os.MkdirTemp("", "cashless-faults-"); err != nil {
			return 2, err
		}
	}
	var progress io.Writer = stderr
	if *quiet {
		progress = nil
	}
	opt := faults.Options{Launcher: faults.Launcher{Binary: abs}, Kills: *rounds, Terms: *terms, LongShutdown: *long,
		Seed: *seed, Progress: progress}
	if *ops != "" {
		opt.Ops = strings.Split(*ops, ",")
	}
	cfg := faults.SuiteConfig{DeviceRounds: *devices, Pollers: *pollers, PollFor: *pollFor, FuzzTime: *fuzzTime}
	begin := time.Now()
	version := "unknown"
	if out, err := exec.Command(abs, "version").Output(); err == nil {
		version = strings.TrimSpace(string(out))
	}
	if out, err := exec.Command("git", "describe", "--always", "--dirty").Output(); err == nil {
		version += ", source " + strings.TrimSpace(string(out))
	}
	report, err := faults.RunSuites(ctx, work, strings.Split(*suites, ","), opt, cfg)
	if report != nil {
		report.Note("Full run took %s against cashlessd %s (%s, %d CPUs).", time.Since(begin).Round(time.Second), version, runtime.GOARCH, runtime.NumCPU())
		report.Print(stdout)
		if *markdown != "" {
			if werr := writeMarkdown(*markdown, report.Markdown()); werr != nil && err == nil {
				err = werr
			}
		}
	}
	if err != nil {
		return 1, err
	}
	if len(report.Violations) > 0 {
		return 1, fmt.Errorf("%d violations (work directory kept: %s)", len(report.Violations), work)
	}
	if *dir == "" {
		_ = os.RemoveAll(work)
	}
	return 0, nil
}

// The generated part of a Markdown file sits between these lines; the
// rest of the file is kept.
const (
	beginGenerated = "<!-- BEGIN cashless-faults -->"
	endGenerated   = "<!-- END cashless-faults -->"
)

// writeMarkdown puts the tables between the markers of an existing file,
// or writes them as the whole file.
func writeMarkdown(path, tables string) error {
	block := beginGenerated + "\n" + tables + endGenerated
	old, err := os.ReadFile(path)
	if err == nil {
		s := string(old)
		i, j := strings.Index(s, beginGenerated), strings.Index(s, endGenerated)
		if i >= 0 && j > i {
			return os.WriteFile(path, []byte(s[:i]+block+s[j+len(endGenerated):]), 0o644)
		}
	}
	return os.WriteFile(path, []byte(block+"\n"), 0o644)
}
