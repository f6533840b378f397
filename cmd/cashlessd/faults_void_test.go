package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vinr/cashlessd/tools/cashless-faults/faults"
)

// TestFaultsCrashVoidShort is the crash suite on voids and the sales and
// batch closes around them: the daemon is killed at every moment of a
// void (before and inside its booking, with the reversal held before or
// after the host, while printing, after the answer) and stopped with
// SIGTERM once, and after each restart the host's ledger (the original
// reversed exactly once) is reconciled with the terminal's database (the
// original voided and out of its batch's totals).
func TestFaultsCrashVoidShort(t *testing.T) {
	t.Parallel()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	seed := faultSeed(t)
	var progress strings.Builder
	opt := faults.Options{
		Launcher: faults.Launcher{Binary: self, Env: []string{"CASHLESSD_AS_MAIN=1"}},
		Dir:      t.TempDir(),
		Kills:    10,
		Terms:    1,
		Ops:      []string{faults.OpVoid},
		Seed:     seed,
		MaxHold:  300 * time.Millisecond,
		Progress: &progress,
	}
	r, err := faults.RunCrash(t.Context(), opt)
	var table strings.Builder
	if r != nil {
		r.Print(&table)
	}
	if err != nil {
		t.Fatalf("seed %d: %v\n%s\n%s", seed, err, progress.String(), table.String())
	}
	t.Logf("seed %d\n%s", seed, table.String())
	if !strings.Contains(progress.String(), " void ") {
		t.Errorf("no void was interrupted:\n%s", progress.String())
	}
	for _, v := range r.Violations {
		t.Errorf("seed %d: %s", seed, v)
	}
	if t.Failed() {
		t.Logf("rounds:\n%s", progress.String())
	}
}
