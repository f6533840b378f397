package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/vinr/cashlessd/daemon/admin"
	"github.com/vinr/cashlessd/daemon/auth"
)

// adminTimeout bounds one request to the running daemon's admin socket
// (a pairing code is also displayed and printed).
const adminTimeout = 30 * time.Second

// errNoDaemon says pairing and ECR management need the running daemon.
func errNoDaemon(command string) error {
	return fmt.Errorf("%s: no cashlessd is running on this data directory: pairing codes and ECR changes "+
		"go through the running daemon (start it with `cashlessd serve`)", command)
}

// pair asks the running daemon for a one-time pairing code, which it shows
// on the terminal's display and prints with a QR code; the code, its QR
// code and how to use it are printed here too.
func (m *Main) pair(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("pair", flag.ContinueOnError)
	terminal := addTerminalFlags(fs)
	ttl := fs.Duration("ttl", auth.DefaultCodeTTL, "how long the code is valid")
	scopeList := fs.String("scopes", "payments,refunds", "scopes of the ECR that pairs with the code (payments, refunds, admin)")
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	scopes, err := auth.ParseScopes(*scopeList)
	if err != nil {
		return usageError{"pair: --scopes: " + err.Error()}
	}
	if *ttl <= 0 || *ttl > auth.MaxCodeTTL {
		return usageError{fmt.Sprintf("pair: --ttl must be between 1s and %s", auth.MaxCodeTTL)}
	}
	cfg, err := terminal.load("pair")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, adminTimeout)
	defer cancel()
	ans, err := admin.NewPairingCode(ctx, cfg.DataDir, admin.PairingRequest{TTLSeconds: int64(ttl.Seconds()), Scopes: scopes})
	if errors.Is(err, admin.ErrNotRunning) {
		return errNoDaemon("pair")
	}
	if err != nil {
		return fmt.Errorf("pair: %w", err)
	}
	fmt.Fprintf(m.Stdout, "Pairing code: %s\n", ans.Code)
	fmt.Fprintf(m.Stdout, "Valid until:  %s (single use)\n", ans.ExpiresAt.Local().Format("2006-01-02 15:04:05 MST"))
	fmt.Fprintf(m.Stdout, "Scopes:       %s\n", strings.Join(scopeStrings(ans.Scopes), ","))
	fmt.Fprintf(m.Stdout, "Terminal:     %s at %s\n", ans.TerminalID, ans.Address)
	fmt.Fprintf(m.Stdout, "Certificate:  SHA-256 %s\n", ans.CertificateSHA256)
	fmt.Fprintf(m.Stdout, "On the ECR:   cashless pair --addr https://%s %s\n", ans.Address, ans.Code)
	if q, err := qrcode.New(ans.QR, qrcode.Medium); err == nil {
		fmt.Fprintf(m.Stdout, "\n%s", q.ToSmallString(false))
	}
	fmt.Fprintf(m.Stdout, "QR: %s\n", ans.QR)
	switch {
	case ans.Displayed && ans.Printed:
		fmt.Fprintln(m.Stderr, "Shown on the terminal's display and printed.")
	case ans.Displayed:
		fmt.Fprintln(m.Stderr, "Shown on the terminal's display.")
	case ans.Printed:
		fmt.Fprintln(m.Stderr, "Printed on a slip.")
	}
	for _, why := range ans.Why {
		fmt.Fprintln(m.Stderr, "Note: "+why)
	}
	return nil
}

