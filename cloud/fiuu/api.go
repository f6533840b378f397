// Package fiuu is the relay's Fiuu cloudECR-compatible API: POS login and
// tokens, bind keys and prebinding, the terminal list, and signed transfers
// (sale, void, getLast, print) turned into Cashless API calls on the bound
// terminal. Paths, bodies, codes and the signature follow the public
// cloudECR documentation, so an ECR written for it only changes its base URL.
package fiuu

import (
	"context"
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
)

// Terminals is what the API needs of the relay's terminal link.
type Terminals interface {
	Call(ctx context.Context, terminalID, endpoint string, body []byte, caller string) (relay.Answer, error)
	Presence(terminalID string) (relay.Presence, bool)
	NewBindKey(ctx context.Context, merchantID, posID string) (store.BindKey, error)
}

// Options tune the API.
type Options struct {
	// Wait is how long a transfer waits for the terminal's outcome before
	// answering pending (statusCode 22). Default 80 s, as cloudECR.
	Wait time.Duration
	// DatetimeTolerance is how far a transfer's datetime may be from the
	// relay's clock. Default 5 minutes.
	DatetimeTolerance time.Duration
}

// API is the cloudECR-compatible API.
type API struct {
	accounts  *accounts.Service
	sessions  *auth.Sessions
	lockout   *auth.Lockout
	terminals Terminals
	store     *store.Store
	clock     clock.Clock
	log       zerolog.Logger
	opts      Options
}

// New makes the API.
func New(acc *accounts.Service, s *auth.Sessions, l *auth.Lockout, t Terminals, st *store.Store, c clock.Clock, log zerolog.Logger, o Options) *API {
	if o.Wait <= 0 {
		o.Wait = 80 * time.Second
	}
	if o.DatetimeTolerance <= 0 {
		o.DatetimeTolerance = 5 * time.Minute
	}
	return &API{accounts: acc, sessions: s, lockout: l, terminals: t, store: st, clock: c, log: log, opts: o}
}

// Register adds the routes.
func (a *API) Register(e *echo.Echo) {
	e.POST("/auth/login", a.login)
	e.POST("/auth/refresh", a.refresh)
	e.POST("/auth/logout", a.logout)
	g := e.Group("/api", a.authenticate)
	g.GET("/bind-terminal-key", a.bindKey)
	g.POST("/prebind-terminals", a.setPrebind)
	g.GET("/prebind-terminals", a.getPrebind)
	g.GET("/terminals", a.listTerminals)
	g.GET("/ewallet-channels", a.ewalletChannels)
	g.POST("/transfer", a.transfer)
}

// Error is the body of every error answer: {code, message}.
type Error struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// fail answers an error: the HTTP status is the code's first three digits.
func fail(c echo.Context, code int, msg string) error {
	status := code
	for status >= 1000 {
		status /= 10
	}
	return c.JSON(status, Error{Code: code, Message: msg})
}

const ok = 20000

func success(c echo.Context) error {
	return c.JSON(http.StatusOK, Error{Code: ok, Message: "Operation completed successfully."})
}

const claimsKey = "fiuu.claims"

func bearer(c echo.Context) string {
	h := c.Request().Header.Get(echo.HeaderAuthorization)
	if t, found := strings.CutPrefix(h, "Bearer "); found {
		return strings.TrimSpace(t)
	}
	return ""
}

func (a *API) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		claims, code, msg := a.check(c, auth.KindAccess)
		if code != 0 {
			return fail(c, code, msg)
		}
		c.Set(claimsKey, claims)
		return next(c)
	}
}

// check verifies the bearer token and that its POS is still enabled.
func (a *API) check(c echo.Context, kind string) (auth.Claims, int, string) {
	tok := bearer(c)
	missing := 40120
	if kind == auth.KindRefresh {
		missing = 40121
	}
	if tok == "" {
		return auth.Claims{}, missing, "Missing token."
	}
	claims, _, err := a.sessions.Check(c.Request().Context(), tok, kind)
	switch err {
	case nil:
	case auth.ErrTokenExpired:
		return claims, 40123, "Token expired; call /auth/refresh."
	case auth.ErrSessionEnded:
		return claims, 40122, "Session expired; log in again."
	case auth.ErrTokenInvalid, auth.ErrWrongKind:
		return claims, missing, "Invalid token."
	default:
		a.log.Error().Err(err).Msg("token check")
		return claims, 50010, "The relay cannot check tokens right now."
	}
	if _, err := a.accounts.POS(c.Request().Context(), claims.PosID); err != nil {
		return claims, 40312, "This POS account is suspended."
	}
	return claims, 0, ""
}

func claimsOf(c echo.Context) auth.Claims { return c.Get(claimsKey).(auth.Claims) }

// ClaimsFromToken lets the native API accept the same bearer tokens.
func (a *API) ClaimsFromToken(c echo.Context) (auth.Claims, bool) {
	claims, code, _ := a.check(c, auth.KindAccess)
	return claims, code == 0
}

func (a *API) audit(ctx context.Context, c echo.Context, kind, actor, subject, outcome, detail string) {
	r := store.AuditRecord{At: a.clock.Now().UTC(), Kind: kind, Actor: actor, Subject: subject, Client: c.RealIP(), Outcome: outcome, Detail: detail}
	if err := a.store.Audit(ctx, r); err != nil {
		a.log.Warn().Err(err).Msg("audit")
	}
}
