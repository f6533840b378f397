package host

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/money"
)

// ErrUploadRejected wraps the host's refusal of one or more transactions
// of a batch upload (an 0330 with a code other than 00, 91 or 96). The
// error names every refused transaction. The host's record of those
// transactions disagrees with the terminal's, and uploading them again
// will not change that: the batch needs a person.
var ErrUploadRejected = errors.New("host: batch upload refused")

// UploadBatch delivers every transaction of a batch to the host after a
// settlement was answered 95 (ISO 8583 batch upload): one 0320 per
// transaction, in the order given, each waiting for its 0330. The host
// books a transaction it does not have (an approval whose answer it lost,
// an offline approval whose advice never arrived) and marks each one as
// part of the uploaded batch. It finds transactions by terminal and
// transaction ID (62), so uploading again is always safe.
//
// Each 0320 carries the processing code of the original (000000 capture,
// 200000 refund), the total amount (4), a new STAN (11), the local time
// and date of the approval (12, 13), the POS condition (25: 06 for a
// completion), the host reference (37; none for an offline approval), the
// auth code (38), the original response code (39: 00, or Y3/Y1 for an
// offline approval), 41, 42, the currency (49), the card's final chip
// data when the terminal kept it (55: the TC and the issuer script results
// 9F5B of a chip sale), the open batch number (60), the transaction ID
// (62) and the original data elements (90).
//
// Transactions that are not approved captures or refunds are left out:
// they are not in the totals. When every transaction was accepted, the
// next Settle of this batch number says "after upload" (processing code
// 960000) and the host settles on the uploaded transactions.
//
// Errors name the transaction they stopped at. daemon.ErrHostUnreachable:
// that 0320 was not sent (or the host answered 91/96); the earlier ones
// were accepted, so upload again later. daemon.ErrOutcomeUnknown: it left
// but no answer came; upload again. ErrUploadRejected: the host refused
// one or more transactions (the rest were still sent). ErrInvalidRequest:
// nothing left (no batch, a transaction that cannot be sent, or
// transactions that do not add up to the batch's totals).
func (c *Client) UploadBatch(ctx context.Context, req daemon.BatchUploadRequest) error {
	if req.Batch == nil {
		return fmt.Errorf("%w: batch upload without batch", ErrInvalidRequest)
	}
	items, err := c.uploadItems(req)
	if err != nil {
		return err
	}
	batch, err := c.settlingBatch(req.Batch)
	if err != nil {
		return err
	}
	log := c.log.With().Str("batch", batch).Str("batchId", req.Batch.ID).Logger()
	log.Info().Int("transactions", len(items)).Msg("batch upload started")
	var refused []string
	for i, f := range items {
		// STAN and transmission time are taken when it is sent.
		f.Batch = batch
		resp, err := c.roundTrip(ctx, f)
		if err != nil {
			return fmt.Errorf("host: upload of batch %s stopped at transaction %s (%d of %d): %w",
				batch, f.TransactionID, i+1, len(items), err)
		}
		tlog := log.With().Str("stan", f.STAN).Str("transactionId", f.TransactionID).
			Str("responseCode", resp.ResponseCode).Logger()
		switch resp.ResponseCode {
		case RCApproved:
			tlog.Debug().Str("rrn", strings.TrimSpace(resp.RRN)).Msg("transaction uploaded")
			continue
		case RCIssuerUnavailable, RCSystemMalfunction:
			tlog.Warn().Msg("batch upload stopped; host asks to try again")
			return fmt.Errorf("%w: host answered %s to the upload of transaction %s (%d of %d) of batch %s",
				daemon.ErrHostUnreachable, resp.ResponseCode, f.TransactionID, i+1, len(items), batch)
		}
		tlog.Error().Msg("transaction refused in batch upload")
		what := f.TransactionID
		if rrn := strings.TrimSpace(f.RRN); rrn != "" {
			what += " (RRN " + rrn + ")"
		}
		refused = append(refused, fmt.Sprintf("%s answered %s (%s)", what, resp.ResponseCode, uploadRefusal(resp.ResponseCode)))
	}
	if len(refused) > 0 {
		return fmt.Errorf("%w: batch %s: %d of %d transactions refused: %s", ErrUploadRejected, batch,
			len(refused), len(items), strings.Join(refused, "; "))
	}
	c.uploads.mark(batch)
	log.Info().Int("transactions", len(items)).Msg("batch uploaded")
	return nil
}