// ecr lists and changes the paired ECRs through the running daemon.
func (m *Main) ecr(ctx context.Context, args []string) error {
	if len(args) == 0 || isHelp(args[0]) {
		fmt.Fprintln(m.Stdout, "usage:\n  cashlessd "+synopsis("ecr list")+"\n  cashlessd "+synopsis("ecr revoke")+
			"\n  cashlessd "+synopsis("ecr scope")+"\n  cashlessd "+synopsis("ecr rotate")+"\n  cashlessd "+synopsis("ecr signing"))
		if len(args) == 0 {
			return usageError{"ecr: say list, revoke, scope, rotate or signing"}
		}
		return nil
	}
	action, rest := args[0], args[1:]
	name := "ecr " + action
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	terminal := addTerminalFlags(fs)
	var (
		scopeList *string
		grace     *time.Duration
		signed    *bool
	)
	switch action {
	case "list":
	case "revoke":
	case "scope":
		scopeList = fs.String("scopes", "", "the ECR's scopes, comma-separated (payments, refunds, admin)")
	case "rotate":
		grace = fs.Duration("grace", 0, "how long the previous key keeps working (0: it stops at once)")
	case "signing":
		signed = fs.Bool("required", true, "whether every request of the ECR must be signed")
	default:
		return usageError{fmt.Sprintf("ecr: unknown action %q (list, revoke, scope, rotate, signing)", action)}
	}
	// The ecrId comes first or last: `ecr revoke ecr_… --data-dir D`.
	var id string
	if action != "list" && len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		id, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(m.Stdout, "usage: cashlessd %s\n", synopsis(name))
		fs.SetOutput(m.Stdout)
		fs.PrintDefaults()
		return errHelp
	} else if err != nil {
		return usageError{fmt.Sprintf("%s: %v\nusage: cashlessd %s", name, err, synopsis(name))}
	}
	if id == "" && action != "list" && fs.NArg() == 1 {
		id = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("%s: unexpected argument %q", name, fs.Arg(0))}
	}
	if id == "" && action != "list" {
		return usageError{fmt.Sprintf("%s: say which ECR (its ecrId, from `cashlessd ecr list`)\nusage: cashlessd %s", name, synopsis(name))}
	}
	change := admin.ECRChange{}
	if scopeList != nil {
		scopes, err := auth.ParseScopes(*scopeList)
		if err != nil {
			return usageError{name + ": --scopes: " + err.Error()}
		}
		change.Scopes = scopes
	}
	if grace != nil {
		if *grace < 0 {
			return usageError{name + ": --grace cannot be negative"}
		}
		change.GraceSeconds = int64(grace.Seconds())
	}
	if signed != nil {
		change.Signed = signed
	}
	cfg, err := terminal.load(name)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, adminTimeout)
	defer cancel()
	if action == "list" {
		list, err := admin.ListECRs(ctx, cfg.DataDir)
		if errors.Is(err, admin.ErrNotRunning) {
			return errNoDaemon(name)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		m.printECRs(list)
		return nil
	}
	ans, err := admin.ChangeECR(ctx, cfg.DataDir, id, action, change)
	if errors.Is(err, admin.ErrNotRunning) {
		return errNoDaemon(name)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	switch action {
	case "revoke":
		fmt.Fprintf(m.Stdout, "%s (%s) revoked: its key no longer works; every other ECR is untouched.\n", ans.ID, ans.Name)
	case "scope":
		fmt.Fprintf(m.Stdout, "%s (%s) now holds: %s\n", ans.ID, ans.Name, strings.Join(scopeStrings(ans.Scopes), ","))
	case "rotate":
		fmt.Fprintln(m.Stdout, ans.Key)
		if ans.GraceUntil.IsZero() {
			fmt.Fprintf(m.Stderr, "New key of %s (%s) printed above; it is not shown again. The previous key no longer works.\n", ans.ID, ans.Name)
		} else {
			fmt.Fprintf(m.Stderr, "New key of %s (%s) printed above; it is not shown again. The previous key works until %s.\n",
				ans.ID, ans.Name, ans.GraceUntil.Local().Format("2006-01-02 15:04:05 MST"))
		}
	case "signing":
		if ans.SignedRequests {
			fmt.Fprintf(m.Stdout, "%s (%s): every request must now be signed.\n", ans.ID, ans.Name)
		} else {
			fmt.Fprintf(m.Stdout, "%s (%s): requests may be unsigned.\n", ans.ID, ans.Name)
		}
	}
	return nil
}

// printECRs shows the paired ECRs as a table.
func (m *Main) printECRs(list []auth.ECRInfo) {
	if len(list) == 0 {
		fmt.Fprintln(m.Stdout, "No ECR is paired. Make a code with `cashlessd pair`.")
		return
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ECR ID\tNAME\tSCOPES\tSIGNED\tPAIRED\tSTATE")
	for _, e := range list {
		state := "active"
		switch {
		case !e.RevokedAt.IsZero():
			state = "revoked " + e.RevokedAt.Local().Format("2006-01-02 15:04")
		case !e.GraceUntil.IsZero():
			state = "rotated, previous key until " + e.GraceUntil.Local().Format("15:04:05")
		}
		signed := "no"
		if e.SignedRequests {
			signed = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, e.Name, strings.Join(scopeStrings(e.Scopes), ","), signed,
			e.PairedAt.Local().Format("2006-01-02 15:04"), state)
	}
	_ = tw.Flush()
}

func scopeStrings(s []auth.Scope) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = string(v)
	}
	return out
}
