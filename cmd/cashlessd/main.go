// Command cashlessd is the payment daemon of a LAN payment terminal: it
// serves the Cashless API over HTTPS and drives the card reader, printer and
// acquirer host. Subcommands: serve, key rotate, pair, ecr, certs issue,
// print-test, diag, hostsim, card import, version.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
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

// errHelp is a subcommand's answer to -h or --help: its usage is printed
// on stdout and Run returns nil (exit status 0).
var errHelp = errors.New("help printed")

// synopsis is a subcommand's one-line usage.
func synopsis(name string) string {
	switch name {
	case "serve":
		return "serve [--config FILE] [--listen ADDR] [--data-dir DIR] [--simulator] [--model MODEL] [--terminal-id ID]"
	case "key rotate":
		return "key rotate (--config FILE | --data-dir DIR)"
	case "pair":
		return "pair (--config FILE | --data-dir DIR) [--ttl 10m] [--scopes payments,refunds]"
	case "ecr list":
		return "ecr list (--config FILE | --data-dir DIR)"
	case "ecr revoke":
		return "ecr revoke ECR_ID (--config FILE | --data-dir DIR)"
	case "ecr scope":
		return "ecr scope ECR_ID --scopes payments[,refunds][,admin] (--config FILE | --data-dir DIR)"
	case "ecr rotate":
		return "ecr rotate ECR_ID [--grace D] (--config FILE | --data-dir DIR)"
	case "ecr signing":
		return "ecr signing ECR_ID [--required=false] (--config FILE | --data-dir DIR)"
	case "certs issue":
		return "certs issue (--config FILE | --data-dir DIR) [--hosts NAME,IP,...] [--drop-ca-key]"
	case "print-test":
		return "print-test [--config FILE] [--simulator] [--data-dir DIR] [--model MODEL]"
	case "diag":
		return "diag [--config FILE] [--simulator] [--data-dir DIR] [--key KEY] [--json]"
	case "card import":
		return "card import --in FILE [--format emu|trace] [--out FILE] [--name NAME] [--interface contact|contactless] [--atr HEX]"
	case "hostsim":
		return "hostsim [--listen ADDR] [--ledger FILE] [--latency D] [--drop-responses]"
	}
	return name
}

// usage lists every subcommand.
func usage() string {
	var b strings.Builder
	b.WriteString("usage:")
	for _, name := range []string{"serve", "key rotate", "pair", "ecr list", "ecr revoke", "ecr scope", "ecr rotate",
		"ecr signing", "certs issue", "print-test", "diag", "hostsim", "card import", "version"} {
		b.WriteString("\n  cashlessd " + synopsis(name))
	}
	return b.String()
}

// parseFlags parses a subcommand's flags. -h or --help prints its usage on
// stdout and returns errHelp; a mistake prints it on stderr and returns a
// usageError.
func (m *Main) parseFlags(fs *flag.FlagSet, args []string) error {
	var out bytes.Buffer
	fs.SetOutput(&out)
	fs.Usage = func() {
		fmt.Fprintf(&out, "usage: cashlessd %s\n", synopsis(fs.Name()))
		fs.PrintDefaults()
	}
	err := fs.Parse(args)
	fs.SetOutput(m.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		_, _ = m.Stdout.Write(out.Bytes())
		return errHelp
	case err != nil:
		_, _ = m.Stderr.Write(out.Bytes())
		return usageError{err.Error()}
	case fs.NArg() > 0:
		return usageError{fmt.Sprintf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))}
	}
	return nil
}

// Run runs one subcommand; ctx ending stops serve gracefully.
func (m *Main) Run(ctx context.Context, args []string) error {
	if err := m.run(ctx, args); !errors.Is(err, errHelp) {
		return err
	}
	return nil
}

func (m *Main) run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageError{usage()}
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
		if len(args) == 2 && isHelp(args[1]) {
			fmt.Fprintln(m.Stdout, "usage: cashlessd "+synopsis("key rotate"))
			return nil
		}
		if len(args) < 2 || args[1] != "rotate" {
			return usageError{usage()}
		}
		return m.keyRotate(ctx, args[2:])
	case "pair":
		return m.pair(ctx, args[1:])
	case "ecr":
		return m.ecr(ctx, args[1:])
	case "card":
		if len(args) == 2 && isHelp(args[1]) {
			fmt.Fprintln(m.Stdout, "usage: cashlessd "+synopsis("card import"))
			return nil
		}
		if len(args) < 2 || args[1] != "import" {
			return usageError{usage()}
		}
		return m.cardImport(args[2:])
	case "certs":
		if len(args) == 2 && isHelp(args[1]) {
			fmt.Fprintln(m.Stdout, "usage: cashlessd "+synopsis("certs issue"))
			return nil
		}
		if len(args) < 2 || args[1] != "issue" {
			return usageError{usage()}
		}
		return m.certsIssue(args[2:])
	case "version", "--version", "-v":
		fmt.Fprintln(m.Stdout, m.Version)
		return nil
	case "help", "--help", "-h", "-help":
		fmt.Fprintln(m.Stdout, usage())
		return nil
	}
	return usageError{fmt.Sprintf("unknown command %q\n%s", args[0], usage())}
}

func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}
