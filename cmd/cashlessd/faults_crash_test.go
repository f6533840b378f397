package main

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vinr/cashlessd/tools/cashless-faults/faults"
)

// faultSeed is CASHLESS_FAULTS_SEED when set (to replay a failure), else
// the clock.
func faultSeed(t *testing.T) uint64 {
	if s := os.Getenv("CASHLESS_FAULTS_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	return uint64(time.Now().UnixNano())
}

// TestFaultsCrashShort is the short version of `cashless-faults`' crash
// suite: this test binary stands in for cashlessd (daemon and host
// simulator as separate processes, CASHLESSD_AS_MAIN=1), the daemon is
// killed with SIGKILL at two dozen moments of sales, pre-auths,
// increments, releases, completions, refunds and batch closes (each at
// least once) and stopped with SIGTERM a few
// times, restarted on the same data directory each time, and the host's
// ledger is reconciled with the terminal's database after every kill and
// at the end. `make reliability` runs the full suite (500+ kills).
func TestFaultsCrashShort(t *testing.T) {
	t.Parallel()
	r, seed, progress := runShortCrash(t, 24, 4)
	if n := r.Kills("SIGKILL"); n < 20 {
		t.Errorf("only %d kill points", n)
	}
	killed := map[string]bool{}
	for _, p := range r.Points {
		if p.Signal == "SIGKILL" {
			killed[p.Op] = true
		}
	}
	for _, op := range []string{faults.OpSale, faults.OpPreauth, faults.OpIncrement, faults.OpRelease, faults.OpCompletion, faults.OpRefund, faults.OpBatch, faults.OpVoid} {
		if !killed[op] {
			t.Errorf("seed %d: no kill during a %s", seed, op)
		}
	}
	for _, v := range r.Violations {
		t.Errorf("seed %d: %s", seed, v)
	}
	if t.Failed() {
		t.Logf("rounds:\n%s", progress)
	}
}

// runShortCrash runs the crash suite with this test binary standing in
// for cashlessd: kills SIGKILLs and terms SIGTERMs over ops (all when
// none are named). A run that could not go on fails the test; the
// report, the seed and the rounds' progress are returned for the checks.
func runShortCrash(t *testing.T, kills, terms int, ops ...string) (*faults.Report, uint64, string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	seed := faultSeed(t)
	var progress strings.Builder
	opt := faults.Options{
		Launcher: faults.Launcher{Binary: self, Env: []string{"CASHLESSD_AS_MAIN=1"}},
		Dir:      t.TempDir(),
		Kills:    kills,
		Terms:    terms,
		Ops:      ops,
		Seed:     seed,
		MaxHold:  300 * time.Millisecond,
		Progress: &progress,
	}
	begin := time.Now()
	r, err := faults.RunCrash(t.Context(), opt)
	var table strings.Builder
	if r != nil {
		r.Print(&table)
	}
	if err != nil {
		t.Fatalf("seed %d: %v\n%s\n%s", seed, err, progress.String(), table.String())
	}
	t.Logf("seed %d, %s\n%s", seed, time.Since(begin).Round(time.Millisecond), table.String())
	return r, seed, progress.String()
}
