package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/vinr/cashlessd/daemon/api/wire"
)

// preauthSteps are the words after "preauth" that name a step of a
// pre-auth's lifecycle rather than a new pre-auth.
var preauthSteps = []string{"increment", "release", "list"}

// subcommand turns "preauth increment …" into the command "preauth
// increment" and its flags; every other command line is left as it is.
func subcommand(name string, rest []string) (string, []string) {
	if name != "preauth" || len(rest) == 0 {
		return name, rest
	}
	for _, s := range preauthSteps {
		if rest[0] == s {
			return name + " " + s, rest[1:]
		}
	}
	return name, rest
}

// preauthCommands are the steps of a pre-auth after it was approved.
func preauthCommands() []command {
	return []command{
		{name: "preauth increment", synopsis: "--original REF --amount N --reference REF",
			summary: "Raise what a pre-auth holds by N; its validity restarts.", prepare: prepareIncrement},
		{name: "preauth release", synopsis: "--original REF --reference REF",
			summary: "Give a pre-auth's hold back to the card; it cannot be completed afterwards.", prepare: prepareRelease},
		{name: "preauth list", synopsis: "",
			summary: "List the pre-auths that hold funds.", prepare: preparePreauthList},
	}
}

func prepareIncrement(fs *flag.FlagSet, _ *options) func() (*call, error) {
	var original, reference stringFlag
	var amount amountFlag
	fs.Var(&original, "original", "`reference` of the approved pre-auth (originalReference)")
	fs.Var(&amount, "amount", "amount to add to the hold, in minor `units`")
	fs.Var(&reference, "reference", "the increment's own `reference`")
	return func() (*call, error) {
		if err := requireFlags(fs, "original", "amount", "reference"); err != nil {
			return nil, err
		}
		b := wire.IncrementRequest{OriginalReference: &original.v, Amount: &amount.v, Reference: &reference.v}
		return &call{path: wire.PathPreauthIncrement, body: b, kind: "increment", reference: reference.v, show: showHoldChange}, nil
	}
}

func prepareRelease(fs *flag.FlagSet, _ *options) func() (*call, error) {
	var original, reference stringFlag
	fs.Var(&original, "original", "`reference` of the approved pre-auth (originalReference)")
	fs.Var(&reference, "reference", "the release's own `reference`")
	return func() (*call, error) {
		if err := requireFlags(fs, "original", "reference"); err != nil {
			return nil, err
		}
		b := wire.ReleaseRequest{OriginalReference: &original.v, Reference: &reference.v}
		return &call{path: wire.PathPreauthRelease, body: b, kind: "release", reference: reference.v, show: showHoldChange}, nil
	}
}

func preparePreauthList(_ *flag.FlagSet, _ *options) func() (*call, error) {
	return func() (*call, error) {
		return &call{path: wire.PathPreauthList, body: wire.PreauthListRequest{}, show: showHolds}, nil
	}
}

// showHoldChange prints an increment's or release's answer:
// "APPROVED  increment  USD 20.00  held USD 120.00  expires …".
func showHoldChange(p *printer, a *answer) int {
	var h wire.HoldChange
	if err := decode(a, &h); err != nil {
		return p.unreadable(a, err)
	}
	switch h.Status {
	case "approved":
		what := "released " + money(h.Amount, h.Currency)
		if h.Type == "increment" {
			held := int64(0)
			if h.HeldAmount != nil {
				held = *h.HeldAmount
			}
			what = "+" + money(h.Amount, h.Currency) + "  held " + money(held, h.Currency)
		}
		replayed := ""
		if a.replayed {
			replayed = "(replayed: nothing changed again)"
		}
		line(p.out, "APPROVED", h.Type, what, prefixed("auth ", h.AuthCode), h.TransactionID, replayed)
		detail(p.out, prefixed("pre-auth ", h.OriginalReference), prefixed("expires ", h.ExpiresAt))
	case "declined":
		line(p.out, "DECLINED "+h.DeclineCode+": "+h.DeclineMessage)
		detail(p.out, h.Type, money(h.Amount, h.Currency), prefixed("reference ", h.Reference), h.TransactionID, "the hold is unchanged")
	case "cancelled", "failed":
		code, msg := "", ""
		if h.Error != nil {
			code, msg = h.Error.Code, h.Error.Message
		}
		line(p.out, strings.ToUpper(h.Status)+" "+code+": "+msg)
		detail(p.out, prefixed("reference ", h.Reference), h.TransactionID, h.CompletedAt)
	default:
		p.refused(a.status, h.Error)
	}
	return outcome(a.status, h.Status, h.Error)
}

// showHolds prints one line per pre-auth that holds funds.
func showHolds(p *printer, a *answer) int {
	var l wire.Holds
	if err := decode(a, &l); err != nil {
		return p.unreadable(a, err)
	}
	if a.status != 200 {
		var e wire.ErrorResponse
		_ = decode(a, &e)
		p.refused(a.status, &e.Error)
		return outcome(a.status, "", &e.Error)
	}
	if len(l.Holds) == 0 {
		line(p.out, "no pre-auth holds funds")
		return exitOK
	}
	for _, h := range l.Holds {
		line(p.out, strings.ToUpper(h.Status), h.Reference, "held "+money(h.HeldAmount, h.Currency),
			fmt.Sprintf("(authorised %s)", money(h.Amount, h.Currency)), card(h.CardScheme, h.MaskedPan),
			"expires "+h.ExpiresAt, h.TransactionID)
	}
	return exitOK
}
