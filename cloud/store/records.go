package store

import (
	"context"
	"encoding/json"
	"time"
)

// Account kinds (Poplapay's levels).
const (
	KindChannel    = "channel"
	KindSubChannel = "sub-channel"
	KindMerchant   = "merchant"
)

// Account is a channel, sub-channel or merchant. A merchant's ID is the
// Fiuu merchantId its POS credentials carry.
type Account struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	Parent   string `json:"parent,omitempty"`
	Name     string `json:"name"`
	Disabled bool   `json:"disabled"`
	// APIKeyHash is the SHA-256 of the account's API key, hex.
	APIKeyHash string    `json:"apiKeyHash"`
	CreatedAt  time.Time `json:"createdAt"`
}

// POS is a POS credential under a merchant (Fiuu's posId).
type POS struct {
	PosID        string `json:"posId"`
	MerchantID   string `json:"merchantId"`
	PasswordSalt []byte `json:"passwordSalt"`
	PasswordHash []byte `json:"passwordHash"`
	// SecretSealed is the signing secret sealed with the relay's seal key.
	SecretSealed []byte    `json:"secretSealed"`
	Disabled     bool      `json:"disabled"`
	CreatedAt    time.Time `json:"createdAt"`
}

// Session is one login: its tokens are valid while it exists and has not
// expired. Logout deletes it.
type Session struct {
	ID         string    `json:"id"`
	PosID      string    `json:"posId"`
	MerchantID string    `json:"merchantId"`
	ExpiresAt  time.Time `json:"expiresAt"`
}

// BindKey is a one-time key to bind a terminal to a merchant.
type BindKey struct {
	Key        string    `json:"key"`
	MerchantID string    `json:"merchantId"`
	PosID      string    `json:"posId"`
	ExpiresAt  time.Time `json:"expiresAt"`
	UsedBy     string    `json:"usedBy,omitempty"`
}

// Binding ties a terminal ID and its NKey to a merchant. Unbound is set
// when the binding was dropped (the record stays, so a simulator terminal
// is not enrolled again by itself).
type Binding struct {
	TerminalID      string    `json:"terminalId"`
	PublicKey       string    `json:"publicKey"`
	MerchantID      string    `json:"merchantId"`
	Model           string    `json:"model,omitempty"`
	SoftwareVersion string    `json:"softwareVersion,omitempty"`
	BoundAt         time.Time `json:"boundAt"`
	Unbound         bool      `json:"unbound,omitempty"`
}

// Transfer states.
const (
	TransferRunning = "running"
	TransferDone    = "done"
)

// Transfer is one Fiuu transfer by (merchant, transType, referenceId): the
// parameters it was asked with and, once known, the answer it got.
type Transfer struct {
	MerchantID        string `json:"merchantId"`
	PosID             string `json:"posId"`
	ReferenceID       string `json:"referenceId"`
	TransType         string `json:"transType"`
	DeviceID          string `json:"deviceId"`
	ParamsHash        string `json:"paramsHash"`
	TerminalReference string `json:"terminalReference"`
	// Endpoint and Request are the Cashless API call the transfer makes
	// (amounts and references only), kept to send it again.
	Endpoint   string          `json:"endpoint,omitempty"`
	Request    json.RawMessage `json:"request,omitempty"`
	State      string          `json:"state"`
	HTTPStatus int             `json:"httpStatus,omitempty"`
	Answer     json.RawMessage `json:"answer,omitempty"`
	CreatedAt  time.Time       `json:"createdAt"`
	UpdatedAt  time.Time       `json:"updatedAt"`
}

// LoginFailures counts failed logins of one account from one client.
type LoginFailures struct {
	Count       int       `json:"count"`
	First       time.Time `json:"first"`
	LockedUntil time.Time `json:"lockedUntil"`
}

// Account reads an account.
func (s *Store) Account(ctx context.Context, id string) (Account, error) {
	a, _, err := get[Account](ctx, s.accounts, "a."+Key(id))
	return a, err
}

// AccountByAPIKeyHash finds the account of an API key.
func (s *Store) AccountByAPIKeyHash(ctx context.Context, hash string) (Account, error) {
	id, _, err := get[string](ctx, s.accounts, "k."+hash)
	if err != nil {
		return Account{}, err
	}
	return s.Account(ctx, id)
}

// CreateAccount stores a new account; ErrExists if the ID is taken.
func (s *Store) CreateAccount(ctx context.Context, a Account) error {
	if _, err := create(ctx, s.accounts, "a."+Key(a.ID), a); err != nil {
		return err
	}
	return put(ctx, s.accounts, "k."+a.APIKeyHash, a.ID)
}

// PutAccount replaces an account.
func (s *Store) PutAccount(ctx context.Context, a Account) error {
	return put(ctx, s.accounts, "a."+Key(a.ID), a)
}

// Accounts lists every account.
func (s *Store) Accounts(ctx context.Context) ([]Account, error) {
	return listPrefix[Account](ctx, s.accounts, "a.")
}

