package api

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/api/wire"
	"github.com/vinr/cashlessd/daemon/auth"
)

// Authenticator finds the credential a key belongs to (*auth.Keys). A
// KeyVerifier that is not one authenticates every right key as the shared
// key, with every scope.
type Authenticator interface {
	Authenticate(key string) (auth.Principal, bool)
}

// Pairer redeems pairing codes (*auth.Keys).
type Pairer interface {
	Pair(code, name string, signedRequests bool) (auth.Paired, error)
}

// routeScope is the scope a route needs.
func routeScope(path string) auth.Scope {
	switch path {
	case wire.PathRefund, wire.PathVoid:
		return auth.ScopeRefunds
	case wire.PathBatchClose:
		return auth.ScopeAdmin
	}
	return auth.ScopePayments
}

// signatureWindow is how far a signed request's timestamp may be from the
// terminal's clock, either way.
const signatureWindow = 5 * time.Minute

// maxNonces bounds the nonces remembered: 100 000 in ten minutes is far
// more than one terminal serves.
const maxNonces = 100_000

// nonceCache remembers the nonces of signed requests for as long as their
// timestamps are inside the window, so none is accepted twice.
type nonceCache struct {
	mu   sync.Mutex
	seen map[string]time.Time // ecrId NUL nonce → forget after
}

// use records a nonce; false when it was seen (or the cache is full of
// nonces still in their window).
func (n *nonceCache) use(ecrID, nonce string, now time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.seen == nil {
		n.seen = map[string]time.Time{}
	}
	k := ecrID + "\x00" + nonce
	if until, ok := n.seen[k]; ok && now.Before(until) {
		return false
	}
	if len(n.seen) >= maxNonces {
		for key, until := range n.seen {
			if !now.Before(until) {
				delete(n.seen, key)
			}
		}
		if len(n.seen) >= maxNonces {
			return false
		}
	}
	n.seen[k] = now.Add(2 * signatureWindow)
	return true
}

// validNonce: 16 to 64 characters of [A-Za-z0-9_-].
func validNonce(s string) bool {
	if len(s) < 16 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r == '_' || r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r))) {
			return false
		}
	}
	return true
}

// checkSignature verifies a signed request (required by the credential,
// or signed anyway): the timestamp inside the window, the signature over
// the canonical string, and a nonce never seen. The body is read and put
// back for the handler.
func (s *Server) checkSignature(c echo.Context, p auth.Principal) error {
	req := c.Request()
	sig := req.Header.Get(wire.SignatureHeader)
	if sig == "" && !p.RequireSignature {
		return nil
	}
	bad := func(why string) error {
		return &daemon.Error{Code: wire.CodeInvalidSignature, Message: why}
	}
	if sig == "" {
		return bad("This ECR's requests must be signed (header " + wire.SignatureHeader + ").")
	}
	ts, nonce := req.Header.Get(wire.TimestampHeader), req.Header.Get(wire.NonceHeader)
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return bad("A signed request needs " + wire.TimestampHeader + " in Unix seconds.")
	}
	if !validNonce(nonce) {
		return bad("A signed request needs " + wire.NonceHeader + ": 16 to 64 characters of A-Z, a-z, 0-9, - and _.")
	}
	now := time.Now()
	if d := now.Sub(time.Unix(secs, 0)); math.Abs(float64(d)) > float64(signatureWindow) {
		return bad("The request's timestamp is more than 5 minutes from the terminal's clock (" +
			now.UTC().Format(time.RFC3339) + ").")
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		var tooLarge *echo.HTTPError
		if errors.As(err, &tooLarge) {
			return tooLarge
		}
		return invalid("the request body could not be read")
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	// The key that matched signs: its SHA-256 is the HMAC key, worked
	// out only for a request that is signed.
	want := wire.Sign(wire.SigningKey(req.Header.Get(KeyHeader)), req.Method, req.URL.Path, ts, nonce, body)
	if !hmacEqual(sig, want) {
		return bad("The signature does not match the request (see README \"Signed requests\").")
	}
	if !s.nonces.use(p.ECRID, nonce, now) {
		return bad("This nonce was already used: every signed request needs a new one.")
	}
	return nil
}

// hmacEqual compares two hex signatures in constant time, case-blind.
func hmacEqual(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(strings.ToLower(got)), []byte(want)) == 1
}

// pairLimiter bounds pairing attempts, right or wrong, per client address
// and over all addresses together: every attempt takes a token from both
// buckets, atomically, before the code is looked at, so parallel requests
// cannot get past the limit. See README "Pairing" for the arithmetic.
type pairLimiter struct {
	mu      sync.Mutex
	global  *rate.Limiter
	clients *failedKeyLimiter

	// Refused attempts are audited at most once per auditEvery, with
	// their count, so a flood cannot rotate the audit log's history away.
	refused   int
	auditedAt time.Time
}

// auditEvery spaces the audit lines of refused pairing attempts.
const auditEvery = time.Minute

