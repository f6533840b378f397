package client

import (
	"context"

	"github.com/vinr/cashlessd/daemon/api/wire"
)

// Transaction looks a transaction up by reference or transaction ID
// (exactly one): the truth about it, running or finished, with every
// earlier attempt under the reference. A found transaction answers without
// error whatever its outcome (its Status says it); a reference the terminal
// never saw is an *Error with code transaction_not_found.
func (c *Client) Transaction(ctx context.Context, r wire.LookupRequest) (*wire.Lookup, error) {
	out, _, err := call[wire.Lookup](ctx, c, wire.PathTransaction, r)
	return out, err
}

// ReceiptByReference returns the receipt of the transaction with the
// reference, never another's: an *Error with code transaction_not_found
// when it has none.
func (c *Client) ReceiptByReference(ctx context.Context, reference string) (*wire.LastReceipt, error) {
	out, _, err := call[wire.LastReceipt](ctx, c, wire.PathReceiptLast, wire.ReceiptLastRequest{Reference: &reference})
	return out, err
}
