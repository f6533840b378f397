package main

import (
	"strings"
	"testing"

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
	r, seed, progress := runShortCrash(t, 10, 1, faults.OpVoid)
	if !strings.Contains(progress, " void ") {
		t.Errorf("no void was interrupted:\n%s", progress)
	}
	for _, v := range r.Violations {
		t.Errorf("seed %d: %s", seed, v)
	}
	if t.Failed() {
		t.Logf("rounds:\n%s", progress)
	}
}
