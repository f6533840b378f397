package host

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/money"
)

// reversalAttempts is how many times one Reverse call sends the reversal
// (0400, then 0401 repeats) before leaving the retry to the engine.
const reversalAttempts = 2

// Reverse cancels a transaction at the host (0400; a retry is a repeat,
// 0401, with the same STAN), with the card's final chip data in field 55
// when the request has it (dropped when it would not fit: the reversal
// must go). The host acknowledges with 0410 and 00, also
// when it never booked the original, so reversing is always safe. An error
// means the reversal is not acknowledged yet and must be retried.
func (c *Client) Reverse(ctx context.Context, req daemon.ReversalRequest) error {
	if req.TransactionID == "" && req.HostReference == "" {
		return fmt.Errorf("%w: reversal without transaction ID or host reference", ErrInvalidRequest)
	}
	if len(req.TransactionID) > 32 {
		return fmt.Errorf("%w: transaction ID %q", ErrInvalidRequest, req.TransactionID)
	}
	if req.Amount < 0 || req.Amount > 999_999_999_999 {
		return fmt.Errorf("%w: amount %d", ErrInvalidRequest, req.Amount)
	}
	rrn, ok1 := fit(req.HostReference, 12)
	authCode, ok2 := fit(req.AuthCode, 6)
	if !ok1 || !ok2 {
		return fmt.Errorf("%w: host reference %q or auth code %q too long", ErrInvalidRequest, req.HostReference, req.AuthCode)
	}
	var currency string
	if req.Currency != "" {
		var err error
		if currency, err = money.Numeric(req.Currency); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidRequest, err)
		}
	}
	var err error
	for range reversalAttempts {
		if err = c.reverseOnce(ctx, req, rrn, authCode, currency); err == nil || !errors.Is(err, daemon.ErrOutcomeUnknown) {
			return err
		}
		if ctx.Err() != nil {
			return err
		}
	}
	return err
}

// reverseOnce sends one reversal or repeat and checks the answer.
func (c *Client) reverseOnce(ctx context.Context, req daemon.ReversalRequest, rrn, authCode, currency string) error {
	// A repeat keeps its 0400's STAN; a first reversal takes one when it
	// is sent.
	mti := MTIReversal
	repeat, stan := c.sent.reversal(req.TransactionID)
	if repeat {
		mti = MTIReversalRepeat
	}
	proc, cond := ProcPurchase, ConditionNormal
	switch req.Kind {
	case daemon.KindRefund:
		proc = ProcRefund
	case daemon.KindPreauth, daemon.KindCompletion, daemon.KindIncrement:
		cond = ConditionPreauth
	}
	now := time.Now()
	f := c.header(mti)
	f.STAN = stan
	f.ProcessingCode = proc
	f.Amount = fmt.Sprintf("%012d", req.Amount)
	f.LocalTime, f.LocalDate = now.Format("150405"), now.Format("0102")
	f.ConditionCode = cond
	f.RRN, f.AuthCode = rrn, authCode
	f.MerchantID = c.cfg.MerchantID
	f.Currency = currency
	f.TransactionID = req.TransactionID
	orig := originalData(req.Original, originalMTI(req.Kind))
	f.Original = &orig
	if len(req.ICCData) > 0 && len(req.ICCData) <= 999 {
		// The card refused the approval: its final chip data (the AAC).
		f.ICC = req.ICCData
	}

	resp, err := c.roundTrip(ctx, f)
	// Once it may have left, the next try is a repeat with its STAN.
	if err == nil || !errors.Is(err, daemon.ErrHostUnreachable) || errors.Is(err, daemon.ErrOutcomeUnknown) {
		c.sent.reversalSent(req.TransactionID, f.STAN)
	}
	stan = f.STAN
	if err != nil {
		return err
	}
	if resp.ResponseCode != RCApproved {
		return fmt.Errorf("host: reversal of %s answered %s", req.TransactionID, resp.ResponseCode)
	}
	c.log.Info().Str("mti", mti).Str("stan", stan).Str("transactionId", req.TransactionID).
		Str("reason", req.Reason).Msg("reversal acknowledged")
	return nil
}