// uploadItems checks the request and builds one 0320 per transaction to
// upload, without STAN, transmission time and batch number. Nothing is
// sent when a transaction cannot be, or when the transactions do not add
// up to the batch's totals (the host would refuse the settlement after
// the upload anyway).
func (c *Client) uploadItems(req daemon.BatchUploadRequest) ([]*Fields, error) {
	var items []*Fields
	var sum BatchTotals
	seen := map[string]bool{}
	for _, t := range req.Transactions {
		if t == nil || t.Status != daemon.StatusApproved || !(t.Kind.Captures() || t.Kind == daemon.KindRefund) {
			continue
		}
		f, err := c.uploadFields(t, req.Batch.Currency)
		if err != nil {
			return nil, fmt.Errorf("%w: batch upload: transaction %q: %w", ErrInvalidRequest, t.ID, err)
		}
		if seen[t.ID] {
			return nil, fmt.Errorf("%w: batch upload: transaction %q listed twice", ErrInvalidRequest, t.ID)
		}
		seen[t.ID] = true
		if t.Kind == daemon.KindRefund {
			sum.RefundCount++
			sum.RefundAmount += t.TotalAmount()
		} else {
			sum.CaptureCount++
			sum.CaptureAmount += t.TotalAmount()
		}
		items = append(items, f)
	}
	if want := TotalsOf(req.Batch); sum != want {
		return nil, fmt.Errorf("%w: batch upload: the transactions add up to %+v, the batch's totals are %+v",
			ErrInvalidRequest, sum, want)
	}
	return items, nil
}

// uploadFields is the 0320 for one approved capture or refund.
func (c *Client) uploadFields(t *daemon.Transaction, batchCurrency string) (*Fields, error) {
	if t.ID == "" || len(t.ID) > 32 {
		return nil, errors.New("transaction ID empty or over 32 characters")
	}
	amount := t.TotalAmount()
	if amount <= 0 || amount > 999_999_999_999 {
		return nil, fmt.Errorf("amount %d", amount)
	}
	cur := t.Currency
	if cur == "" {
		cur = batchCurrency
	}
	currency, err := money.Numeric(cur)
	if err != nil {
		return nil, err
	}
	rrn, ok1 := fit(t.HostReference, 12)
	authCode, ok2 := fit(t.AuthCode, 6)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("host reference %q or auth code %q too long", t.HostReference, t.AuthCode)
	}
	proc, cond, rc := ProcPurchase, ConditionNormal, RCApproved
	switch t.Kind {
	case daemon.KindRefund:
		proc = ProcRefund
	case daemon.KindCompletion:
		cond = ConditionPreauth
	}
	var orig OriginalData
	if t.Offline {
		// The host learnt of it, if at all, from the advice.
		rc = RCOfflineApproved
		if t.ResponseCode == RCOfflineApprovedFirstGenAC {
			rc = t.ResponseCode
		}
		orig = zeroOriginal(MTIAdvice)
	} else {
		orig = originalData(t.HostMessage, originalMTI(t.Kind))
	}
	local := t.CompletedAt
	if local.IsZero() {
		local = t.StartedAt
	}
	if local.IsZero() {
		local = time.Now()
	}
	local = local.Local()
	f := &Fields{
		MTI:            MTIBatchUpload,
		ProcessingCode: proc,
		Amount:         fmt.Sprintf("%012d", amount),
		LocalTime:      local.Format("150405"),
		LocalDate:      local.Format("0102"),
		ConditionCode:  cond,
		RRN:            rrn,
		AuthCode:       authCode,
		ResponseCode:   rc,
		TerminalID:     c.cfg.TerminalID,
		MerchantID:     c.cfg.MerchantID,
		Currency:       currency,
		TransactionID:  t.ID,
		Original:       &orig,
	}
	if t.Card != nil && t.Card.EntryMethod != "" {
		f.EntryMode = entryMode(t.Card.EntryMethod)
	}
	if icc := t.AdviceICC; len(icc) > 0 && len(icc) <= 999 {
		// The card's final chip data: the TC (or the ARQC of a
		// contactless sale) and the issuer script results.
		f.ICC = icc
	}
	return f, nil
}

// uploadRefusal says what a response code to an 0320 means.
func uploadRefusal(rc string) string {
	switch rc {
	case RCInvalidTxn:
		return "invalid transaction: the host's record of it disagrees"
	case RCInvalidAmount:
		return "invalid amount: the host booked another amount"
	case RCNoOriginal:
		return "not found at the host"
	case RCFormatError:
		return "format error"
	}
	return "refused"
}

// uploadedBatches remembers, in memory, the batch numbers whose upload the
// host accepted in full. The zero value is ready to use.
type uploadedBatches struct {
	mu   sync.Mutex
	done map[string]bool
}

func (u *uploadedBatches) mark(batch string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.done == nil {
		u.done = map[string]bool{}
	}
	u.done[batch] = true
}

// uploaded reports whether the batch number was uploaded in full.
func (u *uploadedBatches) uploaded(batch string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.done[batch]
}

// reset forgets every upload: a batch settled, so the batch number moves on.
func (u *uploadedBatches) reset() {
	u.mu.Lock()
	defer u.mu.Unlock()
	clear(u.done)
}
