package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/vinr/cashlessd/discovery"
)

// defaultDiscoverWait is how long discover listens, and how long
// --terminal waits for its terminal at most.
const defaultDiscoverWait = 3 * time.Second

// resolveWait bounds how long --terminal looks for its terminal; it returns
// as soon as the terminal answers.
const resolveWait = 5 * time.Second

// discover lists the terminals that announce themselves on the LAN.
func (m *Main) discover(ctx context.Context, o *options, args []string) error {
	fs := flag.NewFlagSet("cashless discover", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	wait := fs.Duration("wait", defaultDiscoverWait, "listen for `duration`")
	o.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(m.Stdout, "usage: cashless discover [--wait D] [--json]\n\nList the cashlessd terminals on this LAN (DNS-SD, %s).\n\nflags:\n", discovery.ServiceType)
			fs.SetOutput(m.Stdout)
			fs.PrintDefaults()
			return nil
		}
		return m.usageError(fmt.Sprintf("discover: %v", err))
	}
	if fs.NArg() > 0 {
		return m.usageError(fmt.Sprintf("discover: unexpected argument %q", fs.Arg(0)))
	}
	if *wait <= 0 {
		return m.usageError("discover: --wait must be positive")
	}
	found, err := discovery.Browse(ctx, *wait, "")
	if err != nil {
		fmt.Fprintf(m.Stderr, "cashless: discover: %v\n", err)
		return exitWith(exitTransport, err.Error())
	}
	if o.json {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(found)
	} else if len(found) > 0 {
		tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TERMINAL\tADDRESS\tMODEL\tVERSION\tCERT SHA-256")
		for _, t := range found {
			fp := t.CertSHA256
			if len(fp) > 16 {
				fp = fp[:16] + "…"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.TerminalID, t.Address, t.Model, t.Version, fp)
		}
		_ = tw.Flush()
	}
	if len(found) == 0 {
		fmt.Fprintf(m.Stderr, "cashless: no terminal answered within %s (discovery on? same LAN segment? multicast allowed on this network?)\n", *wait)
		return exitWith(exitTransport, "no terminal found")
	}
	return nil
}

// trustResolved makes the client accept the terminal discovery found (see
// discovery.Terminal.TrustConfig).
func trustResolved(c *client, t discovery.Terminal) {
	tr, ok := c.http.Transport.(*http.Transport)
	if !ok || tr.TLSClientConfig == nil {
		return
	}
	tr.TLSClientConfig = t.TrustConfig(tr.TLSClientConfig)
}
