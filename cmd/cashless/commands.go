package main

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/vinr/cashlessd/daemon/api/wire"
)

// call is one request to the terminal and how to show its answer.
type call struct {
	path string
	body any // a request of package wire
	// kind is the transaction type the call starts, as status names it
	// (sale, preauth, completion, refund, batch_close); empty for calls
	// that start none. A lost answer to such a call is looked up in status.
	kind      string
	reference string
	// show prints an answer for people and returns the exit code.
	show func(p *printer, a *answer) int
}

// command is a subcommand: its flags, and the call they make.
type command struct {
	name     string
	synopsis string
	summary  string
	// prepare registers the command's flags; after parsing, the returned
	// function builds the call or says which flag is missing.
	prepare func(fs *flag.FlagSet, o *options) func() (*call, error)
}

// findCommand looks a subcommand up. New ones (discover, …) join the list.
func findCommand(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func commands() []command {
	return append([]command{
		{name: "status", synopsis: "", summary: "Show whether the terminal is ready and what it did last.",
			prepare: prepareStatus},
		{name: "sale", synopsis: "--amount N --currency CUR --reference REF [--tip N] [--print]",
			summary: "Take a card payment of amount + tip.", prepare: prepareSale},
		{name: "preauth", synopsis: "--amount N --currency CUR --reference REF [--print]",
			summary: "Reserve funds on a card (capture them with complete).", prepare: preparePreauth},
		{name: "complete", synopsis: "--original REF --amount N --currency CUR --reference REF [--print]",
			summary: "Capture a pre-auth (at most the amount held); no card needed.", prepare: prepareComplete},
		{name: "refund", synopsis: "--original REF --amount N --currency CUR --reference REF [--print]",
			summary: "Refund a sale or completion to its card; partial refunds add up.", prepare: prepareRefund},
		{name: "cancel", synopsis: "[--reference REF]",
			summary: "Abort the transaction waiting for a card (not once a card is presented).", prepare: prepareCancel},
		{name: "batch-close", synopsis: "--reference REF",
			summary: "Settle and close the open batch; the same reference returns the same batch.", prepare: prepareBatchClose},
		{name: "receipt-last", synopsis: "[--reference REF] [--copy customer|merchant|both]",
			summary: "Show the last approved or declined transaction's receipt (or REF's only).", prepare: prepareReceiptLast},
		{name: "lookup", synopsis: "--reference REF | --id ID",
			summary: "Show the truth about a transaction, running or finished, and its earlier attempts.", prepare: prepareLookup},
		{name: "reprint", synopsis: "[--type customer|merchant|both]",
			summary: "Print the last receipt again on the terminal's printer.", prepare: prepareReprint},
		{name: "void", synopsis: "--original REF --reference REF [--print]",
			summary: "Cancel an approved sale, completion or refund still in the open batch; no card needed.", prepare: prepareVoid},
		{name: "totals", synopsis: "[--print]",
			summary: "Show (and print) the open batch's totals without closing it (X-report).", prepare: prepareTotals},
	}, preauthCommands()...)
}

// amountFlag is an amount in minor units; it remembers whether it was set.
type amountFlag struct {
	v   int64
	set bool
}

func (a *amountFlag) String() string {
	if a == nil || !a.set {
		return ""
	}
	return strconv.FormatInt(a.v, 10)
}

func (a *amountFlag) given() bool { return a.set }

func (a *amountFlag) Set(s string) error {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return errors.New("an amount is an integer in minor units (2500 for 25.00)")
	}
	a.v, a.set = v, true
	return nil
}

// stringFlag is a string flag that remembers whether it was set.
type stringFlag struct {
	v   string
	set bool
}

func (f *stringFlag) String() string {
	if f == nil {
		return ""
	}
	return f.v
}

func (f *stringFlag) Set(s string) error { f.v, f.set = s, true; return nil }

func (f *stringFlag) given() bool { return f.set }

// boolFlag is a bool flag that remembers whether it was set.
type boolFlag struct {
	v   bool
	set bool
}

func (f *boolFlag) String() string {
	if f == nil {
		return "false"
	}
	return strconv.FormatBool(f.v)
}

func (f *boolFlag) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return errors.New("want true or false")
	}
	f.v, f.set = v, true
	return nil
}

func (f *boolFlag) IsBoolFlag() bool { return true }

// requireFlags names the flags of fs left out.
func requireFlags(fs *flag.FlagSet, names ...string) error {
	var missing []string
	for _, name := range names {
		if f := fs.Lookup(name); f != nil {
			if v, ok := f.Value.(interface{ given() bool }); ok && v.given() {
				continue
			}
		}
		missing = append(missing, "--"+name)
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s", strings.Join(missing, ", "))
	}
	return nil
}

// payment holds the flags every payment shares.
type payment struct {
	amount    amountFlag
	currency  stringFlag
	reference stringFlag
	print     boolFlag
}

func (p *payment) register(fs *flag.FlagSet, o *options, amountHelp string) {
	fs.Var(&p.amount, "amount", amountHelp)
	p.currency.v = o.currency
	p.currency.set = o.currency != ""
	fs.Var(&p.currency, "currency", "ISO 4217 `code` the terminal is configured for (env CASHLESS_CURRENCY)")
	fs.Var(&p.reference, "reference", "the ECR's order `key`, 1-64 printable ASCII characters")
	fs.Var(&p.print, "print", "print the receipt on the terminal (printReceipt)")
}

// printReceipt is printReceipt when --print was given, else left out.
func (p *payment) printReceipt() *bool {
	if p.print.set {
		return wire.Ptr(p.print.v)
	}
	return nil
}

