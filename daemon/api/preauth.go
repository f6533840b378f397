package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/api/wire"
)

func (s *Server) increment(c echo.Context) error {
	return answer(c, incrementRequest, s.engine.Increment, renderHoldChange)
}

func (s *Server) releaseHold(c echo.Context) error {
	return answer(c, releaseRequest, s.engine.Release, renderHoldChange)
}

// holds answers preauth/list.
func (s *Server) holds(c echo.Context) error {
	if err := decode(c, &wire.PreauthListRequest{}); err != nil {
		return err
	}
	list, err := s.engine.Holds()
	if err != nil {
		return err
	}
	out := wire.Holds{Holds: make([]wire.Hold, 0, len(list))}
	for _, h := range list {
		t := h.Tx
		w := wire.Hold{Reference: t.Reference, TransactionID: t.ID, Status: string(h.State), Amount: t.Amount,
			HeldAmount: t.Held(), CapturedAmount: t.CapturedAmount, Currency: t.Currency, AuthCode: t.AuthCode,
			StartedAt: timestamp(t.StartedAt), ExpiresAt: timestamp(t.ExpiresAt)}
		if t.Card != nil {
			w.CardScheme, w.MaskedPan = t.Card.Scheme, t.Card.MaskedPAN
		}
		out.Holds = append(out.Holds, w)
	}
	return c.JSON(http.StatusOK, out)
}

func incrementRequest(r *wire.IncrementRequest) (daemon.IncrementRequest, string, error) {
	var v validator
	req := daemon.IncrementRequest{
		OriginalReference: v.reference("originalReference", r.OriginalReference, true),
		Amount:            v.amount("amount", r.Amount),
		Reference:         v.reference("reference", r.Reference, true),
	}
	return req, req.Reference, v.check()
}

func releaseRequest(r *wire.ReleaseRequest) (daemon.ReleaseRequest, string, error) {
	var v validator
	req := daemon.ReleaseRequest{
		OriginalReference: v.reference("originalReference", r.OriginalReference, true),
		Reference:         v.reference("reference", r.Reference, true),
	}
	return req, req.Reference, v.check()
}

// renderHoldChange turns a finished increment or release into its answer
// and HTTP status, like render does for the other transactions.
func renderHoldChange(t *daemon.Transaction) (wire.HoldChange, int) {
	r := wire.HoldChange{
		Status:                string(t.Status),
		Type:                  string(t.Kind),
		Reference:             t.Reference,
		TransactionID:         t.ID,
		OriginalReference:     t.OriginalReference,
		OriginalTransactionID: t.OriginalID,
		Amount:                t.Amount,
		Currency:              t.Currency,
		CompletedAt:           timestamp(t.CompletedAt),
	}
	switch t.Status {
	case daemon.StatusApproved:
		r.AuthCode = t.AuthCode
		held := int64(0)
		if t.Kind == daemon.KindIncrement {
			held = t.HeldAmount
			r.ExpiresAt = timestamp(t.ExpiresAt)
		}
		r.HeldAmount = &held
		return r, http.StatusOK
	case daemon.StatusDeclined:
		r.DeclineCode, r.DeclineMessage = t.DeclineCode, t.DeclineMessage
		r.Error = &wire.Error{Code: daemon.CodeCardDeclined, Message: t.DeclineMessage}
		return r, http.StatusPaymentRequired
	}
	code := t.ErrorCode
	if code == "" {
		code = daemon.CodeInternalError
	}
	r.Error = &wire.Error{Code: code, Message: t.ErrorMessage}
	return r, httpStatus(code)
}
