// Package api is the HTTP side of cashlessd: the /cashless/v1 routes on
// echo over an Engine, key authentication, strict decoding and validation
// of the wire types (package wire), the engine's errors mapped to HTTP
// statuses and the reference's error shape, request logging, and the
// /simulator/v1 control routes in simulator mode.
package api

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/api/connlimit"
	"github.com/vinr/cashlessd/daemon/api/wire"
	"github.com/vinr/cashlessd/daemon/audit"
	"github.com/vinr/cashlessd/daemon/auth"
	"github.com/vinr/cashlessd/daemon/events"
)

// KeyHeader carries the shared key.
const KeyHeader = wire.KeyHeader

// ReplayHeader marks a response replayed for a repeated reference.
const ReplayHeader = wire.ReplayHeader

// MaxBody bounds a request body.
const MaxBody = "64KiB"

// KeyVerifier checks a presented shared key.
type KeyVerifier interface {
	Verify(key string) bool
}

// Engine is what the API asks of the payment engine (*daemon.Engine):
// the status and configuration it reports, the transactions it runs, and
// the last receipt.
type Engine interface {
	// Config is the terminal's configuration (IDs, currency).
	Config() daemon.Config
	// Status is the terminal's state now.
	Status(ctx context.Context) (daemon.StatusInfo, error)
	// Sale, Preauth, Complete and Refund run one transaction to its end.
	Sale(ctx context.Context, r daemon.SaleRequest) (*daemon.Result, error)
	Preauth(ctx context.Context, r daemon.PreauthRequest) (*daemon.Result, error)
	Complete(ctx context.Context, r daemon.CompletionRequest) (*daemon.Result, error)
	Refund(ctx context.Context, r daemon.RefundRequest) (*daemon.Result, error)
	// Increment and Release change a pre-auth's hold; Holds lists the
	// pre-auths that hold funds.
	Increment(ctx context.Context, r daemon.IncrementRequest) (*daemon.Result, error)
	Release(ctx context.Context, r daemon.ReleaseRequest) (*daemon.Result, error)
	Holds() ([]daemon.HoldInfo, error)
	// Cancel aborts the transaction waiting for a card ("" for any).
	Cancel(reference string) (*daemon.CancelResult, error)
	// CloseBatch settles and closes the open batch.
	CloseBatch(ctx context.Context, reference string) (*daemon.BatchResult, error)
	// LastReceipt is the last approved or declined transaction.
	LastReceipt() (*daemon.Transaction, error)
	// Reprint prints the last receipt again.
	Reprint(ctx context.Context, which string) error
	// Lookup is the truth about a reference or transaction ID, without
	// waiting for a running transaction.
	Lookup(r daemon.LookupRequest) (*daemon.LookupResult, error)
	// ReceiptByReference is the receipt of one reference's transaction.
	ReceiptByReference(reference string) (*daemon.Transaction, error)
	// Void cancels an approved transaction of the open batch.
	Void(ctx context.Context, r daemon.VoidRequest) (*daemon.Result, error)
	// BatchTotals reads (and prints) the open batch's totals.
	BatchTotals(ctx context.Context, print bool) (*daemon.XReport, error)
}

// Options wires the server.
type Options struct {
	Engine    Engine
	Keys      KeyVerifier
	Simulator daemon.Simulator // nil outside simulator mode
	Log       zerolog.Logger
	Metrics   RequestObserver // optional
	// TrustedProxies are the only peers whose X-Forwarded-For is believed;
	// without them a client's address is its TCP peer address.
	TrustedProxies []netip.Prefix
	// Events is the live event stream; nil serves none.
	Events *events.Hub
	// Outcomes, when set, is told of every finished transaction and batch
	// close (the cloud link publishes them to the relay).
	Outcomes OutcomeSink
	// Cloud binds the terminal on the cloud relay for the simulator's
	// /simulator/v1/bind; nil: no relay is configured.
	Cloud CloudBinder
	// Pairing redeems pairing codes (POST /cashless/v1/pair); nil pairs
	// nothing.
	Pairing Pairer
	// OnPaired is called after an ECR paired (the LAN announcement says
	// paired=1); optional.
	OnPaired func()
	// CertFingerprint and KeyFingerprint are the hex SHA-256 of the
	// served certificate and of its public key, given to a newly paired
	// ECR for pinning; optional.
	CertFingerprint, KeyFingerprint func() string
	// Audit records who did what; nil records nothing.
	Audit *audit.Log
}

