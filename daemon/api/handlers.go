package api

import (
	"context"
	"log"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/api/wire"
)

func newStdLogger(l zerolog.Logger) *log.Logger {
	return log.New(l.With().Str("component", "http").Logger(), "", 0)
}

func (s *Server) sale(c echo.Context) error {
	return transact(c, saleRequest, s.engine.Sale)
}

func (s *Server) preauth(c echo.Context) error {
	return transact(c, preauthRequest, s.engine.Preauth)
}

func (s *Server) complete(c echo.Context) error {
	return transact(c, completionRequest, s.engine.Complete)
}

func (s *Server) refund(c echo.Context) error {
	return transact(c, refundRequest, s.engine.Refund)
}

// transact is the shape of the four transaction calls: decode the body
// strictly into its wire type, check it and turn it into the engine's
// request (check also returns the reference, for the request log), run it
// and answer with the finished transaction.
func transact[In, Req any](c echo.Context, check func(*In) (Req, string, error),
	run func(context.Context, Req) (*daemon.Result, error)) error {
	return answer(c, check, run, render)
}

// answer decodes and checks the body, runs the engine call and writes its
// transaction in the shape show gives (status and body): 200 approved,
// 402 declined, 409 cancelled, 503 failed; a replay carries the replay
// header, and a client that went away gets nothing (the transaction went
// on and is recorded).
func answer[In, Req, Out any](c echo.Context, check func(*In) (Req, string, error),
	run func(context.Context, Req) (*daemon.Result, error), show func(*daemon.Transaction) (Out, int)) error {
	var in In
	if err := decode(c, &in); err != nil {
		return err
	}
	req, reference, err := check(&in)
	if err != nil {
		return err
	}
	c.Set("reference", reference)
	res, err := run(c.Request().Context(), req)
	if err != nil {
		if c.Request().Context().Err() != nil {
			return nil
		}
		return err
	}
	if res.Replayed {
		c.Response().Header().Set(ReplayHeader, "true")
	}
	body, status := show(res.Tx)
	reportTransaction(c, res, status, body)
	return c.JSON(status, body)
}

func saleRequest(r *wire.SaleRequest) (daemon.SaleRequest, string, error) {
	var v validator
	req := daemon.SaleRequest{
		Amount:       v.amount("amount", r.Amount),
		Currency:     v.currency(r.Currency),
		Reference:    v.reference("reference", r.Reference, true),
		TipAmount:    v.optionalAmount("tipAmount", r.TipAmount),
		PrintReceipt: boolOr(r.PrintReceipt, false),
	}
	if err := v.check(); err != nil {
		return req, "", err
	}
	if req.Amount+req.TipAmount > maxAmount {
		return req, "", invalid("tipAmount: amount plus tip must be at most 999999999999")
	}
	return req, req.Reference, nil
}

func preauthRequest(r *wire.PreauthRequest) (daemon.PreauthRequest, string, error) {
	var v validator
	req := daemon.PreauthRequest{
		Amount:       v.amount("amount", r.Amount),
		Currency:     v.currency(r.Currency),
		Reference:    v.reference("reference", r.Reference, true),
		PrintReceipt: boolOr(r.PrintReceipt, false),
	}
	return req, req.Reference, v.check()
}

func completionRequest(r *wire.CompleteRequest) (daemon.CompletionRequest, string, error) {
	var v validator
	req := daemon.CompletionRequest{
		OriginalReference: v.reference("originalReference", r.OriginalReference, true),
		CaptureAmount:     v.amount("captureAmount", r.CaptureAmount),
		Currency:          v.currency(r.Currency),
		Reference:         v.reference("reference", r.Reference, true),
		PrintReceipt:      boolOr(r.PrintReceipt, false),
	}
	return req, req.Reference, v.check()
}

func refundRequest(r *wire.RefundRequest) (daemon.RefundRequest, string, error) {
	var v validator
	req := daemon.RefundRequest{
		OriginalReference: v.reference("originalReference", r.OriginalReference, true),
		Amount:            v.amount("amount", r.Amount),
		Currency:          v.currency(r.Currency),
		Reference:         v.reference("reference", r.Reference, true),
		PrintReceipt:      boolOr(r.PrintReceipt, false),
	}
	return req, req.Reference, v.check()
}

func (s *Server) cancel(c echo.Context) error {
	var r wire.CancelRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	var v validator
	ref := v.reference("reference", r.Reference, false)
	if err := v.check(); err != nil {
		return err
	}
	c.Set("reference", ref)
	res, err := s.engine.Cancel(ref)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, wire.Cancelled{Status: "cancelled", Reference: res.Reference, CancelledAt: timestamp(res.CancelledAt)})
}

func (s *Server) batchClose(c echo.Context) error {
	var r wire.BatchCloseRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	var v validator
	ref := v.reference("reference", r.Reference, true)
	if err := v.check(); err != nil {
		return err
	}
	c.Set("reference", ref)
	res, err := s.engine.CloseBatch(c.Request().Context(), ref)
	if err != nil {
		if c.Request().Context().Err() != nil {
			return nil
		}
		return err
	}
	if res.Replayed {
		c.Response().Header().Set(ReplayHeader, "true")
	}
	body := renderBatch(res.Batch)
	if !res.Replayed {
		reportOutcome(c, res.Batch.Reference, res.Batch.ID, http.StatusOK, body)
	}
	return c.JSON(http.StatusOK, body)
}

func (s *Server) receiptLast(c echo.Context) error {
	ref, err := receiptLastRequest(c)
	if err != nil {
		return err
	}
	t, err := s.receiptFor(ref)
	if err != nil {
		return err
	}
	c.Set("reference", t.Reference)
	return c.JSON(http.StatusOK, wire.LastReceipt{
		TransactionID: t.ID,
		Reference:     t.Reference,
		Status:        string(t.Status),
		ReceiptData:   wire.ReceiptData{MerchantReceipt: t.Receipts.Merchant, CustomerReceipt: t.Receipts.Customer, SignatureRequired: t.Receipts.SignatureRequired},
		CompletedAt:   timestamp(t.CompletedAt),
	})
}

func (s *Server) reprint(c echo.Context) error {
	var r wire.ReprintRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	which := "customer"
	if r.Type != nil {
		which = *r.Type
	}
	switch which {
	case "merchant", "customer", "both":
	default:
		return invalid("type: must be \"merchant\", \"customer\" or \"both\"")
	}
	if err := s.engine.Reprint(c.Request().Context(), which); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, wire.Reprinted{Status: "printed", Type: which})
}
