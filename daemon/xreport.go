package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// XReport is the open batch's totals as they stand, without closing it:
// the same totals a batch close would settle now.
type XReport struct {
	Batch *Batch
	// At is when the totals were read.
	At time.Time
	// Document is the report as printed (and as text in the answer).
	Document Document
	// PrintAsked is set when the ECR asked for the report on paper;
	// Printed tells whether it came out, PrinterError why not.
	PrintAsked   bool
	Printed      bool
	PrinterError string
}

// BatchTotals answers the open batch's totals (an X-report) and prints
// them when asked. It neither closes the batch nor takes the terminal: a
// transaction may run meanwhile, and the totals are those committed when
// they were read. With no open batch the totals are zero.
func (e *Engine) BatchTotals(ctx context.Context, print bool) (*XReport, error) {
	if print && (e.deps.Printer == nil || !e.cfg.HasPrinter) {
		return nil, errNoPrinter
	}
	b, err := e.deps.Store.OpenBatch()
	switch {
	case errors.Is(err, ErrNotFound):
		b = &Batch{Status: BatchOpen, Currency: e.cfg.Currency}
	case err != nil:
		return nil, storageError(err)
	}
	r := &XReport{Batch: b, At: e.Now(), PrintAsked: print}
	r.Document = BuildXReport(e.cfg.Receipt, b, r.At)
	if print {
		pctx, cancel := context.WithTimeout(ctx, printTimeout)
		err := e.deps.Printer.Print(pctx, r.Document)
		cancel()
		e.printed()
		r.Printed = err == nil
		if err != nil {
			r.PrinterError = err.Error()
			e.deps.Log.Warn().Err(err).Msg("X-report not printed")
		}
	}
	return r, nil
}

// BuildXReport lays out the open batch's totals per kind and scheme, with
// gross and net amounts, as read at the time.
func BuildXReport(l ReceiptLayout, b *Batch, at time.Time) Document {
	d := NewDocument(l.Width)
	loc := l.Location
	if loc == nil {
		loc = time.UTC
	}
	d.Text(l.Merchant.Name, AlignCenter, true)
	d.Pair("TID", l.TerminalID, false)
	d.Double("X-REPORT", AlignCenter)
	d.Text("BATCH NOT CLOSED", AlignCenter, false)
	if b.ID != "" {
		d.Pair("BATCH", b.ID, false)
		d.Pair("OPENED", b.OpenedAt.In(loc).Format("2006-01-02 15:04"), false)
	}
	d.Pair("AT", at.In(loc).Format("2006-01-02 15:04:05"), false)
	d.Rule()
	batchTotalLines(d, b)
	d.Pair("GROSS", FormatAmount(b.GrossAmount(), b.Currency), false)
	d.Pair(fmt.Sprintf("NET %d", b.TransactionCount()), FormatAmount(b.TotalAmount(), b.Currency), true)
	return d.Document()
}

// GrossAmount is every transaction of the batch added up, refunds
// included: captures plus refunds.
func (b *Batch) GrossAmount() int64 {
	return b.SaleAmount + b.CompletionAmount + b.RefundAmount
}