// RequestObserver counts requests for metrics.
type RequestObserver interface {
	Request(route string, status int, took time.Duration)
}

// Server is the Cashless API.
type Server struct {
	echo   *echo.Echo
	engine Engine
	keys   KeyVerifier
	sim    daemon.Simulator
	log    zerolog.Logger
	limit  *failedKeyLimiter
	obs    RequestObserver
	cloud  CloudBinder

	// requestIDs names requests that come without an X-Request-ID.
	requestIDs *requestIDs
	// route wraps a route's handler in its chain: the body limit, the key
	// check.
	route func(echo.HandlerFunc) echo.HandlerFunc
	// outcomes is told of every finished transaction (cloud link), or nil.
	outcomes OutcomeSink

	// lastStatus is the last status answer rendered (status.go).
	lastStatus atomic.Pointer[renderedStatus]

	// The live event stream (events.go).
	events  *events.Hub
	streams eventStreams

	// Pairing and per-ECR credentials (credentials.go).
	pairer      Pairer
	onPaired    func()
	fingerprint func() string
	keyPrint    func() string
	pairLimit   *pairLimiter
	nonces      nonceCache
	audit       *audit.Log
}

// New builds the routes.
func New(o Options) *Server {
	s := &Server{echo: echo.New(), engine: o.Engine, keys: o.Keys, sim: o.Simulator, log: o.Log,
		limit: newFailedKeyLimiter(6*time.Second, 10), obs: o.Metrics, events: o.Events, cloud: o.Cloud,
		pairer: o.Pairing, onPaired: o.OnPaired, fingerprint: o.CertFingerprint, keyPrint: o.KeyFingerprint, pairLimit: newPairLimiter(), audit: o.Audit}
	e := s.echo
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.IPExtractor = clientAddress(o.TrustedProxies)
	// One middleware runs for every request, routed or not (echo builds
	// the chain of e.Use's middleware anew per request, one closure each):
	// it refuses other methods, closes unauthenticated connections, sets
	// the request ID, recovers panics and logs. The routes' own chains (the
	// body limit, the key check) are built once here, not per request.
	e.Use(s.frame)
	s.requestIDs = newRequestIDs()
	limitBody := middleware.BodyLimit(MaxBody)
	route := func(h echo.HandlerFunc) echo.HandlerFunc { return limitBody(s.authenticate(h)) }
	s.route = route
	s.outcomes = o.Outcomes

	for path, h := range map[string]echo.HandlerFunc{
		wire.PathStatus: s.status, wire.PathSale: s.sale, wire.PathPreauth: s.preauth, wire.PathComplete: s.complete,
		wire.PathCancel: s.cancel, wire.PathRefund: s.refund, wire.PathBatchClose: s.batchClose,
		wire.PathReceiptLast: s.receiptLast, wire.PathReceiptReprint: s.reprint,
		wire.PathTransaction:      s.lookup,
		wire.PathPreauthIncrement: s.increment, wire.PathPreauthRelease: s.releaseHold, wire.PathPreauthList: s.holds,
		wire.PathVoid: s.void, wire.PathBatchTotals: s.batchTotals,
	} {
		e.POST(path, route(h))
	}
	e.POST(wire.PathPair, limitBody(s.pair))
	s.routeEvents()
	if s.sim != nil {
		for path, h := range map[string]echo.HandlerFunc{
			wire.PathSimCard: s.simCard, wire.PathSimHost: s.simHost, wire.PathSimPrinter: s.simPrinter,
			wire.PathSimReader: s.simReader, wire.PathSimClock: s.simClock, wire.PathSimBind: s.simBind,
		} {
			e.POST(path, route(h))
		}
	}
	return s
}

// Handler is the HTTP handler.
func (s *Server) Handler() http.Handler { return s.echo }

// HTTPServer wraps the handler in an http.Server with timeouts that stop
// slow clients yet allow the 120 s synchronous transactions.
func (s *Server) HTTPServer(tlsConfig *tls.Config) *http.Server {
	srv := &http.Server{
		Handler:           s.echo,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      150 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          newStdLogger(s.log),
	}
	srv.RegisterOnShutdown(s.endStreams)
	return srv
}

