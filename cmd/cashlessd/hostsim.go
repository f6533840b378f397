package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/vinr/cashlessd/daemon/host"
	"github.com/vinr/cashlessd/daemon/host/hostsim"
	"github.com/vinr/cashlessd/daemon/logging"
)

// hostSim runs the simulated acquirer on its own, as a separate process:
// what tests and the fault harness use to kill the daemon without losing
// the host's ledger.
func (m *Main) hostSim(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("hostsim", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	ledger := fs.String("ledger", "hostsim-ledger.json", "ledger file (JSON lines, appended, 0600)")
	latency := fs.Duration("latency", 0, "delay before each answer")
	drop := fs.Bool("drop-responses", false, "book requests but never answer")
	dialect := fs.String("dialect", host.DialectDefault, "message layout: "+strings.Join(host.Dialects(), " or "))
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	log := logging.New(m.Stderr, "info")
	s, err := hostsim.New(hostsim.Config{LedgerPath: *ledger, Dialect: *dialect, Log: log})
	if err != nil {
		return err
	}
	s.SetLatency(*latency)
	s.SetDropResponse(*drop)
	if err := s.Listen(ctx, *listen); err != nil {
		return err
	}
	fmt.Fprintln(m.Stdout, s.Addr())
	<-ctx.Done()
	return s.Close()
}
