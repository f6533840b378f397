package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/api/wire"
)

// Calls relayed from the cloud (package cloudlink) run through the same
// echo routes as LAN calls — same decoding, validation, idempotency by
// reference, answers, errors and headers — but are authenticated as a
// trusted internal caller instead of by the LAN key: the relay has already
// authenticated its client, and the link to it is the terminal's own
// outbound connection. Only ServeRelayed marks a request so; nothing that
// arrives on the LAN port can.

// cloudPrefix is where every relayed endpoint lives.
const cloudPrefix = "/cashless/v1/"

// relayedCall marks, in a request's context, a call relayed from the cloud
// and who the relay acted for.
type relayedCall struct{ caller string }

type relayedKey struct{}

// relayed reports whether the request came through ServeRelayed, and for
// whom.
func relayed(r *http.Request) (relayedCall, bool) {
	rc, ok := r.Context().Value(relayedKey{}).(relayedCall)
	return rc, ok
}

// RelayedAnswer is the answer to a relayed call: the HTTP status, the
// response headers and the body exactly as the LAN would have received them.
type RelayedAnswer struct {
	Status int
	Header http.Header
	Body   []byte
}

// ServeRelayed runs one Cashless API call relayed from the cloud: endpoint
// is the path after /cashless/v1/ (e.g. "sale", "preauth/complete"), body
// the JSON body, caller who the relay acted for (for the request log). It
// waits for the call to end; ctx should not end when the link drops, so
// that a transaction the link lost still finishes (and is reported to
// OutcomeSink).
func (s *Server) ServeRelayed(ctx context.Context, endpoint string, body []byte, caller string) RelayedAnswer {
	ctx = context.WithValue(ctx, relayedKey{}, relayedCall{caller: caller})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "/", bytes.NewReader(body))
	if err != nil {
		return RelayedAnswer{Status: http.StatusInternalServerError, Header: http.Header{}}
	}
	// The path is set as is, never parsed: an endpoint with "..", "?" or
	// "%" names no route and gets the LAN's 404.
	req.URL.Path = cloudPrefix + endpoint
	req.RequestURI = req.URL.Path
	req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	req.RemoteAddr = "cloud:0"
	w := &relayWriter{header: http.Header{}}
	s.echo.ServeHTTP(w, req)
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return RelayedAnswer{Status: w.status, Header: w.header, Body: w.body.Bytes()}
}

// relayWriter collects a relayed call's answer.
type relayWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *relayWriter) Header() http.Header { return w.header }

func (w *relayWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *relayWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}

// Outcome is one finished transaction (or batch close) as its caller was
// answered, or would have been had it stayed: the endpoint (the path after
// /cashless/v1/), the reference, the transaction (or batch) ID, the HTTP
// status and the JSON body byte for byte.
type Outcome struct {
	Endpoint      string
	Reference     string
	TransactionID string
	Status        int
	Body          []byte
}

// OutcomeSink is told of every transaction and batch close that finished,
// whether its caller came from the LAN or the cloud, and whether it was
// still there. A replay of a stored answer is not a new outcome. Outcome
// must not block for long.
type OutcomeSink interface {
	Outcome(Outcome)
}

// outcomesKey holds the OutcomeSink in the echo context.
const outcomesKey = "outcomes"

// reportOutcome tells the sink, if any, of a finished call's answer,
// encoded exactly as c.JSON encodes it.
func reportOutcome(c echo.Context, reference, id string, status int, body any) {
	sink, ok := c.Get(outcomesKey).(OutcomeSink)
	if !ok {
		return
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(body); err != nil {
		return
	}
	sink.Outcome(Outcome{Endpoint: strings.TrimPrefix(c.Path(), cloudPrefix), Reference: reference,
		TransactionID: id, Status: status, Body: buf.Bytes()})
}

// reportTransaction reports a transaction call's result, unless it is a
// replay.
func reportTransaction(c echo.Context, res *daemon.Result, status int, body any) {
	if res == nil || res.Replayed || res.Tx == nil {
		return
	}
	reportOutcome(c, res.Tx.Reference, res.Tx.ID, status, body)
}

// CloudBinder binds the terminal to a merchant on the cloud relay
// (simulator mode's /simulator/v1/bind): with a one-time key, or by express
// binding (a key of "") when the relay has the terminal prebound.
type CloudBinder interface {
	SimBind(ctx context.Context, key string) (wire.SimBindAnswer, error)
}

func (s *Server) simBind(c echo.Context) error {
	var r wire.SimBindRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	key := ""
	if r.Key != nil {
		if *r.Key == "" {
			return invalid("key: must not be empty (leave it out for an express bind)")
		}
		key = *r.Key
	}
	if s.cloud == nil {
		return daemon.Errorf(daemon.CodeCommunicationError, "No cloud relay is configured (serve --cloud URL).")
	}
	ans, err := s.cloud.SimBind(c.Request().Context(), key)
	if err != nil {
		return daemon.Errorf(daemon.CodeCommunicationError, "The cloud relay did not answer: %v.", err)
	}
	return c.JSON(http.StatusOK, ans)
}
