// Package accounts manages the relay's accounts (channel, sub-channel,
// merchant) and the POS credentials under merchants: creating them with
// secrets shown once, rotating and disabling them, checking a login, and
// deciding which merchants' terminals an account may reach.
package accounts

import (
	"context"
	"errors"
	"fmt"

	"github.com/vinr/cashlessd/cloud/auth"
	"github.com/vinr/cashlessd/cloud/clock"
	"github.com/vinr/cashlessd/cloud/store"
	"github.com/vinr/cashlessd/relaylink"
)

// Errors of the account service.
var (
	ErrBadCredentials = errors.New("unknown POS or wrong password")
	ErrDisabled       = errors.New("account disabled")
)

// Service is the account service.
type Service struct {
	store *store.Store
	keys  *auth.Keyring
	clock clock.Clock
}

// New makes the service.
func New(s *store.Store, k *auth.Keyring, c clock.Clock) *Service {
	return &Service{store: s, keys: k, clock: c}
}

// AddAccount creates an account and returns its API key (shown once).
func (s *Service) AddAccount(ctx context.Context, id, kind, parent, name string) (string, error) {
	if err := relaylink.ValidTerminalID(id); err != nil {
		return "", fmt.Errorf("account ID: %w", err)
	}
	switch kind {
	case store.KindChannel:
		if parent != "" {
			return "", errors.New("a channel has no parent")
		}
	case store.KindSubChannel, store.KindMerchant:
		if parent != "" {
			p, err := s.store.Account(ctx, parent)
			if err != nil {
				return "", fmt.Errorf("parent %q: %w", parent, err)
			}
			if p.Kind == store.KindMerchant || kind == store.KindSubChannel && p.Kind != store.KindChannel {
				return "", fmt.Errorf("a %s cannot sit under a %s", kind, p.Kind)
			}
		} else if kind == store.KindSubChannel {
			return "", errors.New("a sub-channel needs a parent channel")
		}
	default:
		return "", fmt.Errorf("kind %q: want channel, sub-channel or merchant", kind)
	}
	key, err := auth.RandomSecret("ck_live_", 24)
	if err != nil {
		return "", err
	}
	a := store.Account{ID: id, Kind: kind, Parent: parent, Name: name, APIKeyHash: auth.HashAPIKey(key), CreatedAt: s.clock.Now()}
	if err := s.store.CreateAccount(ctx, a); err != nil {
		return "", fmt.Errorf("account %q: %w", id, err)
	}
	return key, nil
}

// SetAccountDisabled disables or enables an account.
func (s *Service) SetAccountDisabled(ctx context.Context, id string, disabled bool) error {
	a, err := s.store.Account(ctx, id)
	if err != nil {
		return fmt.Errorf("account %q: %w", id, err)
	}
	a.Disabled = disabled
	return s.store.PutAccount(ctx, a)
}

// Accounts lists the accounts.
func (s *Service) Accounts(ctx context.Context) ([]store.Account, error) {
	return s.store.Accounts(ctx)
}

// ByAPIKey finds the enabled account of an API key.
func (s *Service) ByAPIKey(ctx context.Context, key string) (store.Account, error) {
	a, err := s.store.AccountByAPIKeyHash(ctx, auth.HashAPIKey(key))
	if err != nil {
		return a, err
	}
	if a.Disabled {
		return a, ErrDisabled
	}
	return a, nil
}

// POSSecrets are a POS credential's password and signing secret.
type POSSecrets struct {
	Password string
	Secret   string
}

// AddPOS creates a POS credential under a merchant with new secrets
// (returned once). Given secrets (simulator mode) are used as they are.
func (s *Service) AddPOS(ctx context.Context, posID, merchantID string, given *POSSecrets) (POSSecrets, error) {
	if posID == "" || len(posID) > 24 {
		return POSSecrets{}, errors.New("posId must be 1 to 24 characters")
	}
	m, err := s.store.Account(ctx, merchantID)
	if err != nil {
		return POSSecrets{}, fmt.Errorf("merchant %q: %w", merchantID, err)
	}
	if m.Kind != store.KindMerchant {
		return POSSecrets{}, fmt.Errorf("%q is a %s, not a merchant", merchantID, m.Kind)
	}
	var sec POSSecrets
	if given != nil {
		sec = *given
	} else {
		if sec.Password, err = auth.RandomSecret("ck_pw_", 16); err != nil {
			return sec, err
		}
		if sec.Secret, err = newSigningSecret(); err != nil {
			return sec, err
		}
	}
	salt, hash, err := auth.HashPassword(sec.Password)
	if err != nil {
		return sec, err
	}
	sealed, err := s.keys.Seal([]byte(sec.Secret))
	if err != nil {
		return sec, err
	}
	p := store.POS{PosID: posID, MerchantID: merchantID, PasswordSalt: salt, PasswordHash: hash, SecretSealed: sealed, CreatedAt: s.clock.Now()}
	if err := s.store.CreatePOS(ctx, p); err != nil {
		return sec, fmt.Errorf("POS %q: %w", posID, err)
	}
	return sec, nil
}

