// Command cashlessd is the payment daemon of a LAN payment terminal: it
// serves the Cashless API over HTTPS and drives the card reader, printer and
// acquirer host. Subcommands: serve, key rotate, print-test, diag, hostsim, version.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"
	_ "time/tzdata" // terminals often ship without a zoneinfo database
)

// version is set at build time: -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := &Main{Stdout: os.Stdout, Stderr: os.Stderr, Version: version}
	if err := m.Run(ctx, os.Args[1:]); err != nil {
		var usage usageError
		if errors.As(err, &usage) {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "cashlessd:", err)
		os.Exit(1)
	}
}

// Main is the program, as a value tests can run in-process.
type Main struct {
	Stdout  io.Writer
	Stderr  io.Writer
	Version string
	// Ready, when set, is called once serve listens, with its address.
	Ready func(addr net.Addr)
	// ShutdownGrace bounds how long serve lets a running transaction
	// finish after a stop; zero means 30 s.
	ShutdownGrace time.Duration
}

// usageError is a mistake on the command line.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

const usage = `usage:
  cashlessd serve [--config FILE] [--listen ADDR] [--data-dir DIR] [--simulator] [--model MODEL] [--terminal-id ID]
  cashlessd key rotate [--data-dir DIR | --config FILE]
  cashlessd print-test [--config FILE] [--simulator] [--data-dir DIR] [--model MODEL]
  cashlessd diag [--config FILE] [--simulator] [--data-dir DIR] [--key KEY] [--json]
  cashlessd hostsim [--listen ADDR] [--ledger FILE] [--latency D] [--drop-responses]
  cashlessd version`

// Run runs one subcommand; ctx ending stops serve gracefully.
func (m *Main) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageError{usage}
	}
	switch args[0] {
	case "serve":
		return m.serve(ctx, args[1:])
	case "hostsim":
		return m.hostSim(ctx, args[1:])
	case "diag":
		return m.diag(ctx, args[1:])
	case "print-test":
		return m.printTest(ctx, args[1:])
	case "key":
		if len(args) < 2 || args[1] != "rotate" {
			return usageError{usage}
		}
		return m.keyRotate(ctx, args[2:])
	case "version", "--version", "-v":
		fmt.Fprintln(m.Stdout, m.Version)
		return nil
	case "help", "--help", "-h":
		fmt.Fprintln(m.Stdout, usage)
		return nil
	}
	return usageError{fmt.Sprintf("unknown command %q\n%s", args[0], usage)}
}
