package api

import (
	"net/http"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/api/wire"
)

func ptr[T any](v T) *T { return &v }

// render turns a finished transaction into its response body and HTTP
// status. The same stored transaction always renders the same body, which
// is what an idempotent replay returns.
func render(t *daemon.Transaction) (wire.Transaction, int) {
	r := wire.Transaction{
		Status:        string(t.Status),
		Reference:     t.Reference,
		TransactionID: t.ID,
		CompletedAt:   timestamp(t.CompletedAt),
	}
	if t.Receipts != nil {
		r.ReceiptData = &wire.ReceiptData{MerchantReceipt: t.Receipts.Merchant, CustomerReceipt: t.Receipts.Customer,
			SignatureRequired: t.Receipts.SignatureRequired}
	}
	if t.PrintReceipt && (t.Status == daemon.StatusApproved || t.Status == daemon.StatusDeclined) {
		r.ReceiptPrinted = ptr(t.ReceiptPrinted)
		r.PrinterError = t.PrinterError
	}
	status := http.StatusOK
	switch t.Status {
	case daemon.StatusApproved:
	case daemon.StatusVoided:
		// What a lookup shows of a voided transaction: its approval's
		// fields under status voided. No call answers it as a payment
		// (the reference is held: a repeat is duplicate_reference).
		status = http.StatusConflict
	case daemon.StatusDeclined:
		r.DeclineCode, r.DeclineMessage = t.DeclineCode, t.DeclineMessage
		r.Error = &wire.Error{Code: daemon.CodeCardDeclined, Message: t.DeclineMessage}
		r.Currency = t.Currency
		amounts(&r, t)
		return r, http.StatusPaymentRequired
	default:
		code := t.ErrorCode
		if code == "" {
			code = daemon.CodeInternalError
		}
		r.Error = &wire.Error{Code: code, Message: t.ErrorMessage}
		return r, httpStatus(code)
	}
	r.Currency = t.Currency
	r.AuthCode = t.AuthCode
	r.Offline = t.Offline
	card := t.Card
	if card == nil {
		card = &daemon.CardInfo{}
	}
	amounts(&r, t)
	switch t.Kind {
	case daemon.KindSale:
		r.EntryMethod, r.CardScheme, r.MaskedPan = card.EntryMethod, card.Scheme, card.MaskedPAN
		r.CardholderName = ptr(card.CardholderName)
	case daemon.KindPreauth:
		r.EntryMethod, r.CardScheme, r.MaskedPan = card.EntryMethod, card.Scheme, card.MaskedPAN
		r.CardholderName = ptr(card.CardholderName)
		r.ExpiresAt = timestamp(t.ExpiresAt)
	case daemon.KindCompletion, daemon.KindRefund, daemon.KindVoid:
		r.OriginalReference = t.OriginalReference
		r.OriginalTransactionID = t.OriginalID
	}
	return r, status
}

// amounts sets the amount fields each kind answers with, the same for an
// approval and a decline: a sale's amount, tip and total, a completion's
// captureAmount, a pre-auth's or refund's amount.
func amounts(r *wire.Transaction, t *daemon.Transaction) {
	switch t.Kind {
	case daemon.KindSale:
		r.Amount, r.TipAmount, r.TotalAmount = ptr(t.Amount), ptr(t.TipAmount), ptr(t.TotalAmount())
	case daemon.KindCompletion:
		r.CaptureAmount = ptr(t.Amount)
	default:
		r.Amount = ptr(t.Amount)
	}
}

// renderBatch is the batch/close answer.
func renderBatch(b *daemon.Batch) wire.Batch {
	r := wire.Batch{
		Status:           "closed",
		BatchID:          b.ID,
		Reference:        b.Reference,
		TransactionCount: b.TransactionCount(),
		TotalAmount:      b.TotalAmount(),
		Currency:         b.Currency,
		ClosedAt:         timestamp(b.ClosedAt),
		Totals:           batchTotals(b),
		Schemes:          schemeTotals(b),
		Automatic:        b.Automatic,
		GrossAmount:      b.GrossAmount(),
		NetAmount:        b.TotalAmount(),
	}
	return r
}

// renderHealth fills status's devices, canTransact and reasons.
func renderHealth(r *wire.Status, h daemon.Health) {
	device := func(d daemon.DeviceHealth) wire.Device {
		return wire.Device{State: string(d.State), Since: timestamp(d.Since), Message: d.Message}
	}
	r.Devices = wire.Devices{Reader: device(h.Devices.Reader), Printer: device(h.Devices.Printer), Host: device(h.Devices.Host)}
	r.CanTransact = h.CanTransact
	r.Cloud = wire.Cloud{State: string(h.Cloud.State), Since: timestamp(h.Cloud.Since)}
	for _, reason := range h.Reasons {
		r.Reasons = append(r.Reasons, wire.Reason{Code: reason.Code, Message: reason.Message})
	}
}

// timestamp is RFC 3339 UTC with seconds, as the reference writes it.
func timestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