// newSigningSecret is 32 uppercase hex digits, the form of Fiuu's secrets.
func newSigningSecret() (string, error) {
	s, err := auth.RandomSecret("", 16)
	if err != nil {
		return "", err
	}
	out := []byte(s)
	for i, c := range out {
		if c >= 'a' && c <= 'f' {
			out[i] = c - 'a' + 'A'
		}
	}
	return string(out), nil
}

// RotateSecret gives a POS a new signing secret (returned once).
func (s *Service) RotateSecret(ctx context.Context, posID string) (string, error) {
	p, err := s.store.POS(ctx, posID)
	if err != nil {
		return "", fmt.Errorf("POS %q: %w", posID, err)
	}
	secret, err := newSigningSecret()
	if err != nil {
		return "", err
	}
	if p.SecretSealed, err = s.keys.Seal([]byte(secret)); err != nil {
		return "", err
	}
	return secret, s.store.PutPOS(ctx, p)
}

// SetPOSDisabled disables or enables a POS credential.
func (s *Service) SetPOSDisabled(ctx context.Context, posID string, disabled bool) error {
	p, err := s.store.POS(ctx, posID)
	if err != nil {
		return fmt.Errorf("POS %q: %w", posID, err)
	}
	p.Disabled = disabled
	return s.store.PutPOS(ctx, p)
}

// Login checks a POS's password; the POS and its merchant must be enabled.
func (s *Service) Login(ctx context.Context, posID, password string) (store.POS, error) {
	p, err := s.store.POS(ctx, posID)
	if errors.Is(err, store.ErrNotFound) {
		auth.CheckPassword(make([]byte, 16), make([]byte, 32), password)
		return p, ErrBadCredentials
	}
	if err != nil {
		return p, err
	}
	if !auth.CheckPassword(p.PasswordSalt, p.PasswordHash, password) {
		return p, ErrBadCredentials
	}
	if p.Disabled {
		return p, ErrDisabled
	}
	if m, err := s.store.Account(ctx, p.MerchantID); err != nil || m.Disabled {
		return p, ErrDisabled
	}
	return p, nil
}

// Secret is a POS's signing secret, unsealed.
func (s *Service) Secret(p store.POS) ([]byte, error) { return s.keys.Open(p.SecretSealed) }

// POS reads an enabled POS credential.
func (s *Service) POS(ctx context.Context, posID string) (store.POS, error) {
	p, err := s.store.POS(ctx, posID)
	if err == nil && p.Disabled {
		return p, ErrDisabled
	}
	return p, err
}

// Reaches reports whether an account may see and drive a merchant's
// terminals: the merchant itself, or a channel or sub-channel above it.
// A disabled account on the way reaches nothing.
func (s *Service) Reaches(ctx context.Context, accountID, merchantID string) (bool, error) {
	id := merchantID
	for range 4 {
		a, err := s.store.Account(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if a.Disabled {
			return false, nil
		}
		if a.ID == accountID {
			return true, nil
		}
		if a.Parent == "" {
			return false, nil
		}
		id = a.Parent
	}
	return false, nil
}

// EnsureSimulator creates the simulator merchant and POS if missing.
func (s *Service) EnsureSimulator(ctx context.Context, merchantID, posID string, sec POSSecrets) error {
	if _, err := s.store.Account(ctx, merchantID); errors.Is(err, store.ErrNotFound) {
		if _, err := s.AddAccount(ctx, merchantID, store.KindMerchant, "", "Simulator merchant"); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	if _, err := s.store.POS(ctx, posID); errors.Is(err, store.ErrNotFound) {
		_, err = s.AddPOS(ctx, posID, merchantID, &sec)
		return err
	} else if err != nil {
		return err
	}
	return nil
}
