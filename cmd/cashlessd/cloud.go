package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/vinr/cashlessd/daemon/admin"
	"github.com/vinr/cashlessd/relaylink"
)

// cloudCommand runs `cloud bind` and `cloud unbind` against the running
// daemon's admin socket: the daemon holds the link to the relay.
func (m *Main) cloudCommand(ctx context.Context, args []string) error {
	if len(args) == 1 && isHelp(args[0]) {
		fmt.Fprintln(m.Stdout, "usage: cashlessd "+synopsis("cloud bind")+"\n       cashlessd "+synopsis("cloud unbind"))
		return nil
	}
	if len(args) == 0 || (args[0] != "bind" && args[0] != "unbind") {
		return usageError{usage()}
	}
	command := "cloud " + args[0]
	fs := flag.NewFlagSet(command, flag.ContinueOnError)
	terminal := addTerminalFlags(fs)
	var express *bool
	if args[0] == "bind" {
		express = fs.Bool("express", false, "bind without a key: the relay has this terminal prebound")
	}
	flags, positional := splitPositional(args[1:], "config", "data-dir")
	if err := m.parseFlags(fs, flags); err != nil {
		return err
	}
	key := ""
	switch {
	case args[0] == "unbind" && len(positional) > 0:
		return usageError{fmt.Sprintf("%s: unexpected argument %q", command, positional[0])}
	case args[0] == "bind" && *express && len(positional) > 0:
		return usageError{"cloud bind: --express takes no key\nusage: cashlessd " + synopsis(command)}
	case args[0] == "bind" && !*express && len(positional) != 1:
		return usageError{"cloud bind: give the one-time key from the relay (or --express)\nusage: cashlessd " + synopsis(command)}
	case args[0] == "bind" && !*express:
		key = positional[0]
	}
	cfg, err := terminal.load(command)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var ans relaylink.BindAnswer
	if args[0] == "bind" {
		ans, err = admin.CloudBind(ctx, cfg.DataDir, key)
	} else {
		ans, err = admin.CloudUnbind(ctx, cfg.DataDir)
	}
	if errors.Is(err, admin.ErrNotRunning) {
		return fmt.Errorf("%s: no cashlessd runs on %s: start it with its cloud relay (cloud.url or --cloud)", command, cfg.DataDir)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", command, err)
	}
	if ans.Error != "" {
		return fmt.Errorf("%s: refused by the relay (%s): %s", command, ans.Error, ans.Message)
	}
	if args[0] == "bind" {
		fmt.Fprintf(m.Stdout, "bound to merchant %s\n", ans.MerchantID)
	} else {
		fmt.Fprintln(m.Stdout, "unbound")
	}
	return nil
}

// splitPositional separates a command's flags from its positional
// arguments, wherever they stand; valued names the flags that take a value
// as the next argument.
func splitPositional(args []string, valued ...string) (flags, positional []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			positional = append(positional, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		for _, v := range valued {
			if name == v && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		}
	}
	return flags, positional
}