// clientAddress is how a request's client address is found (failed-key
// limit, request logs): the TCP peer, or X-Forwarded-For when the peer is
// one of the trusted proxies.
func clientAddress(trusted []netip.Prefix) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range trusted {
		p = p.Masked()
		opts = append(opts, echo.TrustIPRange(&net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// maxBodyBytes is MaxBody in bytes.
const maxBodyBytes = 64 << 10

// frame is what every request goes through, in this order: a method other
// than the path's is refused (405, before a request ID or a log line); an
// answer to a client that has not presented the key on its connection
// ends the connection (401, 404, 405, 413, 429…), so a keyless client
// cannot keep one idle (its Connection: close is set here, before
// anything, and taken off by authenticate when the request's key is
// accepted: keepConnection); a body announced larger than MaxBody is refused
// (413); a panic is answered as an internal error, its stack printed as
// echo's Recover middleware does; the request gets its ID (the client's X-Request-ID, or a new one)
// and one log line with its metrics (logRequests).
func (s *Server) frame(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if !connlimit.Authenticated(req.Context()) {
			c.Response().Header().Set(echo.HeaderConnection, "close")
		}
		if allowed := allowedMethod(req.URL.Path); req.Method != allowed {
			c.Response().Header().Set("Allow", allowed)
			return echo.ErrMethodNotAllowed
		}
		rid := req.Header.Get(echo.HeaderXRequestID)
		if rid == "" {
			rid = s.requestIDs.next()
		}
		c.Response().Header().Set(echo.HeaderXRequestID, rid)
		if s.outcomes != nil {
			c.Set(outcomesKey, s.outcomes)
		}
		return s.logRequests(c, rid, func(c echo.Context) (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = recovered(c, r)
				}
			}()
			if req.ContentLength > maxBodyBytes {
				return echo.ErrStatusRequestEntityTooLarge
			}
			return next(c)
		})
	}
}

// recovered is the error a handler's panic r is answered with, its stack
// printed on echo's logger (as echo's Recover middleware does). A handler
// that aborts on purpose (http.ErrAbortHandler) panics on.
func recovered(c echo.Context, r any) error {
	if r == http.ErrAbortHandler {
		panic(r)
	}
	err, ok := r.(error)
	if !ok {
		err = fmt.Errorf("%v", r)
	}
	stack := make([]byte, 4<<10)
	stack = stack[:runtime.Stack(stack, true)]
	c.Logger().Print(fmt.Sprintf("[PANIC RECOVER] %v %s\n", err, stack))
	return err
}

// authenticate checks the key on every call: the shared key or a paired
// ECR's, then the request's signature (when the credential requires one
// or one is sent) and the scope the route needs. The request's context
// carries the credential's ecrId to the engine. The right key is always
// served; a client address that failed too often gets 429 for its wrong
// keys for a while (10 failures, then one per 6 s), so nobody can lock
// out a client that holds the key. A call relayed from the cloud
// (ServeRelayed) is a trusted internal caller with every scope, ecrId
// auth.CloudID: the relay authenticated its client.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if rc, ok := relayed(c.Request()); ok {
			keepConnection(c)
			return s.serveAs(c, next, auth.Principal{ECRID: auth.CloudID, Name: rc.caller, Scopes: auth.AllScopes()})
		}
		if p, ok := s.authenticateKey(c.Request().Header.Get(KeyHeader)); ok {
			keepConnection(c)
			connlimit.Authenticate(c.Request().Context())
			if err := s.checkSignature(c, p); err != nil {
				return err
			}
			return s.serveAs(c, next, p)
		}
		client := c.RealIP()
		if wait, blocked := s.limit.blocked(client); blocked {
			secs := int(wait/time.Second) + 1
			c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
			return daemon.Errorf(wire.CodeTooManyAttempts, "Too many failed key attempts from %s; retry in %d s.", client, secs)
		}
		s.limit.failed(client)
		return &daemon.Error{Code: wire.CodeInvalidKey, Message: "Key missing, incorrect or revoked (header " + KeyHeader + ")."}
	}
}

// keepConnection takes off the Connection: close frame put on the answer
// of a request whose connection had not presented the key: this request
// presented it.
func keepConnection(c echo.Context) { c.Response().Header().Del(echo.HeaderConnection) }

// serveAs runs an authenticated call for p: the scope its route needs,
// p's ecrId on the request's context (for the calls that start or change
// a transaction, which record it), the call, its audit line.
func (s *Server) serveAs(c echo.Context, next echo.HandlerFunc, p auth.Principal) error {
	if need := routeScope(c.Request().URL.Path); !p.Has(need) {
		s.audit.Record("forbidden", p.ECRID).Str("path", c.Request().URL.Path).Str("scope", string(need)).Send()
		return &daemon.Error{Code: wire.CodeForbidden, Message: "This ECR's credential lacks the scope " +
			strconv.Quote(string(need)) + " this call needs (cashlessd ecr scope on the terminal)."}
	}
	if req := c.Request(); carriesECR(req.URL.Path) {
		c.SetRequest(req.WithContext(daemon.WithECR(req.Context(), p.ECRID)))
	}
	err := next(c)
	if err != nil {
		c.Error(err)
	}
	s.auditCall(c, p)
	return nil
}

