package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/api/wire"
)

// lookup answers the truth about a reference or transaction ID: HTTP 200
// whatever the outcome (the outcome is in status), 404
// transaction_not_found only when it was never seen.
func (s *Server) lookup(c echo.Context) error {
	var r wire.LookupRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	var v validator
	req := daemon.LookupRequest{
		Reference:     v.reference("reference", r.Reference, false),
		TransactionID: v.reference("transactionId", r.TransactionID, false),
	}
	if err := v.check(); err != nil {
		return err
	}
	if (r.Reference == nil) == (r.TransactionID == nil) {
		return invalid("give exactly one of reference or transactionId")
	}
	c.Set("reference", req.Reference)
	res, err := s.engine.Lookup(req)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, renderLookup(res))
}

// renderLookup is the lookup answer: a running transaction as pending with
// its stage, a finished one rendered as its own answer was, and the
// earlier attempts.
func renderLookup(res *daemon.LookupResult) wire.Lookup {
	t := res.Tx
	out := wire.Lookup{Type: string(t.Kind), StartedAt: timestamp(t.StartedAt), EcrID: t.ECRID, Attempts: []wire.Attempt{}}
	if t.Final() {
		out.Transaction, _ = render(t)
		out.Status = heldStatus(t, out.Status)
	} else {
		out.Transaction = wire.Transaction{Status: string(t.Status), Reference: t.Reference, TransactionID: t.ID,
			Currency: t.Currency, OriginalReference: t.OriginalReference}
		amounts(&out.Transaction, t)
		out.Stage = string(t.Stage)
	}
	for _, a := range res.Attempts {
		out.Attempts = append(out.Attempts, wire.Attempt{TransactionID: a.ID, Type: string(a.Kind), Status: string(a.Status),
			ErrorCode: a.ErrorCode, DeclineCode: a.DeclineCode, StartedAt: timestamp(a.StartedAt), CompletedAt: timestamp(a.CompletedAt)})
	}
	return out
}

// receiptLastRequest reads receipt/last's optional reference ("" for the
// most recent receipt).
func receiptLastRequest(c echo.Context) (string, error) {
	var r wire.ReceiptLastRequest
	if err := decode(c, &r); err != nil {
		return "", err
	}
	var v validator
	ref := v.reference("reference", r.Reference, false)
	return ref, v.check()
}

// receiptFor is the transaction receipt/last answers about: the
// reference's own when one is given (or 404), else the most recent.
func (s *Server) receiptFor(ref string) (*daemon.Transaction, error) {
	if ref != "" {
		return s.engine.ReceiptByReference(ref)
	}
	return s.engine.LastReceipt()
}

// heldStatus is a pre-auth's status in a lookup: one whose hold was
// released (its reversal booked) is reversed, one whose hold ran out is
// expired; anything else keeps status.
func heldStatus(t *daemon.Transaction, status string) string {
	if t.Kind != daemon.KindPreauth {
		return status
	}
	switch t.HoldEnd {
	case daemon.HoldReleased:
		return "reversed"
	case daemon.HoldExpired:
		return "expired"
	}
	return status
}
