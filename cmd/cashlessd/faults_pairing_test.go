package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vinr/cashlessd/tools/cashless-faults/faults"
)

// TestFaultPairingBruteForce runs the brute-force round on pairing codes
// against a daemon process: 4 addresses guess random codes for 4 s while
// the ECR calls status; no guess may pair, the codes looked at must stay
// within the global limit, the ECR must be served and the real code must
// still pair. `make reliability` guesses for a whole code lifetime (10
// minutes) from 8 addresses and states the arithmetic.
func TestFaultPairingBruteForce(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	opt := faults.Options{Launcher: faults.Launcher{Binary: self, Env: []string{"CASHLESSD_AS_MAIN=1"}}, Dir: t.TempDir(), Seed: faultSeed(t)}
	r, err := faults.RunPairingWith(t.Context(), opt, faults.PairingConfig{Guessers: 4, For: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	r.Print(&out)
	t.Log(out.String())
	for _, v := range r.Violations {
		t.Error(v)
	}
}