// carriesECR reports whether a route's call needs the caller's ecrId on
// its context: every call but the reads that never reach a transaction
// (status, a transaction's lookup, the last receipt, the open holds), so
// a status poll does not copy its request to carry it.
func carriesECR(path string) bool {
	switch path {
	case wire.PathStatus, wire.PathTransaction, wire.PathReceiptLast, wire.PathPreauthList:
		return false
	}
	return true
}

// authenticateKey finds the key's credential.
func (s *Server) authenticateKey(key string) (auth.Principal, bool) {
	if a, ok := s.keys.(Authenticator); ok {
		return a.Authenticate(key)
	}
	if s.keys.Verify(key) {
		return auth.Principal{ECRID: auth.SharedID, Scopes: auth.AllScopes()}, true
	}
	return auth.Principal{}, false
}

// httpStatus maps each error code to its HTTP status.
func httpStatus(code string) int {
	switch code {
	case daemon.CodeInvalidRequest:
		return http.StatusBadRequest
	case wire.CodeInvalidKey, wire.CodeInvalidSignature, wire.CodeInvalidPairingCode:
		return http.StatusUnauthorized
	case wire.CodeForbidden:
		return http.StatusForbidden
	case daemon.CodeCardDeclined:
		return http.StatusPaymentRequired
	case daemon.CodeTransactionNotFound, wire.CodeNotFound:
		return http.StatusNotFound
	case wire.CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case daemon.CodeTerminalBusy, daemon.CodeDuplicateReference, daemon.CodeTransactionCancelled:
		return http.StatusConflict
	case daemon.CodeCancelNotAllowed, daemon.CodeAmountExceedsOriginal, daemon.CodePreauthExpired,
		daemon.CodePreauthCompleted, daemon.CodePrinterUnavailable, daemon.CodePreauthReleased, daemon.CodeVoidNotAllowed:
		return http.StatusUnprocessableEntity
	case wire.CodeTooManyAttempts:
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
		if errors.Is(apiErr, daemon.ErrStillRunning) {
			apiErr = &daemon.Error{Code: apiErr.Code, Message: strings.TrimSuffix(apiErr.Message, ".") +
				"; poll " + wire.PathStatus + " for its outcome."}
		}
	case errors.As(err, &httpErr):
		switch httpErr.Code {
		case http.StatusNotFound:
			apiErr = &daemon.Error{Code: wire.CodeNotFound, Message: "No such endpoint; see /cashless/v1/…"}
		case http.StatusMethodNotAllowed:
			apiErr = &daemon.Error{Code: wire.CodeMethodNotAllowed, Message: "Every Cashless API call is POST with a JSON body."}
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
	_ = c.JSON(status, wire.ErrorResponse{Error: wire.Error{Code: apiErr.Code, Message: apiErr.Message}})
}

// logRequests runs next and writes one JSON log line for the request:
// request ID, method, path, status, latency and the ECR's reference. Never
// a body. An error of next is answered here.
func (s *Server) logRequests(c echo.Context, requestID string, next echo.HandlerFunc) error {
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
	level := zerolog.InfoLevel
	if c.Request().URL.Path == wire.PathStatus && res.Status == http.StatusOK {
		level = zerolog.DebugLevel // ECRs poll status in tight loops
	}
	if res.Status >= 500 {
		level = zerolog.WarnLevel
	}
	ev := s.log.WithLevel(level)
	if ev == nil {
		return nil // the level is off: nothing to build
	}
	ev = ev.Str("requestId", requestID).
		Str("method", c.Request().Method).
		Str("path", c.Request().URL.Path).
		Int("status", res.Status).
		Dur("latency", time.Since(start)).
		Str("remote", c.RealIP())
	if ref, ok := c.Get("reference").(string); ok && ref != "" {
		ev = ev.Str("reference", ref)
	}
	if rc, ok := relayed(c.Request()); ok {
		ev = ev.Str("via", "cloud").Str("caller", rc.caller)
	}
	ev.Msg("request")
	return nil
}
