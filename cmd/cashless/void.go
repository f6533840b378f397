package main

import (
	"flag"
	"fmt"

	"github.com/vinr/cashlessd/daemon/api/wire"
)

func prepareVoid(fs *flag.FlagSet, _ *options) func() (*call, error) {
	var original, ref stringFlag
	var print boolFlag
	fs.Var(&original, "original", "`reference` of the approved sale, completion or refund to void (originalReference)")
	fs.Var(&ref, "reference", "the void's own `key`, 1-64 printable ASCII characters")
	fs.Var(&print, "print", "print the void's receipt on the terminal (printReceipt)")
	return func() (*call, error) {
		if err := requireFlags(fs, "original", "reference"); err != nil {
			return nil, err
		}
		b := wire.VoidRequest{OriginalReference: &original.v, Reference: &ref.v, PrintReceipt: given(print.v, print.set)}
		return &call{path: wire.PathVoid, body: b, kind: "void", reference: ref.v, show: showVoid}, nil
	}
}

// showVoid prints "VOIDED  USD 15.00  of SALE-1  tpay_…"; anything but an
// approval is shown as for the other transactions.
func showVoid(p *printer, a *answer) int {
	var t wire.Transaction
	if err := decode(a, &t); err != nil {
		return p.unreadable(a, err)
	}
	if t.Status != "approved" {
		return showTransaction(p, a)
	}
	var amount int64
	if t.Amount != nil {
		amount = *t.Amount
	}
	line(p.out, "VOIDED", money(amount, t.Currency), card(t.CardScheme, t.MaskedPan), t.TransactionID)
	detail(p.out, "of "+t.OriginalReference, prefixed("reference ", t.Reference), t.CompletedAt)
	showPrinted(p.out, &t)
	if a.replayed {
		detail(p.out, "replayed: this reference voided it before; nothing was reversed again")
	}
	return exitOK
}

func prepareTotals(fs *flag.FlagSet, _ *options) func() (*call, error) {
	var print boolFlag
	fs.Var(&print, "print", "print the X-report on the terminal")
	return func() (*call, error) {
		return &call{path: wire.PathBatchTotals, body: wire.BatchTotalsRequest{Print: given(print.v, print.set)}, show: showTotals}, nil
	}
}

// showTotals prints the open batch's totals: count, gross and net per
// kind and scheme.
func showTotals(p *printer, a *answer) int {
	var b wire.BatchReport
	if err := decode(a, &b); err != nil {
		return p.unreadable(a, err)
	}
	if e := answerError(a); e != nil || a.status != 200 {
		p.refused(a.status, e)
		return outcome(a.status, "", e)
	}
	line(p.out, "OPEN", b.BatchID, fmt.Sprintf("%d transactions", b.TransactionCount), "net "+money(b.NetAmount, b.Currency),
		"gross "+money(b.GrossAmount, b.Currency), prefixed("at ", b.ReportedAt))
	row := func(name string, k wire.KindTotal) {
		fmt.Fprintf(p.out, "  %-12s %5d  gross %s  net %s\n", name, k.Count, money(k.GrossAmount, b.Currency), money(k.NetAmount, b.Currency))
	}
	totalRows(b.Totals, b.Schemes, row)
	switch {
	case b.ReportPrinted == nil:
	case *b.ReportPrinted:
		detail(p.out, "X-report printed")
	default:
		detail(p.out, "X-report NOT printed: "+b.PrinterError)
	}
	return exitOK
}
