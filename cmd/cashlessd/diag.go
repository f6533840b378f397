package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"

	"github.com/vinr/cashlessd/daemon/config"
	"github.com/vinr/cashlessd/diag"
)

// diagError is diag's exit status 1: at least one check failed. The report
// has already been printed.
type diagError struct{ failed []string }

func (e diagError) Error() string {
	return fmt.Sprintf("diag: %d check(s) failed: %s", len(e.failed), strings.Join(e.failed, ", "))
}

// diag checks everything the daemon needs and prints a report: exit 0 when
// every check passed (warnings included), 1 when one failed.
func (m *Main) diag(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("diag", flag.ContinueOnError)
	var (
		file      = fs.String("config", "", "TOML configuration file")
		dataDir   = fs.String("data-dir", "", "data directory (default: the config's, or /var/lib/cashlessd)")
		simulator = fs.Bool("simulator", false, "check against the simulated reader, printer and host")
		asJSON    = fs.Bool("json", false, "print the report as JSON (for fleet tools)")
		key       = fs.String("key", "", "a shared key to try against the running daemon's API")
	)
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	report := diag.Run(ctx, diag.Options{Version: m.Version, ConfigFile: *file, Key: *key, Override: func(cfg *config.Config) {
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "data-dir":
				cfg.DataDir = *dataDir
			case "simulator":
				cfg.Simulator = *simulator
			}
		})
	}})
	if *asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			return err
		}
	} else {
		report.WriteText(m.Stdout)
	}
	if failed := report.Failed(); len(failed) > 0 {
		return diagError{failed: failed}
	}
	return nil
}
