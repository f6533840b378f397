package client

import (
	"context"
	"encoding/json"

	"github.com/vinr/cashlessd/daemon/api/wire"
)

// Transaction is a transaction's answer and whether it was replayed for a
// repeated reference.
type Transaction struct {
	wire.Transaction
	// Replayed is true when the reference had finished before: the answer
	// is the stored one and nothing was charged again.
	Replayed bool `json:"-"`
}

// Batch is a batch close's answer and whether it was replayed.
type Batch struct {
	wire.Batch
	// Replayed is true when the reference had closed the batch before.
	Replayed bool `json:"-"`
}

// Status asks whether the terminal is ready, what it runs and what it did
// last.
func (c *Client) Status(ctx context.Context) (*wire.Status, error) {
	st, _, err := call[wire.Status](ctx, c, wire.PathStatus, wire.EmptyRequest{})
	return st, err
}

// Sale takes a card payment. A declined, cancelled or failed sale returns
// both its transaction and an *Error with the code.
func (c *Client) Sale(ctx context.Context, r wire.SaleRequest) (*Transaction, error) {
	return c.transact(ctx, wire.PathSale, r)
}

// Preauth reserves an amount on a card; answers as Sale.
func (c *Client) Preauth(ctx context.Context, r wire.PreauthRequest) (*Transaction, error) {
	return c.transact(ctx, wire.PathPreauth, r)
}

// Complete captures a pre-auth; answers as Sale.
func (c *Client) Complete(ctx context.Context, r wire.CompleteRequest) (*Transaction, error) {
	return c.transact(ctx, wire.PathComplete, r)
}

// Refund refunds a sale or completion to its card; answers as Sale.
func (c *Client) Refund(ctx context.Context, r wire.RefundRequest) (*Transaction, error) {
	return c.transact(ctx, wire.PathRefund, r)
}

// transact runs one transaction call. Not only an approval carries a
// transaction: a decline (402), a cancellation (409) or a failure (503)
// answers with the transaction and its error.
func (c *Client) transact(ctx context.Context, path string, body any) (*Transaction, error) {
	out, res, err := call[wire.Transaction](ctx, c, path, body)
	if res == nil {
		return nil, err
	}
	t := &Transaction{Replayed: res.Replayed()}
	if out != nil {
		t.Transaction = *out
		return t, err
	}
	if json.Unmarshal(res.Body, &t.Transaction) == nil && t.Status != "" {
		return t, err
	}
	return nil, err
}

// Cancel aborts the transaction waiting for a card (only reference's,
// when r names one).
func (c *Client) Cancel(ctx context.Context, r wire.CancelRequest) (*wire.Cancelled, error) {
	out, _, err := call[wire.Cancelled](ctx, c, wire.PathCancel, r)
	return out, err
}

// CloseBatch settles and closes the open batch.
func (c *Client) CloseBatch(ctx context.Context, r wire.BatchCloseRequest) (*Batch, error) {
	out, res, err := call[wire.Batch](ctx, c, wire.PathBatchClose, r)
	if out == nil {
		return nil, err
	}
	return &Batch{Batch: *out, Replayed: res.Replayed()}, nil
}

// LastReceipt returns the last approved or declined transaction's receipt.
func (c *Client) LastReceipt(ctx context.Context) (*wire.LastReceipt, error) {
	out, _, err := call[wire.LastReceipt](ctx, c, wire.PathReceiptLast, wire.EmptyRequest{})
	return out, err
}

// Reprint prints the last receipt again on the terminal's printer.
func (c *Client) Reprint(ctx context.Context, r wire.ReprintRequest) (*wire.Reprinted, error) {
	out, _, err := call[wire.Reprinted](ctx, c, wire.PathReceiptReprint, r)
	return out, err
}

// SimCard sets the simulated card (simulator mode only).
func (c *Client) SimCard(ctx context.Context, r wire.SimCardRequest) error {
	_, _, err := call[wire.OK](ctx, c, wire.PathSimCard, r)
	return err
}

// SimHost sets the simulated acquirer host (simulator mode only).
func (c *Client) SimHost(ctx context.Context, r wire.SimHostRequest) error {
	_, _, err := call[wire.OK](ctx, c, wire.PathSimHost, r)
	return err
}

// SimPrinter puts paper in the simulated printer or takes it out.
func (c *Client) SimPrinter(ctx context.Context, r wire.SimPrinterRequest) error {
	_, _, err := call[wire.OK](ctx, c, wire.PathSimPrinter, r)
	return err
}

// SimReader sets faults of the simulated card reader.
func (c *Client) SimReader(ctx context.Context, r wire.SimReaderRequest) error {
	_, _, err := call[wire.OK](ctx, c, wire.PathSimReader, r)
	return err
}

// SimClock moves the simulated clock forward.
func (c *Client) SimClock(ctx context.Context, r wire.SimClockRequest) error {
	_, _, err := call[wire.OK](ctx, c, wire.PathSimClock, r)
	return err
}
