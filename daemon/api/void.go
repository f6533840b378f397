package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/api/wire"
)

// void cancels an approved transaction of the open batch; it answers like
// the other transaction calls (200 with the void, a replay for a repeated
// reference).
func (s *Server) void(c echo.Context) error {
	return transact(c, voidRequest, s.engine.Void)
}

func voidRequest(r *wire.VoidRequest) (daemon.VoidRequest, string, error) {
	var v validator
	req := daemon.VoidRequest{
		OriginalReference: v.reference("originalReference", r.OriginalReference, true),
		Reference:         v.reference("reference", r.Reference, true),
		PrintReceipt:      boolOr(r.PrintReceipt, false),
	}
	return req, req.Reference, v.check()
}

// batchTotals answers the open batch's totals without closing it (an
// X-report), printed when asked.
func (s *Server) batchTotals(c echo.Context) error {
	var r wire.BatchTotalsRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	rep, err := s.engine.BatchTotals(c.Request().Context(), boolOr(r.Print, false))
	if err != nil {
		return err
	}
	b := rep.Batch
	out := wire.BatchReport{
		Status:           string(daemon.BatchOpen),
		BatchID:          b.ID,
		TransactionCount: b.TransactionCount(),
		TotalAmount:      b.TotalAmount(),
		GrossAmount:      b.GrossAmount(),
		NetAmount:        b.TotalAmount(),
		Currency:         b.Currency,
		OpenedAt:         timestamp(b.OpenedAt),
		ReportedAt:       timestamp(rep.At),
		Totals:           batchTotals(b),
		Schemes:          schemeTotals(b),
		ReportText:       rep.Document.Text(),
	}
	if rep.PrintAsked {
		out.ReportPrinted = ptr(rep.Printed)
		out.PrinterError = rep.PrinterError
	}
	return c.JSON(http.StatusOK, out)
}

// batchTotals splits a batch by kind: the amount (gross) as it always
// was, and gross and net (refunds subtract).
func batchTotals(b *daemon.Batch) wire.BatchTotals {
	return wire.BatchTotals{
		Sales:       wire.KindTotal{Count: b.SaleCount, Amount: b.SaleAmount, GrossAmount: b.SaleAmount, NetAmount: b.SaleAmount},
		Completions: wire.KindTotal{Count: b.CompletionCount, Amount: b.CompletionAmount, GrossAmount: b.CompletionAmount, NetAmount: b.CompletionAmount},
		Refunds:     wire.KindTotal{Count: b.RefundCount, Amount: b.RefundAmount, GrossAmount: b.RefundAmount, NetAmount: -b.RefundAmount},
	}
}

// schemeTotals splits a batch by card scheme: the amount (net) as it
// always was, and gross and net; nil for an empty batch.
func schemeTotals(b *daemon.Batch) map[string]wire.KindTotal {
	if len(b.Schemes) == 0 {
		return nil
	}
	out := make(map[string]wire.KindTotal, len(b.Schemes))
	for k, v := range b.Schemes {
		out[k] = wire.KindTotal{Count: v.Count, Amount: v.Amount, GrossAmount: v.Gross, NetAmount: v.Amount}
	}
	return out
}
