package api

import (
	"log"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/daemon"
)

func newStdLogger(l zerolog.Logger) *log.Logger {
	return log.New(l.With().Str("component", "http").Logger(), "", 0)
}

func (s *Server) status(c echo.Context) error {
	if err := decode(c, &emptyRequest{}); err != nil {
		return err
	}
	st, err := s.engine.Status(c.Request().Context())
	if err != nil {
		return err
	}
	cfg := s.engine.Config()
	resp := statusResponse{
		Status:           "ready",
		TerminalID:       cfg.TerminalID,
		Model:            cfg.Model,
		SoftwareVersion:  cfg.SoftwareVersion,
		Printer:          st.Printer,
		PendingReversals: st.PendingReversals,
		PendingAdvices:   st.PendingAdvices,
		OpenBatch:        openBatch{TransactionCount: st.OpenBatchCount, TotalAmount: st.OpenBatchAmount, Currency: cfg.Currency},
		NextSettlementAt: timestamp(st.NextAutoSettle),
		Simulator:        s.sim != nil,
	}
	if b := st.Settling; b != nil {
		resp.PendingSettlement = &pendingSettlement{Reference: b.Reference, TransactionCount: b.TransactionCount(),
			TotalAmount: b.TotalAmount(), Currency: b.Currency}
	}
	if st.Busy {
		resp.Status = "busy"
		resp.ActiveTransaction = &activeTransaction{Reference: st.ActiveReference, StartedAt: timestamp(st.ActiveStartedAt),
			Type: st.ActiveKind, Stage: string(st.ActiveStage)}
	}
	if t := st.LastTransaction; t != nil {
		resp.LastTransaction = &lastTransaction{Reference: t.Reference, Status: string(t.Status),
			CompletedAt: timestamp(t.CompletedAt), TransactionID: t.ID, Type: string(t.Kind)}
	}
	return c.JSON(http.StatusOK, resp)
}

func (s *Server) sale(c echo.Context) error {
	var r saleRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	var v validator
	req := daemon.SaleRequest{
		Amount:       v.amount("amount", r.Amount),
		Currency:     v.currency(r.Currency),
		Reference:    v.reference("reference", r.Reference, true),
		TipAmount:    v.optionalAmount("tipAmount", r.TipAmount),
		PrintReceipt: boolOr(r.PrintReceipt, false),
	}
	if err := v.check(); err != nil {
		return err
	}
	if req.Amount+req.TipAmount > maxAmount {
		return invalid("tipAmount: amount plus tip must be at most 999999999999")
	}
	c.Set("reference", req.Reference)
	res, err := s.engine.Sale(c.Request().Context(), req)
	return s.respond(c, res, err)
}

func (s *Server) preauth(c echo.Context) error {
	var r preauthRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	var v validator
	req := daemon.PreauthRequest{
		Amount:       v.amount("amount", r.Amount),
		Currency:     v.currency(r.Currency),
		Reference:    v.reference("reference", r.Reference, true),
		PrintReceipt: boolOr(r.PrintReceipt, false),
	}
	if err := v.check(); err != nil {
		return err
	}
	c.Set("reference", req.Reference)
	res, err := s.engine.Preauth(c.Request().Context(), req)
	return s.respond(c, res, err)
}

func (s *Server) complete(c echo.Context) error {
	var r completeRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	var v validator
	req := daemon.CompletionRequest{
		OriginalReference: v.reference("originalReference", r.OriginalReference, true),
		CaptureAmount:     v.amount("captureAmount", r.CaptureAmount),
		Currency:          v.currency(r.Currency),
		Reference:         v.reference("reference", r.Reference, true),
		PrintReceipt:      boolOr(r.PrintReceipt, false),
	}
	if err := v.check(); err != nil {
		return err
	}
	c.Set("reference", req.Reference)
	res, err := s.engine.Complete(c.Request().Context(), req)
	return s.respond(c, res, err)
}

func (s *Server) refund(c echo.Context) error {
	var r refundRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	var v validator
	req := daemon.RefundRequest{
		OriginalReference: v.reference("originalReference", r.OriginalReference, true),
		Amount:            v.amount("amount", r.Amount),
		Currency:          v.currency(r.Currency),
		Reference:         v.reference("reference", r.Reference, true),
		PrintReceipt:      boolOr(r.PrintReceipt, false),
	}
	if err := v.check(); err != nil {
		return err
	}
	c.Set("reference", req.Reference)
	res, err := s.engine.Refund(c.Request().Context(), req)
	return s.respond(c, res, err)
}

// respond writes a finished transaction: 200 approved, 402 declined, 409
// cancelled, 503 failed; a client that went away gets nothing (the
// transaction went on and is recorded).
func (s *Server) respond(c echo.Context, res *daemon.Result, err error) error {
	if err != nil {
		if c.Request().Context().Err() != nil {
			return nil
		}
		return err
	}
	if res.Replayed {
		c.Response().Header().Set(ReplayHeader, "true")
	}
	body, status := render(res.Tx)
	return c.JSON(status, body)
}

func (s *Server) cancel(c echo.Context) error {
	var r cancelRequest
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
	return c.JSON(http.StatusOK, cancelResponse{Status: "cancelled", Reference: res.Reference, CancelledAt: timestamp(res.CancelledAt)})
}

func (s *Server) batchClose(c echo.Context) error {
	var r batchCloseRequest
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
	return c.JSON(http.StatusOK, renderBatch(res.Batch))
}

func (s *Server) receiptLast(c echo.Context) error {
	if err := decode(c, &emptyRequest{}); err != nil {
		return err
	}
	t, err := s.engine.LastReceipt()
	if err != nil {
		return err
	}
	c.Set("reference", t.Reference)
	return c.JSON(http.StatusOK, receiptLastResponse{
		TransactionID: t.ID,
		Reference:     t.Reference,
		Status:        string(t.Status),
		ReceiptData:   receiptData{MerchantReceipt: t.Receipts.Merchant, CustomerReceipt: t.Receipts.Customer, SignatureRequired: t.Receipts.SignatureRequired},
		CompletedAt:   timestamp(t.CompletedAt),
	})
}

func (s *Server) reprint(c echo.Context) error {
	var r reprintRequest
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
	return c.JSON(http.StatusOK, reprintResponse{Status: "printed", Type: which})
}
