package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/vinr/cashlessd/daemon/api/wire"
)

// printer writes answers for people (or, with json, as they came).
// Outcomes go to out; refusals and problems to err.
type printer struct {
	out  io.Writer
	err  io.Writer
	json bool
}

// raw prints a JSON answer as received.
func (p *printer) raw(b []byte) {
	_, _ = p.out.Write(b)
	if len(b) == 0 || b[len(b)-1] != '\n' {
		fmt.Fprintln(p.out)
	}
}

// detail prints an indented line of non-empty parts.
func detail(w io.Writer, parts ...string) {
	fmt.Fprint(w, "  ")
	line(w, parts...)
}

// row prints one labelled line of the status.
func row(w io.Writer, label string, parts ...string) {
	fmt.Fprintf(w, "  %-11s ", label)
	line(w, parts...)
}

// card is "visa ************4242".
func card(scheme, pan string) string { return strings.TrimSpace(scheme + " " + pan) }

// line prints the non-empty parts separated by two spaces.
func line(w io.Writer, parts ...string) {
	keep := []string{}
	for _, s := range parts {
		if s != "" {
			keep = append(keep, s)
		}
	}
	fmt.Fprintln(w, strings.Join(keep, "  "))
}

func prefixed(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

// refused prints an error answer: "ERROR 409 terminal_busy: …".
func (p *printer) refused(httpStatus int, e *wire.Error) {
	if e == nil {
		fmt.Fprintf(p.err, "ERROR %d: the terminal gave no error object\n", httpStatus)
		return
	}
	fmt.Fprintf(p.err, "ERROR %d %s: %s\n", httpStatus, e.Code, e.Message)
}

// unreadable reports an answer that is JSON but not the expected shape.
func (p *printer) unreadable(a *answer, err error) int {
	fmt.Fprintf(p.err, "cashless: unexpected answer (HTTP %d): %v\n", a.status, err)
	return exitTransport
}

func showTransaction(p *printer, a *answer) int {
	var t wire.Transaction
	if err := decode(a, &t); err != nil {
		return p.unreadable(a, err)
	}
	switch t.Status {
	case "approved":
		showApproved(p.out, &t, a.replayed)
	case "declined":
		line(p.out, "DECLINED "+t.DeclineCode+": "+t.DeclineMessage)
		amount := ""
		if t.Amount != nil {
			amount = money(*t.Amount, t.Currency)
		}
		detail(p.out, amount, prefixed("reference ", t.Reference), t.TransactionID)
		showPrinted(p.out, &t)
	case "cancelled", "failed":
		code, msg := "", ""
		if t.Error != nil {
			code, msg = t.Error.Code, t.Error.Message
		}
		line(p.out, strings.ToUpper(t.Status)+" "+code+": "+msg)
		detail(p.out, prefixed("reference ", t.Reference), t.TransactionID, t.CompletedAt)
	default:
		p.refused(a.status, t.Error)
	}
	return outcome(a.status, t.Status, t.Error)
}

// showApproved prints "APPROVED  USD 28.00  visa ************4242  auth
// A12345  tpay_…" and a detail line for the kind of transaction.
func showApproved(w io.Writer, t *wire.Transaction, replayed bool) {
	auth := prefixed("auth ", t.AuthCode)
	amount := func(p *int64) int64 {
		if p == nil {
			return 0
		}
		return *p
	}
	switch {
	case t.CaptureAmount != nil: // a pre-auth completion
		line(w, "APPROVED", money(*t.CaptureAmount, t.Currency)+" captured", auth, t.TransactionID)
		detail(w, "pre-auth "+t.OriginalReference, prefixed("reference ", t.Reference), t.CompletedAt)
	case t.OriginalReference != "": // a refund
		line(w, "APPROVED", money(amount(t.Amount), t.Currency)+" refunded", auth, t.TransactionID)
		detail(w, "of "+t.OriginalReference, prefixed("reference ", t.Reference), t.CompletedAt)
	case t.ExpiresAt != "": // a pre-auth
		line(w, "APPROVED", money(amount(t.Amount), t.Currency)+" held", card(t.CardScheme, t.MaskedPan), auth, t.TransactionID)
		detail(w, "until "+t.ExpiresAt, t.EntryMethod, prefixed("reference ", t.Reference))
	default: // a sale
		total := t.TotalAmount
		if total == nil {
			total = t.Amount
		}
		line(w, "APPROVED", money(amount(total), t.Currency), card(t.CardScheme, t.MaskedPan), auth, t.TransactionID)
		split := ""
		if tip := amount(t.TipAmount); tip > 0 {
			split = major(amount(t.Amount), t.Currency) + " + tip " + major(tip, t.Currency)
		}
		detail(w, split, t.EntryMethod, prefixed("reference ", t.Reference), t.CompletedAt)
	}
	showPrinted(w, t)
	if replayed {
		detail(w, "replayed: this reference was approved before; nothing was charged again")
	}
}

func showPrinted(w io.Writer, t *wire.Transaction) {
	switch {
	case t.ReceiptPrinted == nil:
	case *t.ReceiptPrinted:
		detail(w, "receipt printed")
	default:
		detail(w, "receipt NOT printed: "+t.PrinterError)
	}
}

func showStatus(p *printer, a *answer) int {
	var s wire.Status
	if err := decode(a, &s); err != nil {
		return p.unreadable(a, err)
	}
	if e := answerError(a); e != nil || a.status != 200 {
		p.refused(a.status, e)
		return outcome(a.status, "", e)
	}
	sim := ""
	if s.Simulator {
		sim = "(simulator)"
	}
	line(p.out, strings.ToUpper(s.Status), s.TerminalID, s.Model, prefixed("software ", s.SoftwareVersion), sim)
	if t := s.ActiveTransaction; t != nil {
		row(p.out, "active", t.Type, t.Reference, t.Stage, prefixed("since ", t.StartedAt))
	}
	if t := s.LastTransaction; t != nil {
		row(p.out, "last", t.Type, t.Reference, t.Status, t.CompletedAt, t.TransactionID)
	}
	if s.Printer != nil {
		row(p.out, "printer", s.Printer.State, s.Printer.Message)
	}
	row(p.out, "open batch", fmt.Sprintf("%d transactions, total %d (minor units)", s.OpenBatch.TransactionCount, s.OpenBatch.TotalAmount))
	if s.PendingReversals > 0 {
		row(p.out, "reversals", fmt.Sprintf("%d waiting for the host", s.PendingReversals))
	}
	if s.NextSettlementAt != "" {
		row(p.out, "settlement", "next automatic close "+s.NextSettlementAt)
	}
	return exitOK
}

func showBatch(p *printer, a *answer) int {
	var b wire.Batch
	if err := decode(a, &b); err != nil {
		return p.unreadable(a, err)
	}
	if e := answerError(a); e != nil || a.status != 200 {
		p.refused(a.status, e)
		return outcome(a.status, "", e)
	}
	auto := ""
	if b.Automatic {
		auto = "(automatic)"
	}
	line(p.out, "CLOSED", b.BatchID, b.Reference, fmt.Sprintf("%d transactions", b.TransactionCount),
		money(b.TotalAmount, b.Currency), b.ClosedAt, auto)
	row := func(name string, k wire.KindTotal) {
		fmt.Fprintf(p.out, "  %-12s %5d  %s\n", name, k.Count, money(k.Amount, b.Currency))
	}
	totalRows(b.Totals, b.Schemes, row)
	if a.replayed {
		detail(p.out, "replayed: this reference closed the batch before; nothing was settled again")
	}
	return exitOK
}

func showReceipt(p *printer, a *answer, copies string) int {
	var r wire.LastReceipt
	if err := decode(a, &r); err != nil {
		return p.unreadable(a, err)
	}
	if e := answerError(a); e != nil || a.status != 200 {
		p.refused(a.status, e)
		return outcome(a.status, "", e)
	}
	line(p.out, strings.ToUpper(r.Status), r.Reference, r.TransactionID, r.CompletedAt)
	if r.ReceiptData.SignatureRequired {
		detail(p.out, "signature required on the merchant copy")
	}
	if copies == "merchant" || copies == "both" {
		fmt.Fprintf(p.out, "\n%s", r.ReceiptData.MerchantReceipt)
	}
	if copies == "customer" || copies == "both" {
		fmt.Fprintf(p.out, "\n%s", r.ReceiptData.CustomerReceipt)
	}
	return exitOK
}

func showReprint(p *printer, a *answer) int {
	var r wire.Reprinted
	if err := decode(a, &r); err != nil {
		return p.unreadable(a, err)
	}
	if e := answerError(a); e != nil || a.status != 200 {
		p.refused(a.status, e)
		return outcome(a.status, "", e)
	}
	line(p.out, strings.ToUpper(r.Status), r.Type)
	return exitOK
}

func showCancel(p *printer, a *answer) int {
	var c wire.Cancelled
	if err := decode(a, &c); err != nil {
		return p.unreadable(a, err)
	}
	if e := answerError(a); e != nil || a.status != 200 {
		p.refused(a.status, e)
		return outcome(a.status, "", e)
	}
	line(p.out, strings.ToUpper(c.Status), c.Reference, c.CancelledAt)
	return exitOK
}

// totalRows prints one row per kind of transaction, then one per card
// scheme in name order.
func totalRows(kinds wire.BatchTotals, schemes map[string]wire.KindTotal, row func(name string, k wire.KindTotal)) {
	row("sales", kinds.Sales)
	row("completions", kinds.Completions)
	row("refunds", kinds.Refunds)
	for _, s := range slices.Sorted(maps.Keys(schemes)) {
		row(s, schemes[s])
	}
}
