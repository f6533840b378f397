package faults

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// SuiteConfig sizes the suites other than the crash rounds.
type SuiteConfig struct {
	DeviceRounds int           // repetitions of each device fault
	Pollers      int           // status pollers in the load suite
	PollFor      time.Duration // how long they poll
	FuzzTime     time.Duration // per fuzz target; 0 skips fuzzing
	ModuleDir    string        // where `go test -fuzz` runs (default: the current directory)
}

// RunSuites runs the named suites, each in its own directory under work,
// and merges their reports. A suite that cannot run (an error, not a
// violation) stops the run.
func RunSuites(ctx context.Context, work string, names []string, opt Options, cfg SuiteConfig) (*Report, error) {
	all := NewReport()
	for _, name := range names {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		o := opt
		o.Dir = filepath.Join(work, name)
		if err := os.MkdirAll(o.Dir, 0o700); err != nil {
			return all, err
		}
		begin := time.Now()
		if opt.Progress != nil {
			fmt.Fprintf(opt.Progress, "== %s\n", name)
		}
		var r *Report
		var err error
		switch name {
		case "crash":
			r, err = RunCrash(ctx, o)
		case "devices":
			r, err = RunDevices(ctx, o, cfg.DeviceRounds)
		case "storage":
			r, err = RunStorage(ctx, o)
		case "load":
			r, err = RunLoad(ctx, o, cfg.Pollers, cfg.PollFor)
		case "input":
			r, err = RunInput(ctx, o, cfg.FuzzTime, cfg.ModuleDir)
		case "secrets":
			r, err = RunSecrets(ctx, o, work)
		case "hostile":
			r, err = RunHostile(ctx, o)
		case "pairing":
			r, err = RunPairing(ctx, o)
		default:
			return all, fmt.Errorf("unknown suite %q", name)
		}
		if r != nil {
			if name != "crash" {
				r.Note("Suite %s took %s.", name, time.Since(begin).Round(time.Second))
			}
			all.Merge(r)
		}
		if err != nil {
			return all, fmt.Errorf("%s: %w", name, err)
		}
	}
	return all, nil
}