// POS reads a POS credential.
func (s *Store) POS(ctx context.Context, posID string) (POS, error) {
	p, _, err := get[POS](ctx, s.pos, Key(posID))
	return p, err
}

// CreatePOS stores a new POS credential; ErrExists if the ID is taken.
func (s *Store) CreatePOS(ctx context.Context, p POS) error {
	_, err := create(ctx, s.pos, Key(p.PosID), p)
	return err
}

// PutPOS replaces a POS credential.
func (s *Store) PutPOS(ctx context.Context, p POS) error {
	return put(ctx, s.pos, Key(p.PosID), p)
}

// Session reads a session.
func (s *Store) Session(ctx context.Context, id string) (Session, error) {
	v, _, err := get[Session](ctx, s.sessions, Key(id))
	return v, err
}

// PutSession stores a session.
func (s *Store) PutSession(ctx context.Context, v Session) error {
	return put(ctx, s.sessions, Key(v.ID), v)
}

// DeleteSession ends a session.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	return del(ctx, s.sessions, Key(id))
}

// CreateBindKey stores a new bind key.
func (s *Store) CreateBindKey(ctx context.Context, k BindKey) error {
	_, err := create(ctx, s.bindKeys, Key(k.Key), k)
	return err
}

// UseBindKey marks a key used by a terminal, exactly once: the returned key
// is as it was before. ErrNotFound for an unknown key, ErrConflict when
// another use won the race.
func (s *Store) UseBindKey(ctx context.Context, key, terminalID string, valid func(BindKey) error) (BindKey, error) {
	k, rev, err := get[BindKey](ctx, s.bindKeys, Key(key))
	if err != nil {
		return k, err
	}
	if err := valid(k); err != nil {
		return k, err
	}
	used := k
	used.UsedBy = terminalID
	_, err = update(ctx, s.bindKeys, Key(key), used, rev)
	return k, err
}

// Binding reads a terminal's binding.
func (s *Store) Binding(ctx context.Context, terminalID string) (Binding, error) {
	b, _, err := get[Binding](ctx, s.bindings, "t."+Key(terminalID))
	return b, err
}

// BindingByKey reads the binding a terminal's public key holds.
func (s *Store) BindingByKey(ctx context.Context, publicKey string) (Binding, error) {
	id, _, err := get[string](ctx, s.bindings, "k."+Key(publicKey))
	if err != nil {
		return Binding{}, err
	}
	b, err := s.Binding(ctx, id)
	if err == nil && (b.Unbound || b.PublicKey != publicKey) {
		return Binding{}, ErrNotFound
	}
	return b, err
}

// PutBinding stores a binding and its key index, dropping the index of the
// key it replaces.
func (s *Store) PutBinding(ctx context.Context, b Binding) error {
	old, _, err := get[Binding](ctx, s.bindings, "t."+Key(b.TerminalID))
	if err == nil && old.PublicKey != "" && old.PublicKey != b.PublicKey {
		if err := del(ctx, s.bindings, "k."+Key(old.PublicKey)); err != nil {
			return err
		}
	}
	if err == nil && old.MerchantID != b.MerchantID {
		if err := del(ctx, s.bindings, merchantIndex(old.MerchantID, old.TerminalID)); err != nil {
			return err
		}
	}
	if err := put(ctx, s.bindings, "t."+Key(b.TerminalID), b); err != nil {
		return err
	}
	if b.Unbound {
		if err := del(ctx, s.bindings, merchantIndex(b.MerchantID, b.TerminalID)); err != nil {
			return err
		}
		return del(ctx, s.bindings, "k."+Key(b.PublicKey))
	}
	if err := put(ctx, s.bindings, merchantIndex(b.MerchantID, b.TerminalID), b.TerminalID); err != nil {
		return err
	}
	return put(ctx, s.bindings, "k."+Key(b.PublicKey), b.TerminalID)
}

func merchantIndex(merchantID, terminalID string) string {
	return "m." + Key(merchantID) + "." + Key(terminalID)
}

