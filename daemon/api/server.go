// Package api is the HTTP side of cashlessd: the /cashless/v1 routes on
// echo, key authentication, strict JSON wire types, error mapping to the
// reference's error shape, request logging, and the /simulator/v1 control
// routes in simulator mode.
package api

import (
	"crypto/tls"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/daemon"
)

// KeyHeader carries the shared key.
const KeyHeader = "X-VINR-Cashless-Key"

// ReplayHeader marks a response replayed for a repeated reference.
const ReplayHeader = "Idempotent-Replayed"

// MaxBody bounds a request body.
const MaxBody = "64KiB"

// KeyVerifier checks a presented shared key.
type KeyVerifier interface {
	Verify(key string) bool
}

// Options wires the server.
type Options struct {
	Engine    *daemon.Engine
	Keys      KeyVerifier
	Simulator daemon.Simulator // nil outside simulator mode
	Log       zerolog.Logger
	Metrics   RequestObserver // optional
}

// RequestObserver counts requests for metrics.
type RequestObserver interface {
	Request(route string, status int, took time.Duration)
}

// Server is the Cashless API.
type Server struct {
	echo   *echo.Echo
	engine *daemon.Engine
	keys   KeyVerifier
	sim    daemon.Simulator
	log    zerolog.Logger
	limit  *failedKeyLimiter
	obs    RequestObserver
}

// New builds the routes.
func New(o Options) *Server {
	s := &Server{echo: echo.New(), engine: o.Engine, keys: o.Keys, sim: o.Simulator, log: o.Log,
		limit: newFailedKeyLimiter(6*time.Second, 10), obs: o.Metrics}
	e := s.echo
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.Pre(onlyPOST)
	e.Use(middleware.RequestIDWithConfig(middleware.RequestIDConfig{TargetHeader: echo.HeaderXRequestID}))
	e.Use(s.logRequests)
	e.Use(middleware.Recover())
	e.Use(middleware.BodyLimit(MaxBody))

	v1 := e.Group("/cashless/v1")
	v1.POST("/status", s.status, s.authenticate)
	v1.POST("/sale", s.sale, s.authenticate)
	v1.POST("/preauth", s.preauth, s.authenticate)
	v1.POST("/preauth/complete", s.complete, s.authenticate)
	v1.POST("/cancel", s.cancel, s.authenticate)
	v1.POST("/refund", s.refund, s.authenticate)
	v1.POST("/batch/close", s.batchClose, s.authenticate)
	v1.POST("/receipt/last", s.receiptLast, s.authenticate)
	v1.POST("/receipt/reprint", s.reprint, s.authenticate)

	if s.sim != nil {
		sim := e.Group("/simulator/v1")
		sim.POST("/card", s.simCard, s.authenticate)
		sim.POST("/host", s.simHost, s.authenticate)
		sim.POST("/printer", s.simPrinter, s.authenticate)
		sim.POST("/reader", s.simReader, s.authenticate)
		sim.POST("/clock", s.simClock, s.authenticate)
	}
	return s
}

// Handler is the HTTP handler.
func (s *Server) Handler() http.Handler { return s.echo }

// HTTPServer wraps the handler in an http.Server with timeouts that stop
// slow clients yet allow the 120 s synchronous transactions.
func (s *Server) HTTPServer(tlsConfig *tls.Config) *http.Server {
	return &http.Server{
		Handler:           s.echo,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      150 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          newStdLogger(s.log),
	}
}

// onlyPOST refuses every other method (OPTIONS and HEAD included) before
// routing: every call of the API is POST.
func onlyPOST(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Request().Method != http.MethodPost {
			c.Response().Header().Set("Allow", http.MethodPost)
			return echo.ErrMethodNotAllowed
		}
		return next(c)
	}
}

