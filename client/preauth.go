package client

import (
	"context"
	"encoding/json"

	"github.com/vinr/cashlessd/daemon/api/wire"
)

// HoldChange is an increment's or release's answer and whether it was
// replayed for a repeated reference.
type HoldChange struct {
	wire.HoldChange
	// Replayed is true when the reference had finished before: nothing
	// was authorised or released again.
	Replayed bool `json:"-"`
}

// IncrementPreauth raises what a pre-auth holds. A declined increment
// returns both its answer and an *Error with the code; the hold is
// unchanged.
func (c *Client) IncrementPreauth(ctx context.Context, r wire.IncrementRequest) (*HoldChange, error) {
	return c.holdChange(ctx, wire.PathPreauthIncrement, r)
}

// ReleasePreauth gives a pre-auth's hold back to the card.
func (c *Client) ReleasePreauth(ctx context.Context, r wire.ReleaseRequest) (*HoldChange, error) {
	return c.holdChange(ctx, wire.PathPreauthRelease, r)
}

// Preauths lists the pre-auths that hold funds.
func (c *Client) Preauths(ctx context.Context) (*wire.Holds, error) {
	out, _, err := call[wire.Holds](ctx, c, wire.PathPreauthList, wire.PreauthListRequest{})
	return out, err
}

// holdChange runs an increment or release; like transact, a refusal that
// finished as a transaction returns its answer too.
func (c *Client) holdChange(ctx context.Context, path string, body any) (*HoldChange, error) {
	out, res, err := call[wire.HoldChange](ctx, c, path, body)
	if res == nil {
		return nil, err
	}
	h := &HoldChange{Replayed: res.Replayed()}
	if out != nil {
		h.HoldChange = *out
		return h, err
	}
	if json.Unmarshal(res.Body, &h.HoldChange) == nil && h.Status != "" {
		return h, err
	}
	return nil, err
}
