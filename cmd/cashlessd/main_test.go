package main

import (
	"os"
	"testing"
)

// TestMain lets the test binary stand in for the cashlessd binary: with
// CASHLESSD_AS_MAIN=1 it runs Main on its arguments, so tests can start
// real daemon and host processes and kill them.
func TestMain(m *testing.M) {
	if os.Getenv("CASHLESSD_AS_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}