// authenticate checks the shared key on every call. A client that failed
// too often is refused for a while (10 failures, then one per 6 s).
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		client := c.RealIP()
		if wait, blocked := s.limit.blocked(client); blocked {
			secs := int(wait/time.Second) + 1
			c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
			return daemon.Errorf(daemon.CodeTooManyAttempts, "Too many failed key attempts from %s; retry in %d s.", client, secs)
		}
		if !s.keys.Verify(c.Request().Header.Get(KeyHeader)) {
			s.limit.failed(client)
			return &daemon.Error{Code: daemon.CodeInvalidKey, Message: "Shared key missing or incorrect (header " + KeyHeader + ")."}
		}
		return next(c)
	}
}

// httpStatus maps each error code to its HTTP status.
func httpStatus(code string) int {
	switch code {
	case daemon.CodeInvalidRequest:
		return http.StatusBadRequest
	case daemon.CodeInvalidKey:
		return http.StatusUnauthorized
	case daemon.CodeCardDeclined:
		return http.StatusPaymentRequired
	case daemon.CodeTransactionNotFound, daemon.CodeNotFound:
		return http.StatusNotFound
	case daemon.CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case daemon.CodeTerminalBusy, daemon.CodeDuplicateReference, daemon.CodeTransactionCancelled:
		return http.StatusConflict
	case daemon.CodeCancelNotAllowed, daemon.CodeAmountExceedsOriginal, daemon.CodePreauthExpired,
		daemon.CodePreauthCompleted, daemon.CodePrinterUnavailable:
		return http.StatusUnprocessableEntity
	case daemon.CodeTooManyAttempts:
		return http.StatusTooManyRequests
	case daemon.CodeCommunicationError, daemon.CodePrinterError, daemon.CodeReaderError, daemon.CodeStorageUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// handleError writes every error in the reference's shape.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var apiErr *daemon.Error
	var httpErr *echo.HTTPError
	switch {
	case errors.As(err, &apiErr):
	case errors.As(err, &httpErr):
		switch httpErr.Code {
		case http.StatusNotFound:
			apiErr = &daemon.Error{Code: daemon.CodeNotFound, Message: "No such endpoint; see /cashless/v1/…"}
		case http.StatusMethodNotAllowed:
			apiErr = &daemon.Error{Code: daemon.CodeMethodNotAllowed, Message: "Every Cashless API call is POST with a JSON body."}
		case http.StatusRequestEntityTooLarge:
			apiErr = &daemon.Error{Code: daemon.CodeInvalidRequest, Message: "The request body is larger than " + MaxBody + "."}
		case http.StatusBadRequest:
			apiErr = &daemon.Error{Code: daemon.CodeInvalidRequest, Message: "Bad request."}
		default:
			apiErr = daemon.AsError(err)
		}
	default:
		s.log.Error().Err(err).Str("path", c.Path()).Msg("internal error")
		apiErr = daemon.AsError(err)
	}
	status := httpStatus(apiErr.Code)
	if errors.As(err, &httpErr) && httpErr.Code == http.StatusRequestEntityTooLarge {
		status = http.StatusRequestEntityTooLarge
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	_ = c.JSON(status, errorResponse{Error: errorBody{Code: apiErr.Code, Message: apiErr.Message}})
}

// logRequests writes one JSON log line per request: request ID, method,
// path, status, latency and the ECR's reference. Never a body.
func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		res := c.Response()
		if s.obs != nil {
			route := c.Path()
			if res.Status == http.StatusNotFound && c.Request().URL.Path != route {
				route = "unmatched"
			}
			s.obs.Request(route, res.Status, time.Since(start))
		}
		ev := s.log.Info()
		if c.Request().URL.Path == "/cashless/v1/status" && res.Status == http.StatusOK {
			ev = s.log.Debug() // ECRs poll status in tight loops
		}
		if res.Status >= 500 {
			ev = s.log.Warn()
		}
		ev = ev.Str("requestId", res.Header().Get(echo.HeaderXRequestID)).
			Str("method", c.Request().Method).
			Str("path", c.Request().URL.Path).
			Int("status", res.Status).
			Dur("latency", time.Since(start)).
			Str("remote", c.RealIP())
		if ref, ok := c.Get("reference").(string); ok && ref != "" {
			ev = ev.Str("reference", ref)
		}
		ev.Msg("request")
		return nil
	}
}
