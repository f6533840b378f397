package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/vinr/cashlessd/cloud/clock"
	"github.com/vinr/cashlessd/cloud/store"
)

// Token lifetimes.
const (
	AccessLifetime  = 15 * time.Minute
	RefreshLifetime = 12 * time.Hour
)

// Token kinds.
const (
	KindAccess  = "access"
	KindRefresh = "refresh"
)

// Errors of token checks, each with its Fiuu code in the caller.
var (
	ErrTokenInvalid = errors.New("token invalid or missing")
	ErrTokenExpired = errors.New("token expired")
	ErrSessionEnded = errors.New("session expired or logged out")
	ErrWrongKind    = errors.New("wrong kind of token")
)

// Claims are what a token says.
type Claims struct {
	Session    string `json:"sid"`
	PosID      string `json:"pos"`
	MerchantID string `json:"mer"`
	Kind       string `json:"typ"`
	IssuedAt   int64  `json:"iat"`
	ExpiresAt  int64  `json:"exp"`
}

// Issued is a pair of tokens and when each expires.
type Issued struct {
	Access, Refresh                   string
	AccessExpiresAt, RefreshExpiresAt time.Time
}

// Sessions issues and checks tokens. A token is signed (HMAC-SHA256 with a
// key derived from the relay key) and valid while it has not expired and
// its session still exists.
type Sessions struct {
	keys  *Keyring
	store *store.Store
	clock clock.Clock
}

// NewSessions makes the token service.
func NewSessions(k *Keyring, s *store.Store, c clock.Clock) *Sessions {
	return &Sessions{keys: k, store: s, clock: c}
}

// Start opens a session for a POS and issues its first tokens.
func (s *Sessions) Start(ctx context.Context, posID, merchantID string) (Issued, error) {
	id, err := RandomSecret("", 16)
	if err != nil {
		return Issued{}, err
	}
	return s.issue(ctx, store.Session{ID: id, PosID: posID, MerchantID: merchantID})
}

// Refresh issues new tokens in the session of a valid refresh token. The
// old access token stays valid until it expires.
func (s *Sessions) Refresh(ctx context.Context, refreshToken string) (Issued, error) {
	_, sess, err := s.Check(ctx, refreshToken, KindRefresh)
	if err != nil {
		return Issued{}, err
	}
	return s.issue(ctx, sess)
}

// End deletes the session of a valid token (logout): all its tokens stop.
func (s *Sessions) End(ctx context.Context, token string) error {
	c, _, err := s.Check(ctx, token, "")
	if err != nil {
		return err
	}
	return s.store.DeleteSession(ctx, c.Session)
}

func (s *Sessions) issue(ctx context.Context, sess store.Session) (Issued, error) {
	now := s.clock.Now()
	out := Issued{AccessExpiresAt: now.Add(AccessLifetime), RefreshExpiresAt: now.Add(RefreshLifetime)}
	sess.ExpiresAt = out.RefreshExpiresAt
	if err := s.store.PutSession(ctx, sess); err != nil {
		return Issued{}, err
	}
	base := Claims{Session: sess.ID, PosID: sess.PosID, MerchantID: sess.MerchantID, IssuedAt: now.Unix()}
	a, r := base, base
	a.Kind, a.ExpiresAt = KindAccess, out.AccessExpiresAt.UnixMilli()
	r.Kind, r.ExpiresAt = KindRefresh, out.RefreshExpiresAt.UnixMilli()
	out.Access, out.Refresh = s.sign(a), s.sign(r)
	return out, nil
}

func (s *Sessions) sign(c Claims) string {
	b, _ := json.Marshal(c)
	body := base64.RawURLEncoding.EncodeToString(b)
	m := hmac.New(sha256.New, s.keys.signing)
	m.Write([]byte(body))
	return "ct1." + body + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Check verifies a token of the given kind ("" for either) and that its
// session is alive.
func (s *Sessions) Check(ctx context.Context, token, kind string) (Claims, store.Session, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[0] != "ct1" {
		return Claims{}, store.Session{}, ErrTokenInvalid
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return Claims{}, store.Session{}, ErrTokenInvalid
	}
	m := hmac.New(sha256.New, s.keys.signing)
	m.Write([]byte(parts[1]))
	if !hmac.Equal(m.Sum(nil), sig) {
		return Claims{}, store.Session{}, ErrTokenInvalid
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	var c Claims
	if err != nil || json.Unmarshal(raw, &c) != nil {
		return Claims{}, store.Session{}, ErrTokenInvalid
	}
	if kind != "" && c.Kind != kind {
		return Claims{}, store.Session{}, ErrWrongKind
	}
	now := s.clock.Now()
	if now.UnixMilli() >= c.ExpiresAt {
		return Claims{}, store.Session{}, ErrTokenExpired
	}
	sess, err := s.store.Session(ctx, c.Session)
	if errors.Is(err, store.ErrNotFound) || err == nil && !now.Before(sess.ExpiresAt) {
		return Claims{}, store.Session{}, ErrSessionEnded
	}
	if err != nil {
		return Claims{}, store.Session{}, err
	}
	return c, sess, nil
}
