package daemon

import (
	"context"
	"errors"
	"sync"
	"time"
)

// printTimeout bounds one print job as the engine sees it.
const printTimeout = 20 * time.Second

// printerRefreshEvery is how often the printer's state is asked for in
// the background unless Config.PrinterRefresh says otherwise; status
// answers from the state seen last and never waits for the serial line.
const printerRefreshEvery = 2 * time.Second

// printerStatusCache is the printer's last known state. Refreshes may
// overlap (the background loop, and the print path after a job); the one
// that started last wins, so an answer from before a job never replaces
// one from after it.
type printerStatusCache struct {
	mu      sync.Mutex
	st      PrinterStatus
	known   bool
	started uint64 // refreshes started
	stored  uint64 // the refresh st came from
}

// printerStatus is the printer's last known state; it never touches the
// serial line.
func (e *Engine) printerStatus() PrinterStatus {
	c := &e.printerCache
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.known {
		return PrinterStatus{State: PrinterUnavailable, Message: "printer status not known yet"}
	}
	return c.st
}

// refreshPrinterStatus asks the printer for its state and remembers it.
// It waits for the serial line (and for a running job) within ctx; only
// the background loop and the print path call it.
func (e *Engine) refreshPrinterStatus(ctx context.Context) {
	c := &e.printerCache
	c.mu.Lock()
	c.started++
	seq := c.started
	c.mu.Unlock()
	st := e.deps.Printer.Status(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	if seq > c.stored {
		if !c.known || c.st != st {
			e.emitPrinter(st)
		}
		c.st, c.known, c.stored = st, true, seq
	}
}

// watchPrinter refreshes the printer's state now and then every
// interval until the engine stops.
func (e *Engine) watchPrinter(every time.Duration) {
	defer e.loops.Done()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		e.refreshPrinterStatus(e.base)
		select {
		case <-e.base.Done():
			return
		case <-tick.C:
		}
	}
}

// startPrinterWatch starts watchPrinter with the engine's loops when there
// is a printer.
func (e *Engine) startPrinterWatch() {
	if e.deps.Printer == nil {
		return
	}
	every := e.cfg.PrinterRefresh
	if every <= 0 {
		every = printerRefreshEvery
	}
	e.loops.Add(1)
	go e.watchPrinter(every)
}

// printed refreshes the printer's state after a job, so status shows what
// the job left (paper out) as soon as the job's answer is out. The job's
// own context may have ended; the refresh has its own bound.
func (e *Engine) printed() {
	ctx, cancel := context.WithTimeout(e.base, printTimeout)
	defer cancel()
	e.refreshPrinterStatus(ctx)
}

// print prints an approved or declined transaction when the ECR asked for
// it: the customer copy, and the merchant copy when a signature is needed.
// It prints the documents stored with the transaction. Printing never
// changes the outcome; it only sets receiptPrinted.
func (e *Engine) print(a *active) {
	t := a.tx
	if !t.PrintReceipt || t.Receipts == nil {
		return
	}
	e.setStage(a, StagePrinting)
	defer e.setStage(a, StageDone)
	copies := []Copy{CustomerCopy}
	if t.Receipts.SignatureRequired {
		copies = []Copy{MerchantCopy, CustomerCopy}
	}
	err := e.printCopies(e.base, t.Receipts, copies, false)
	t.ReceiptPrinted = err == nil
	if err != nil {
		t.PrinterError = err.Error()
		e.deps.Log.Warn().Err(err).Str("transactionId", t.ID).Msg("receipt not printed")
	}
	if err := e.deps.Store.UpdateTransaction(t); err != nil {
		e.deps.Log.Error().Err(err).Str("transactionId", t.ID).Msg("cannot record print result")
	}
}

// errNoPrinter is the answer on models without a printer.
var errNoPrinter = Errorf(CodePrinterUnavailable, "This terminal model has no built-in printer; use receipt/last and print through the ECR.")

// printCopies prints copies of a stored receipt, each marked as a
// duplicate when reprint is set.
func (e *Engine) printCopies(ctx context.Context, r *Receipts, copies []Copy, reprint bool) error {
	if e.deps.Printer == nil || !e.cfg.HasPrinter {
		return errNoPrinter
	}
	ctx, cancel := context.WithTimeout(ctx, printTimeout)
	defer cancel()
	defer e.printed()
	for _, c := range copies {
		doc := r.Document(c)
		if reprint {
			doc = Reprinted(doc)
		}
		if err := e.deps.Printer.Print(ctx, doc); err != nil {
			return err
		}
	}
	return nil
}

// LastReceipt returns the most recent transaction with receipts.
func (e *Engine) LastReceipt() (*Transaction, error) {
	t, err := e.deps.Store.LastReceipt()
	if errors.Is(err, ErrNotFound) {
		return nil, Errorf(CodeTransactionNotFound, "No transaction with a receipt exists yet.")
	}
	if err != nil {
		return nil, storageError(err)
	}
	return t, nil
}

// Reprint prints the last receipt again, as it was stored and marked as a
// duplicate: "merchant", "customer" or "both".
func (e *Engine) Reprint(ctx context.Context, which string) error {
	if e.deps.Printer == nil || !e.cfg.HasPrinter {
		return errNoPrinter
	}
	t, err := e.LastReceipt()
	if err != nil {
		return err
	}
	var copies []Copy
	switch which {
	case "merchant":
		copies = []Copy{MerchantCopy}
	case "customer":
		copies = []Copy{CustomerCopy}
	case "both":
		copies = []Copy{MerchantCopy, CustomerCopy}
	default:
		return Errorf(CodeInvalidRequest, "type: must be \"merchant\", \"customer\" or \"both\".")
	}
	if err := e.printCopies(ctx, t.Receipts, copies, true); err != nil {
		var apiErr *Error
		if errors.As(err, &apiErr) {
			return apiErr
		}
		return Errorf(CodePrinterError, "The receipt could not be printed: %v.", err)
	}
	return nil
}
