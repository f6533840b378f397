// Package native is the Cashless API through the relay:
// POST /cashless/v1/terminals/{terminalId}/{endpoint} passes a call to the
// bound terminal and answers exactly what the terminal answered, and
// GET /cashless/v1/terminals lists the caller's terminals. Callers are a
// POS (a bearer token from /auth/login) or an account (its API key in
// X-VINR-Cashless-Key or as a bearer token).
package native

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/cloud/accounts"
	"github.com/vinr/cashlessd/cloud/auth"
	"github.com/vinr/cashlessd/cloud/clock"
	"github.com/vinr/cashlessd/cloud/relay"
	"github.com/vinr/cashlessd/cloud/store"
	"github.com/vinr/cashlessd/daemon/api/wire"
)

// Terminals is what the passthrough needs of the relay.
type Terminals interface {
	Call(ctx context.Context, terminalID, endpoint string, body []byte, caller string) (relay.Answer, error)
	Presence(terminalID string) (relay.Presence, bool)
}

// TokenChecker reads a POS bearer token (the Fiuu API's).
type TokenChecker interface {
	ClaimsFromToken(c echo.Context) (auth.Claims, bool)
}

// API is the passthrough.
type API struct {
	accounts  *accounts.Service
	tokens    TokenChecker
	terminals Terminals
	store     *store.Store
	clock     clock.Clock
	log       zerolog.Logger
	wait      time.Duration
}

// New makes the passthrough; wait is how long a call waits for the
// terminal's answer before answering 202 pending (default 80 s).
func New(acc *accounts.Service, tok TokenChecker, t Terminals, s *store.Store, c clock.Clock, log zerolog.Logger, wait time.Duration) *API {
	if wait <= 0 {
		wait = 80 * time.Second
	}
	return &API{accounts: acc, tokens: tok, terminals: t, store: s, clock: c, log: log, wait: wait}
}

// Register adds the routes.
func (a *API) Register(e *echo.Echo) {
	e.GET("/cashless/v1/terminals", a.list)
	e.POST("/cashless/v1/terminals/:terminalId/*", a.call)
}

// Error codes of the relay's own refusals.
const (
	CodeUnauthorized  = "invalid_key"
	CodeForbidden     = "terminal_forbidden"
	CodeNotConnected  = "terminal_not_connected"
	CodeNoAnswer      = "terminal_no_answer"
	CodeInvalid       = "invalid_request"
	CodeUnavailable   = "relay_unavailable"
	maxBody           = 64 << 10
	headerAPIKey      = wire.KeyHeader
	pendingStatusText = "pending"
)

func refuse(c echo.Context, status int, code, msg string) error {
	return c.JSON(status, wire.ErrorResponse{Error: wire.Error{Code: code, Message: msg}})
}

// caller is who calls: a merchant's POS, or an account.
type caller struct {
	name      string
	merchant  string // set for a POS
	accountID string // set for an account
}

func (a *API) caller(c echo.Context) (caller, bool) {
	ctx := c.Request().Context()
	key := c.Request().Header.Get(headerAPIKey)
	if key == "" {
		if t, found := strings.CutPrefix(c.Request().Header.Get(echo.HeaderAuthorization), "Bearer "); found && strings.HasPrefix(t, "ck_live_") {
			key = t
		}
	}
	if key != "" {
		acc, err := a.accounts.ByAPIKey(ctx, key)
		if err != nil {
			return caller{}, false
		}
		return caller{name: acc.ID, accountID: acc.ID}, true
	}
	cl, ok := a.tokens.ClaimsFromToken(c)
	if !ok {
		return caller{}, false
	}
	return caller{name: cl.PosID, merchant: cl.MerchantID}, true
}

func (a *API) reaches(ctx context.Context, who caller, merchantID string) (bool, error) {
	if who.merchant != "" {
		return who.merchant == merchantID, nil
	}
	return a.accounts.Reaches(ctx, who.accountID, merchantID)
}

