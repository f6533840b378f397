package main

import (
	"os"
	"strings"
	"testing"

	"github.com/vinr/cashlessd/tools/cashless-faults/faults"
)

// TestFaultHostileInput sends mutated bodies (wrong types, unknown and
// duplicate fields, deep nesting, bad UTF-8, truncation, byte damage) to
// every endpoint of a daemon process: none may get a 5xx or leave a
// transaction behind when refused. Then it guesses keys until the
// limiter answers 429 (the right key is still served meanwhile). The
// full run sends more bodies, waits out Retry-After and runs every fuzz
// target (`make reliability`).
func TestFaultHostileInput(t *testing.T) {
	t.Parallel()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	seed := faultSeed(t)
	opt := faults.Options{Launcher: faults.Launcher{Binary: self, Env: []string{"CASHLESSD_AS_MAIN=1"}}, Dir: t.TempDir(), Seed: seed}
	r, err := faults.RunInputWith(t.Context(), opt, 150, false, 0, "")
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	var out strings.Builder
	r.Print(&out)
	t.Logf("seed %d\n%s", seed, out.String())
	for _, v := range r.Violations {
		t.Errorf("seed %d: %s", seed, v)
	}
}