// given is the flag's value when it was set, else nil (the field is left
// out of the request).
func given[T any](v T, set bool) *T {
	if set {
		return &v
	}
	return nil
}

func prepareStatus(*flag.FlagSet, *options) func() (*call, error) {
	return func() (*call, error) {
		return &call{path: wire.PathStatus, body: wire.EmptyRequest{}, show: showStatus}, nil
	}
}

func prepareSale(fs *flag.FlagSet, o *options) func() (*call, error) {
	var p payment
	var tip amountFlag
	p.register(fs, o, "amount in minor `units`, without the tip")
	fs.Var(&tip, "tip", "tip in minor `units`, added to the amount (tipAmount)")
	return func() (*call, error) {
		if err := requireFlags(fs, "amount", "currency", "reference"); err != nil {
			return nil, err
		}
		b := wire.SaleRequest{Amount: &p.amount.v, Currency: &p.currency.v, Reference: &p.reference.v,
			TipAmount: given(tip.v, tip.set), PrintReceipt: p.printReceipt()}
		return &call{path: wire.PathSale, body: b, kind: "sale", reference: p.reference.v, show: showTransaction}, nil
	}
}

func preparePreauth(fs *flag.FlagSet, o *options) func() (*call, error) {
	var p payment
	p.register(fs, o, "amount to hold, in minor `units`")
	return func() (*call, error) {
		if err := requireFlags(fs, "amount", "currency", "reference"); err != nil {
			return nil, err
		}
		b := wire.PreauthRequest{Amount: &p.amount.v, Currency: &p.currency.v, Reference: &p.reference.v,
			PrintReceipt: p.printReceipt()}
		return &call{path: wire.PathPreauth, body: b, kind: "preauth", reference: p.reference.v, show: showTransaction}, nil
	}
}

func prepareComplete(fs *flag.FlagSet, o *options) func() (*call, error) {
	var p payment
	var original stringFlag
	p.register(fs, o, "amount to capture in minor `units`, at most the amount held (captureAmount)")
	fs.Var(&original, "original", "`reference` of the approved pre-auth (originalReference)")
	return func() (*call, error) {
		if err := requireFlags(fs, "original", "amount", "currency", "reference"); err != nil {
			return nil, err
		}
		b := wire.CompleteRequest{OriginalReference: &original.v, CaptureAmount: &p.amount.v, Currency: &p.currency.v,
			Reference: &p.reference.v, PrintReceipt: p.printReceipt()}
		return &call{path: wire.PathComplete, body: b, kind: "completion", reference: p.reference.v, show: showTransaction}, nil
	}
}

func prepareRefund(fs *flag.FlagSet, o *options) func() (*call, error) {
	var p payment
	var original stringFlag
	p.register(fs, o, "amount to refund in minor `units`")
	fs.Var(&original, "original", "`reference` of the sale or completion to refund (originalReference)")
	return func() (*call, error) {
		if err := requireFlags(fs, "original", "amount", "currency", "reference"); err != nil {
			return nil, err
		}
		b := wire.RefundRequest{OriginalReference: &original.v, Amount: &p.amount.v, Currency: &p.currency.v,
			Reference: &p.reference.v, PrintReceipt: p.printReceipt()}
		return &call{path: wire.PathRefund, body: b, kind: "refund", reference: p.reference.v, show: showTransaction}, nil
	}
}

func prepareCancel(fs *flag.FlagSet, _ *options) func() (*call, error) {
	var ref stringFlag
	fs.Var(&ref, "reference", "cancel only this `reference` (default: whatever is active)")
	return func() (*call, error) {
		return &call{path: wire.PathCancel, body: wire.CancelRequest{Reference: given(ref.v, ref.set)}, show: showCancel}, nil
	}
}

func prepareBatchClose(fs *flag.FlagSet, _ *options) func() (*call, error) {
	var ref stringFlag
	fs.Var(&ref, "reference", "the close's `key`, e.g. EOD-20260611")
	return func() (*call, error) {
		if err := requireFlags(fs, "reference"); err != nil {
			return nil, err
		}
		return &call{path: wire.PathBatchClose, body: wire.BatchCloseRequest{Reference: &ref.v}, kind: "batch_close",
			reference: ref.v, show: showBatch}, nil
	}
}

func prepareReceiptLast(fs *flag.FlagSet, _ *options) func() (*call, error) {
	copies := stringFlag{v: "customer"}
	var ref stringFlag
	fs.Var(&copies, "copy", "which copy to show: `customer`, merchant or both")
	fs.Var(&ref, "reference", "show this `reference`'s receipt only (never another transaction's)")
	return func() (*call, error) {
		switch copies.v {
		case "customer", "merchant", "both":
		default:
			return nil, fmt.Errorf("--copy %q: want customer, merchant or both", copies.v)
		}
		body := wire.ReceiptLastRequest{Reference: given(ref.v, ref.set)}
		return &call{path: wire.PathReceiptLast, body: body, show: func(p *printer, a *answer) int {
			return showReceipt(p, a, copies.v)
		}}, nil
	}
}

func prepareReprint(fs *flag.FlagSet, _ *options) func() (*call, error) {
	var which stringFlag
	fs.Var(&which, "type", "which copy to print: customer (the terminal's default), merchant or `both`")
	return func() (*call, error) {
		return &call{path: wire.PathReceiptReprint, body: wire.ReprintRequest{Type: given(which.v, which.set)}, show: showReprint}, nil
	}
}
