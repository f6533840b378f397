package host

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/money"
)

// ErrTotalsMismatch means the host's totals for the batch differ from the
// terminal's (response code 95). Nothing was settled; the batch stays open
// at the host. Errors wrapping it are *MismatchError. It wraps
// daemon.ErrTotalsMismatch, so the engine, which cannot import this
// package, recognises a 95 with errors.Is(err, daemon.ErrTotalsMismatch)
// and answers it with UploadBatch and a second Settle.
var ErrTotalsMismatch = fmt.Errorf("host: %w", daemon.ErrTotalsMismatch)

// BatchTotals are the counts and amounts (minor units) of field 63.
type BatchTotals struct {
	CaptureCount  int64 `json:"captureCount"`
	CaptureAmount int64 `json:"captureAmount"`
	RefundCount   int64 `json:"refundCount"`
	RefundAmount  int64 `json:"refundAmount"`
}

// TotalsOf sums a batch the way field 63 carries it: sales and completions
// are captures.
func TotalsOf(b *daemon.Batch) BatchTotals {
	return BatchTotals{
		CaptureCount:  b.SaleCount + b.CompletionCount,
		CaptureAmount: b.SaleAmount + b.CompletionAmount,
		RefundCount:   b.RefundCount,
		RefundAmount:  b.RefundAmount,
	}
}

// Field returns t as field 63, or an error when a value does not fit.
func (t BatchTotals) Field() (*Totals, error) {
	if t.CaptureCount < 0 || t.CaptureCount > 999_999 || t.RefundCount < 0 || t.RefundCount > 999_999 ||
		t.CaptureAmount < 0 || t.CaptureAmount > 999_999_999_999 || t.RefundAmount < 0 || t.RefundAmount > 999_999_999_999 {
		return nil, fmt.Errorf("%w: batch totals out of range: %+v", ErrInvalidRequest, t)
	}
	return &Totals{
		CaptureCount:  fmt.Sprintf("%06d", t.CaptureCount),
		CaptureAmount: fmt.Sprintf("%012d", t.CaptureAmount),
		RefundCount:   fmt.Sprintf("%06d", t.RefundCount),
		RefundAmount:  fmt.Sprintf("%012d", t.RefundAmount),
	}, nil
}

// ParseTotals reads field 63.
func ParseTotals(f *Totals) (BatchTotals, error) {
	if f == nil {
		return BatchTotals{}, errors.New("host: settlement totals missing")
	}
	var t BatchTotals
	for _, p := range []struct {
		s   string
		dst *int64
	}{{f.CaptureCount, &t.CaptureCount}, {f.CaptureAmount, &t.CaptureAmount},
		{f.RefundCount, &t.RefundCount}, {f.RefundAmount, &t.RefundAmount}} {
		n, err := strconv.ParseInt(p.s, 10, 64)
		if err != nil || n < 0 {
			return BatchTotals{}, fmt.Errorf("host: bad settlement total %q", p.s)
		}
		*p.dst = n
	}
	return t, nil
}

// MismatchError is a settlement the host refused with 95.
type MismatchError struct {
	// Batch is the batch number (field 60).
	Batch string
	// Terminal holds the totals the terminal sent, Host the host's own,
	// when the host returned them.
	Terminal, Host BatchTotals
	// AfterUpload is set when the refused settlement was the one after a
	// batch upload (processing code 960000): Host then holds the totals of
	// the transactions the host has from the upload.
	AfterUpload bool
}

func (e *MismatchError) Error() string {
	after := ""
	if e.AfterUpload {
		after = " after the batch upload"
	}
	return fmt.Sprintf("host: settlement of batch %s%s: totals do not match (terminal %+v, host %+v)",
		e.Batch, after, e.Terminal, e.Host)
}

// Unwrap makes errors.Is(err, ErrTotalsMismatch) and errors.Is(err,
// daemon.ErrTotalsMismatch) hold.
func (e *MismatchError) Unwrap() error { return ErrTotalsMismatch }

// Settle sends the batch totals (0500, batch number in field 60, totals in
// field 63). The batch number is req.Batch.HostBatch when set (the caller
// fixed it and advanced the counter), else the open batch's. The
// processing code is 920000, or 960000 when UploadBatch has delivered
// every transaction of this batch number since this process started: the
// host then settles on the uploaded transactions. On 00 the batch is
// closed at the host and, without HostBatch, the batch number advances; on
// 95 it returns a *MismatchError (errors.Is daemon.ErrTotalsMismatch) and
// the batch stays open: upload it (UploadBatch) and settle again. Sending
// the same batch again after a lost answer is safe: the host never settles
// twice.
func (c *Client) Settle(ctx context.Context, req daemon.SettlementRequest) error {
	if req.Batch == nil {
		return fmt.Errorf("%w: settlement without batch", ErrInvalidRequest)
	}
	totals := TotalsOf(req.Batch)
	field63, err := totals.Field()
	if err != nil {
		return err
	}
	var currency string
	if req.Batch.Currency != "" {
		if currency, err = money.Numeric(req.Batch.Currency); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidRequest, err)
		}
	}
	batch, err := c.settlingBatch(req.Batch)
	if err != nil {
		return err
	}
	proc := ProcSettlement
	afterUpload := c.uploads.uploaded(batch)
	if afterUpload {
		proc = ProcSettlementAfterUpload
	}
	now := time.Now()
	f := c.header(MTISettlement)
	f.ProcessingCode = proc
	f.LocalTime, f.LocalDate = now.Format("150405"), now.Format("0102")
	f.MerchantID = c.cfg.MerchantID
	f.Currency = currency
	f.Batch = batch
	f.Totals = field63

	resp, err := c.roundTrip(ctx, f)
	if err != nil {
		return err
	}
	switch resp.ResponseCode {
	case RCApproved:
		c.uploads.reset()
		if req.Batch.HostBatch == 0 {
			if _, err := c.cfg.Counters.Next(CounterBatch); err != nil {
				return fmt.Errorf("host: batch %s settled, but the batch number did not advance: %w", batch, err)
			}
		}
		c.log.Info().Str("batch", batch).Str("batchId", req.Batch.ID).Bool("afterUpload", afterUpload).Msg("batch settled")
		return nil
	case RCTotalsMismatch:
		e := &MismatchError{Batch: batch, Terminal: totals, AfterUpload: afterUpload}
		if resp.Totals != nil {
			e.Host, _ = ParseTotals(resp.Totals)
		}
		c.log.Warn().Str("batch", batch).Str("batchId", req.Batch.ID).Bool("afterUpload", afterUpload).
			Msg("settlement totals do not match")
		return e
	}
	return fmt.Errorf("host: settlement of batch %s answered %s", batch, resp.ResponseCode)
}