// refusedNow counts one refused attempt and returns how many to audit
// now (0: not yet).
func (l *pairLimiter) refusedNow() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refused++
	now := time.Now()
	if now.Sub(l.auditedAt) < auditEvery {
		return 0
	}
	n := l.refused
	l.refused, l.auditedAt = 0, now
	return n
}

// Pairing limits: per client address PairClientBurst attempts, then one
// per PairClientEvery; over every address together PairGlobalBurst, then
// one per PairGlobalEvery. Over a code's default 10 minutes at most
// 10 + 600/3 = 210 codes can be tried, against 32^8 (about 1.1e12)
// possible codes: one chance in 5.2e9 (README "Pairing").
const (
	PairClientEvery = 10 * time.Second
	PairClientBurst = 5
	PairGlobalEvery = 3 * time.Second
	PairGlobalBurst = 10
)

func newPairLimiter() *pairLimiter {
	return &pairLimiter{global: rate.NewLimiter(rate.Every(PairGlobalEvery), PairGlobalBurst),
		clients: newFailedKeyLimiter(PairClientEvery, PairClientBurst)}
}

// take spends one attempt for client, or says how long to wait.
func (l *pairLimiter) take(client string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if wait, blocked := l.clients.blocked(client); blocked {
		return wait, false
	}
	now := time.Now()
	if tokens := l.global.TokensAt(now); tokens < 1 {
		return time.Duration(math.Ceil((1 - tokens) * float64(PairGlobalEvery))), false
	}
	l.global.AllowN(now, 1)
	l.clients.failed(client)
	return 0, true
}

// auditCall writes the audit line of a transaction call: who, what, the
// reference and the HTTP status; status polls and reads are left out.
func (s *Server) auditCall(c echo.Context, p auth.Principal) {
	path := c.Request().URL.Path
	switch path {
	case wire.PathStatus, wire.PathTransaction, wire.PathReceiptLast, wire.PathPreauthList, wire.PathEvents:
		return
	}
	ref, _ := c.Get("reference").(string)
	s.audit.Record("request", p.ECRID).Str("path", path).Str("reference", ref).Int("status", c.Response().Status).Send()
}

// maxECRName bounds an ECR's name.
const maxECRName = 64

// pair redeems a one-time pairing code for the ECR's own credential: no
// key needed, every attempt rate-limited.
func (s *Server) pair(c echo.Context) error {
	if _, ok := relayed(c.Request()); ok {
		// A code read off the terminal proves presence in the shop; through
		// the relay it would let anyone who learns a code pair from anywhere.
		return &daemon.Error{Code: wire.CodeForbidden, Message: "Pairing is done on the terminal's LAN, not through the cloud."}
	}
	client := c.RealIP()
	if wait, ok := s.pairLimit.take(client); !ok {
		secs := int(wait/time.Second) + 1
		c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
		if n := s.pairLimit.refusedNow(); n > 0 {
			s.audit.Record("pair_refused", "").Str("client", client).Str("reason", "rate_limited").Int("count", n).Send()
		}
		return daemon.Errorf(wire.CodeTooManyAttempts, "Too many pairing attempts; retry in %d s.", secs)
	}
	var r wire.PairRequest
	if err := decode(c, &r); err != nil {
		return err
	}
	var missing []string
	if r.Code == nil {
		missing = append(missing, "code")
	}
	if r.Name == nil {
		missing = append(missing, "name")
	}
	if len(missing) > 0 {
		return invalid(strings.Join(missing, ", ") + ": required")
	}
	name := strings.TrimSpace(*r.Name)
	if name == "" || utf8.RuneCountInString(name) > maxECRName || strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return invalid("name: 1 to 64 printable characters")
	}
	if s.pairer == nil {
		return &daemon.Error{Code: wire.CodeInvalidPairingCode, Message: "This terminal does not pair ECRs."}
	}
	signed := r.SignedRequests != nil && *r.SignedRequests
	done, err := s.pairer.Pair(*r.Code, name, signed)
	if errors.Is(err, auth.ErrBadCode) {
		s.audit.Record("pair_refused", "").Str("client", client).Str("reason", "bad_code").Send()
		return &daemon.Error{Code: wire.CodeInvalidPairingCode, Message: "The pairing code is wrong, expired or already used; " +
			"ask for a new one on the terminal (cashlessd pair)."}
	}
	if err != nil {
		return err
	}
	scopes := make([]string, len(done.ECR.Scopes))
	for i, sc := range done.ECR.Scopes {
		scopes[i] = string(sc)
	}
	s.audit.Record("ecr_paired", done.ECR.ID).Str("name", name).Str("client", client).Strs("scopes", scopes).Send()
	if s.onPaired != nil {
		s.onPaired()
	}
	var fp, kp string
	if s.fingerprint != nil {
		fp = s.fingerprint()
	}
	if s.keyPrint != nil {
		kp = s.keyPrint()
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, wire.PairResponse{EcrID: done.ECR.ID, Key: done.Key, Scopes: scopes,
		SignedRequests: done.ECR.SignedRequests, CertificateSHA256: fp, PublicKeySHA256: kp, TerminalID: s.engine.Config().TerminalID})
}
