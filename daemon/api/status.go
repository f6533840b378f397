package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/api/wire"
)

// statusKey is every value of a StatusInfo that the status answer shows:
// two polls with the same key (and the same reasons) answer the same
// bytes. It is compared with ==; a value that compares unequal only
// renders the answer once more.
type statusKey struct {
	busy                                                bool
	activeKind, activeReference, activeStage, activeECR string
	activeStartedAt                                     time.Time

	hasLast                                     bool
	lastID, lastReference, lastStatus, lastKind string
	lastCompletedAt                             time.Time

	hasPrinter                   bool
	printerState, printerMessage string

	pendingReversals, pendingAdvices int
	openCount, openAmount            int64

	hasSettling                         bool
	settlingReference, settlingCurrency string
	settlingCount, settlingAmount       int64

	nextAutoSettle time.Time
	devices        daemon.Devices
	canTransact    bool
}

// keyOf is the key of a status.
func keyOf(st *daemon.StatusInfo) statusKey {
	k := statusKey{busy: st.Busy, pendingReversals: st.PendingReversals, pendingAdvices: st.PendingAdvices,
		openCount: st.OpenBatchCount, openAmount: st.OpenBatchAmount, nextAutoSettle: st.NextAutoSettle,
		devices: st.Health.Devices, canTransact: st.Health.CanTransact}
	if st.Busy {
		k.activeKind, k.activeReference, k.activeStage = st.ActiveKind, st.ActiveReference, string(st.ActiveStage)
		k.activeECR = st.ActiveECRID
		k.activeStartedAt = st.ActiveStartedAt
	}
	if t := st.LastTransaction; t != nil {
		k.hasLast = true
		k.lastID, k.lastReference, k.lastStatus, k.lastKind = t.ID, t.Reference, string(t.Status), string(t.Kind)
		k.lastCompletedAt = t.CompletedAt
	}
	if p := st.Printer; p != nil {
		k.hasPrinter, k.printerState, k.printerMessage = true, string(p.State), p.Message
	}
	if b := st.Settling; b != nil {
		k.hasSettling, k.settlingReference, k.settlingCurrency = true, b.Reference, b.Currency
		k.settlingCount, k.settlingAmount = b.TransactionCount(), b.TotalAmount()
	}
	return k
}

// renderedStatus is a status answer's body with the state it shows.
type renderedStatus struct {
	key     statusKey
	reasons []daemon.Reason
	body    []byte
}

// status answers the terminal's state. The answer is rendered once per
// change of what it shows and served as the same bytes until the next.
func (s *Server) status(c echo.Context) error {
	if err := decode(c, &wire.EmptyRequest{}); err != nil {
		return err
	}
	st, err := s.engine.Status(c.Request().Context())
	if err != nil {
		return err
	}
	if c.Request().URL.RawQuery != "" || c.Echo().Debug {
		// ?pretty (or debug mode) indents the answer: rendered each time.
		return c.JSON(http.StatusOK, s.statusResponse(&st))
	}
	key := keyOf(&st)
	if r := s.lastStatus.Load(); r != nil && r.key == key && slices.Equal(r.reasons, st.Health.Reasons) {
		return c.JSONBlob(http.StatusOK, r.body)
	}
	body, err := json.Marshal(s.statusResponse(&st))
	if err != nil {
		return err
	}
	body = append(body, '\n') // as c.JSON writes it
	s.lastStatus.Store(&renderedStatus{key: key, reasons: slices.Clone(st.Health.Reasons), body: body})
	return c.JSONBlob(http.StatusOK, body)
}

// statusResponse is the status answer.
func (s *Server) statusResponse(st *daemon.StatusInfo) wire.Status {
	cfg := s.engine.Config()
	resp := wire.Status{
		Status:           "ready",
		TerminalID:       cfg.TerminalID,
		Model:            cfg.Model,
		SoftwareVersion:  cfg.SoftwareVersion,
		PendingReversals: st.PendingReversals,
		PendingAdvices:   st.PendingAdvices,
		OpenBatch:        wire.OpenBatch{TransactionCount: st.OpenBatchCount, TotalAmount: st.OpenBatchAmount, Currency: cfg.Currency},
		NextSettlementAt: timestamp(st.NextAutoSettle),
		Simulator:        s.sim != nil,
	}
	renderHealth(&resp, st.Health)
	if p := st.Printer; p != nil {
		resp.Printer = &wire.Printer{State: string(p.State), Message: p.Message}
	}
	if b := st.Settling; b != nil {
		resp.PendingSettlement = &wire.PendingSettlement{Reference: b.Reference, TransactionCount: b.TransactionCount(),
			TotalAmount: b.TotalAmount(), Currency: b.Currency}
	}
	if st.Busy {
		resp.Status = "busy"
		resp.ActiveTransaction = &wire.ActiveTransaction{Reference: st.ActiveReference, StartedAt: timestamp(st.ActiveStartedAt),
			Type: st.ActiveKind, Stage: string(st.ActiveStage), EcrID: st.ActiveECRID}
	}
	if t := st.LastTransaction; t != nil {
		resp.LastTransaction = &wire.LastTransaction{Reference: t.Reference, Status: string(t.Status),
			CompletedAt: timestamp(t.CompletedAt), TransactionID: t.ID, Type: string(t.Kind)}
	}
	return resp
}
