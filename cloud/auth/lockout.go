package auth

import (
	"context"
	"errors"
	"time"

	"github.com/vinr/cashlessd/cloud/clock"
	"github.com/vinr/cashlessd/cloud/store"
)

// Lockout rules: MaxFailures failed logins of one account from one client
// address within Window lock that pair for LockFor. Other clients of the
// same account are not affected, so nobody can lock a POS out by guessing
// its password from elsewhere.
const (
	MaxFailures = 5
	Window      = 15 * time.Minute
	LockFor     = 15 * time.Minute
)

// Lockout counts failed logins per account and client.
type Lockout struct {
	store *store.Store
	clock clock.Clock
}

// NewLockout makes the counter.
func NewLockout(s *store.Store, c clock.Clock) *Lockout { return &Lockout{store: s, clock: c} }

// Locked reports whether the pair is locked now.
func (l *Lockout) Locked(ctx context.Context, posID, client string) (bool, error) {
	f, _, err := l.store.LoginFailures(ctx, posID, client)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return l.clock.Now().Before(f.LockedUntil), nil
}

// Failed records a failure and reports whether the pair is now locked.
func (l *Lockout) Failed(ctx context.Context, posID, client string) (bool, error) {
	now := l.clock.Now()
	f, _, err := l.store.LoginFailures(ctx, posID, client)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	if now.Sub(f.First) > Window {
		f = store.LoginFailures{First: now}
	}
	f.Count++
	if f.Count >= MaxFailures {
		f.LockedUntil = now.Add(LockFor)
	}
	return f.Count >= MaxFailures, l.store.PutLoginFailures(ctx, posID, client, f)
}

// Succeeded forgets the failures of the pair.
func (l *Lockout) Succeeded(ctx context.Context, posID, client string) error {
	return l.store.ClearLoginFailures(ctx, posID, client)
}