func (a *API) call(c echo.Context) error {
	ctx := c.Request().Context()
	who, ok := a.caller(c)
	if !ok {
		return refuse(c, http.StatusUnauthorized, CodeUnauthorized, "Send an access token (Authorization: Bearer) or an account API key.")
	}
	id, endpoint := c.Param("terminalId"), strings.Trim(c.Param("*"), "/")
	if endpoint == "" || strings.Contains(endpoint, "..") {
		return refuse(c, http.StatusNotFound, "not_found", "Name the endpoint after the terminal ID, e.g. /cashless/v1/terminals/{id}/sale.")
	}
	bnd, err := a.store.Binding(ctx, id)
	reach := false
	if err == nil && !bnd.Unbound {
		if reach, err = a.reaches(ctx, who, bnd.MerchantID); err != nil {
			return refuse(c, http.StatusServiceUnavailable, CodeUnavailable, "The relay cannot check access right now.")
		}
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return refuse(c, http.StatusServiceUnavailable, CodeUnavailable, "The relay cannot read bindings right now.")
	}
	if !reach {
		a.audit(ctx, c, who, id, "forbidden", endpoint)
		return refuse(c, http.StatusForbidden, CodeForbidden, "No terminal with this ID is bound under your account.")
	}
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		return refuse(c, http.StatusRequestEntityTooLarge, CodeInvalid, "The body is too large.")
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.wait)
	defer cancel()
	ans, err := a.terminals.Call(wctx, id, endpoint, body, who.name)
	switch {
	case errors.Is(err, relay.ErrNotConnected):
		return refuse(c, http.StatusServiceUnavailable, CodeNotConnected, "The terminal is not connected to the cloud.")
	case errors.Is(err, relay.ErrNoAnswer):
		var r struct {
			Reference string `json:"reference"`
		}
		_ = json.Unmarshal(body, &r)
		return c.JSON(http.StatusAccepted, map[string]string{"status": pendingStatusText, "reference": r.Reference,
			"message": "The terminal has not answered yet; look the reference up (transaction) or repeat the request."})
	case err != nil:
		return refuse(c, http.StatusBadGateway, CodeNoAnswer, "The terminal's answer could not be read.")
	}
	if endpoint != "status" && endpoint != "transaction" {
		a.audit(ctx, c, who, id, "relayed", endpoint)
	}
	for k, vs := range ans.Headers {
		for _, v := range vs {
			c.Response().Header().Add(k, v)
		}
	}
	return c.JSONBlob(ans.Status, ans.Body)
}

// Terminal is one line of GET /cashless/v1/terminals.
type Terminal struct {
	TerminalID      string `json:"terminalId"`
	MerchantID      string `json:"merchantId"`
	Connected       bool   `json:"connected"`
	Model           string `json:"model"`
	SoftwareVersion string `json:"softwareVersion"`
	LastSeenAt      string `json:"lastSeenAt,omitempty"`
}

func (a *API) list(c echo.Context) error {
	ctx := c.Request().Context()
	who, ok := a.caller(c)
	if !ok {
		return refuse(c, http.StatusUnauthorized, CodeUnauthorized, "Send an access token (Authorization: Bearer) or an account API key.")
	}
	var bs []store.Binding
	var err error
	if who.merchant != "" {
		bs, err = a.store.MerchantTerminals(ctx, who.merchant)
	} else {
		var all []store.Binding
		all, err = a.store.Bindings(ctx)
		reach := map[string]bool{}
		for _, b := range all {
			if b.Unbound {
				continue
			}
			r, seen := reach[b.MerchantID]
			if !seen {
				r, _ = a.accounts.Reaches(ctx, who.accountID, b.MerchantID)
				reach[b.MerchantID] = r
			}
			if r {
				bs = append(bs, b)
			}
		}
	}
	if err != nil {
		return refuse(c, http.StatusServiceUnavailable, CodeUnavailable, "The relay cannot list terminals right now.")
	}
	out := make([]Terminal, 0, len(bs))
	for _, b := range bs {
		p, live := a.terminals.Presence(b.TerminalID)
		t := Terminal{TerminalID: b.TerminalID, MerchantID: b.MerchantID, Connected: live, Model: b.Model, SoftwareVersion: b.SoftwareVersion}
		if p.Hello.Model != "" {
			t.Model, t.SoftwareVersion = p.Hello.Model, p.Hello.SoftwareVersion
		}
		if !p.LastSeen.IsZero() {
			t.LastSeenAt = p.LastSeen.UTC().Format(time.RFC3339)
		}
		out = append(out, t)
	}
	return c.JSON(http.StatusOK, map[string][]Terminal{"terminals": out})
}

func (a *API) audit(ctx context.Context, c echo.Context, who caller, terminalID, outcome, detail string) {
	r := store.AuditRecord{At: a.clock.Now().UTC(), Kind: "native", Actor: who.name, Subject: terminalID, Client: c.RealIP(), Outcome: outcome, Detail: detail}
	if err := a.store.Audit(ctx, r); err != nil {
		a.log.Warn().Err(err).Msg("audit")
	}
}
