// Command cashless is the ECR-side client of cashlessd: what an integrator
// or technician runs from a laptop to drive a payment terminal over the
// Cashless API exactly as an ECR would (status, sale, preauth, complete,
// refund, cancel, batch-close, receipt-last, reprint).
//
// It prints a one-line human answer by default and the terminal's JSON with
// --json, and exits with a code a script can act on (see usage). When the
// answer to a transaction is lost (timeout, dropped connection, Ctrl-C) it
// asks the terminal's status whether the transaction completed, as the
// Cashless API advises.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first Ctrl-C ends the wait (and asks status); a second one quits.
	go func() {
		<-ctx.Done()
		stop()
	}()
	m := &Main{Stdout: os.Stdout, Stderr: os.Stderr, LookupEnv: os.LookupEnv, Version: buildVersion()}
	err := m.Run(ctx, os.Args[1:])
	stop()
	os.Exit(exitCode(err))
}

// Main is the program, as a value tests can run in-process.
type Main struct {
	// Stdout gets answers: outcomes, status, receipts, --json bodies.
	Stdout io.Writer
	// Stderr gets refusals, transport problems and usage.
	Stderr io.Writer
	// LookupEnv reads an environment variable (os.LookupEnv in the program).
	LookupEnv func(key string) (string, bool)
	// Version is printed by `cashless version` and sent as the User-Agent.
	Version string
}

// Run runs one command. Everything worth saying is written to Stdout or
// Stderr; the error, if any, carries the exit code (see exitCode).
func (m *Main) Run(ctx context.Context, args []string) error {
	o := defaultOptions(m.LookupEnv)
	top := flag.NewFlagSet("cashless", flag.ContinueOnError)
	top.SetOutput(io.Discard)
	o.register(top)
	if err := top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(m.Stdout, usage)
			return nil
		}
		return m.usageError(err.Error())
	}
	if top.NArg() == 0 {
		fmt.Fprint(m.Stderr, usage)
		return exitWith(exitUsage, "no command")
	}
	name, rest := subcommand(top.Arg(0), top.Args()[1:])
	switch name {
	case "help":
		fmt.Fprint(m.Stdout, usage)
		return nil
	case "version":
		fmt.Fprintln(m.Stdout, m.Version)
		return nil
	case "discover":
		return m.discover(ctx, o, rest)
	case "events":
		return m.events(ctx, o, rest)
	case "pair":
		return m.pair(ctx, o, rest)
	}
	cmd, ok := findCommand(name)
	if !ok {
		return m.usageError(fmt.Sprintf("unknown command %q", name))
	}
	fs := flag.NewFlagSet("cashless "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	build := cmd.prepare(fs, o)
	o.register(fs)
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(m.Stdout, "usage: cashless %s %s\n\n%s\n\nflags:\n", cmd.name, cmd.synopsis, cmd.summary)
			fs.SetOutput(m.Stdout)
			fs.PrintDefaults()
			return nil
		}
		return m.usageError(fmt.Sprintf("%s: %v", name, err))
	}
	if fs.NArg() > 0 {
		return m.usageError(fmt.Sprintf("%s: unexpected argument %q", name, fs.Arg(0)))
	}
	c, err := build()
	if err != nil {
		return m.usageError(fmt.Sprintf("%s: %v", name, err))
	}
	s, err := m.openSession(ctx, o)
	if err != nil {
		return err
	}
	return m.do(ctx, s, c)
}

// usageError reports a mistake on the command line.
func (m *Main) usageError(msg string) error {
	fmt.Fprintf(m.Stderr, "cashless: %s\nrun `cashless help` (or `cashless COMMAND -h`) for usage\n", msg)
	return exitWith(exitUsage, msg)
}

// version is set by release builds: -ldflags "-X main.version=…".
var version string

// buildVersion is the release version, or the module version the binary
// was built from.
func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
