package daemon

import (
	"context"
	"errors"
	"sync"
	"time"
)

// printTimeout bounds one print job as the engine sees it.
const printTimeout = 20 * time.Second

// printerStatusTTL is how long a printer status answers status polls
// before the printer is asked again; ECRs poll in tight loops and each
// question is a round trip on the serial line.
const printerStatusTTL = 2 * time.Second

// printerStatusCache remembers the printer's last answer.
type printerStatusCache struct {
	mu    sync.Mutex
	at    time.Time
	valid bool
	st    PrinterStatus
}

// printerStatus answers from the cache or asks the printer; concurrent
// pollers wait for one question instead of each asking.
func (e *Engine) printerStatus(ctx context.Context) PrinterStatus {
	c := &e.printerCache
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.valid && time.Since(c.at) < printerStatusTTL {
		return c.st
	}
	c.st = e.deps.Printer.Status(ctx)
	c.at, c.valid = time.Now(), true
	return c.st
}

// forgetPrinterStatus makes the next status ask the printer again.
func (e *Engine) forgetPrinterStatus() {
	e.printerCache.mu.Lock()
	e.printerCache.valid = false
	e.printerCache.mu.Unlock()
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
	defer e.forgetPrinterStatus()
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
