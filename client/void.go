package client

import (
	"context"

	"github.com/vinr/cashlessd/daemon/api/wire"
)

// Void cancels an approved sale, completion or refund that is still in the
// open batch; answers as Sale. After the batch closed it is refused with
// void_not_allowed: refund instead.
func (c *Client) Void(ctx context.Context, r wire.VoidRequest) (*Transaction, error) {
	return c.transact(ctx, wire.PathVoid, r)
}

// BatchTotals reads the open batch's totals without closing it (an
// X-report), printed on the terminal when r.Print is true.
func (c *Client) BatchTotals(ctx context.Context, r wire.BatchTotalsRequest) (*wire.BatchReport, error) {
	out, _, err := call[wire.BatchReport](ctx, c, wire.PathBatchTotals, r)
	return out, err
}