// MerchantTerminals lists the terminals bound to a merchant.
func (s *Store) MerchantTerminals(ctx context.Context, merchantID string) ([]Binding, error) {
	ids, err := listPrefix[string](ctx, s.bindings, "m."+Key(merchantID)+".")
	if err != nil {
		return nil, err
	}
	out := make([]Binding, 0, len(ids))
	for _, id := range ids {
		b, err := s.Binding(ctx, id)
		if err == ErrNotFound || err == nil && (b.Unbound || b.MerchantID != merchantID) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// Bindings lists every terminal's binding, bound or not.
func (s *Store) Bindings(ctx context.Context) ([]Binding, error) {
	return listPrefix[Binding](ctx, s.bindings, "t.")
}

// Prebound lists the terminals a merchant prebound.
func (s *Store) Prebound(ctx context.Context, merchantID string) ([]string, error) {
	ids, _, err := get[[]string](ctx, s.prebind, "m."+Key(merchantID))
	if err == ErrNotFound {
		return []string{}, nil
	}
	return ids, err
}

// PrebindMerchant tells which merchant prebound a terminal.
func (s *Store) PrebindMerchant(ctx context.Context, terminalID string) (string, error) {
	m, _, err := get[string](ctx, s.prebind, "t."+Key(terminalID))
	return m, err
}

// SetPrebound replaces a merchant's prebind list.
func (s *Store) SetPrebound(ctx context.Context, merchantID string, ids []string) error {
	old, err := s.Prebound(ctx, merchantID)
	if err != nil {
		return err
	}
	for _, id := range old {
		if m, err := s.PrebindMerchant(ctx, id); err == nil && m == merchantID {
			if err := del(ctx, s.prebind, "t."+Key(id)); err != nil {
				return err
			}
		}
	}
	for _, id := range ids {
		if err := put(ctx, s.prebind, "t."+Key(id), merchantID); err != nil {
			return err
		}
	}
	return put(ctx, s.prebind, "m."+Key(merchantID), ids)
}

// DropPrebound removes one terminal from its merchant's list (it bound).
func (s *Store) DropPrebound(ctx context.Context, terminalID string) error {
	m, err := s.PrebindMerchant(ctx, terminalID)
	if err == ErrNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	ids, err := s.Prebound(ctx, m)
	if err != nil {
		return err
	}
	kept := ids[:0:0]
	for _, id := range ids {
		if id != terminalID {
			kept = append(kept, id)
		}
	}
	return s.SetPrebound(ctx, m, kept)
}

func transferKey(merchantID, transType, referenceID string) string {
	return Key(merchantID, transType, referenceID)
}

// Transfer reads a transfer and its revision.
func (s *Store) Transfer(ctx context.Context, merchantID, transType, referenceID string) (Transfer, uint64, error) {
	return get[Transfer](ctx, s.transfers, transferKey(merchantID, transType, referenceID))
}

// CreateTransfer claims a referenceId: ErrExists when another request
// already holds it (on this relay or another).
func (s *Store) CreateTransfer(ctx context.Context, t Transfer) (uint64, error) {
	return create(ctx, s.transfers, transferKey(t.MerchantID, t.TransType, t.ReferenceID), t)
}

// UpdateTransfer replaces a transfer if it is still at revision rev.
func (s *Store) UpdateTransfer(ctx context.Context, t Transfer, rev uint64) (uint64, error) {
	return update(ctx, s.transfers, transferKey(t.MerchantID, t.TransType, t.ReferenceID), t, rev)
}

// DeleteTransfer forgets a transfer that never reached a terminal.
func (s *Store) DeleteTransfer(ctx context.Context, t Transfer) error {
	return del(ctx, s.transfers, transferKey(t.MerchantID, t.TransType, t.ReferenceID))
}

// LastTransfer is the key of the last transfer per merchant and terminal.
func lastKey(merchantID, deviceID string) string { return "last." + Key(merchantID, deviceID) }

// SetLastTransfer remembers which transfer was the last on a terminal.
func (s *Store) SetLastTransfer(ctx context.Context, t Transfer) error {
	return put(ctx, s.transfers, lastKey(t.MerchantID, t.DeviceID), [2]string{t.TransType, t.ReferenceID})
}

// LastTransfer reads the last transfer sent to a terminal for a merchant.
func (s *Store) LastTransfer(ctx context.Context, merchantID, deviceID string) (Transfer, uint64, error) {
	ref, _, err := get[[2]string](ctx, s.transfers, lastKey(merchantID, deviceID))
	if err != nil {
		return Transfer{}, 0, err
	}
	return s.Transfer(ctx, merchantID, ref[0], ref[1])
}

// LoginFailures reads the failures of an account from a client.
func (s *Store) LoginFailures(ctx context.Context, posID, client string) (LoginFailures, uint64, error) {
	return get[LoginFailures](ctx, s.logins, Key(posID, client))
}

// PutLoginFailures stores the failures of an account from a client.
func (s *Store) PutLoginFailures(ctx context.Context, posID, client string, f LoginFailures) error {
	return put(ctx, s.logins, Key(posID, client), f)
}

// ClearLoginFailures forgets them after a good login.
func (s *Store) ClearLoginFailures(ctx context.Context, posID, client string) error {
	return del(ctx, s.logins, Key(posID, client))
}

// AuditRecord is one line of the audit log.
type AuditRecord struct {
	At      time.Time `json:"at"`
	Kind    string    `json:"kind"`
	Actor   string    `json:"actor,omitempty"`
	Subject string    `json:"subject,omitempty"`
	Client  string    `json:"client,omitempty"`
	Outcome string    `json:"outcome"`
	Detail  string    `json:"detail,omitempty"`
}

// Audit appends a record to the audit stream (kind is one subject token:
// login, bind, transfer, …).
func (s *Store) Audit(ctx context.Context, r AuditRecord) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = s.js.Publish(ctx, AuditPrefix+"."+r.Kind, b)
	return err
}
