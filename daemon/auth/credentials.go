package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Scope is one family of calls a credential may make.
type Scope string

// The scopes. A call outside a credential's scopes is refused (403).
const (
	// ScopePayments: sale, pre-auth and its steps, cancel, status,
	// receipts, lookup, events, batch totals.
	ScopePayments Scope = "payments"
	// ScopeRefunds: refund and void, calls that send money back.
	ScopeRefunds Scope = "refunds"
	// ScopeAdmin: batch close and key management.
	ScopeAdmin Scope = "admin"
)

// AllScopes are every scope, in their canonical order: what the shared
// key and the simulator key hold.
func AllScopes() []Scope { return []Scope{ScopePayments, ScopeRefunds, ScopeAdmin} }

// DefaultScopes are what a newly paired ECR holds unless the pairing code
// says otherwise.
func DefaultScopes() []Scope { return []Scope{ScopePayments, ScopeRefunds} }

// ParseScopes reads a comma-separated list of scopes ("payments,refunds").
func ParseScopes(list string) ([]Scope, error) {
	var out []Scope
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !slices.Contains(AllScopes(), Scope(s)) {
			return nil, fmt.Errorf("unknown scope %q (want payments, refunds or admin)", s)
		}
		out = append(out, Scope(s))
	}
	if len(out) == 0 {
		return nil, errors.New("no scope given (want payments, refunds or admin)")
	}
	return normalScopes(out), nil
}

// normalScopes sorts scopes in canonical order without repeats.
func normalScopes(in []Scope) []Scope {
	order := AllScopes()
	out := make([]Scope, 0, len(in))
	for _, s := range order {
		if slices.Contains(in, s) {
			out = append(out, s)
		}
	}
	return out
}

// IDs of the credentials that are not paired ECRs.
const (
	// SharedID is the shared X-VINR-Cashless-Key (the reference's
	// contract): one credential holding every scope.
	SharedID = "shared"
	// SimulatorID is the simulator's fixed key (simulator mode only).
	SimulatorID = "simulator"
	// CloudID is a call relayed from the cloud relay (cashless-cloud),
	// which authenticated its client: no key, every scope.
	CloudID = "cloud"
)

// Principal is who made a request: the credential its key matched.
type Principal struct {
	// ECRID names the credential: a paired ECR's ecrId, SharedID or
	// SimulatorID. A caller inside the daemon can be given its own.
	ECRID string
	// Name is what the ECR called itself when it paired.
	Name   string
	Scopes []Scope
	// RequireSignature: every request must carry a valid signature.
	RequireSignature bool
}

// Has reports whether the principal holds scope s.
func (p Principal) Has(s Scope) bool { return slices.Contains(p.Scopes, s) }

// Credential is one paired ECR's stored credential: hashes of its key (and
// of the previous key during a rotation's grace period), never a key.
type Credential struct {
	ID     string  `json:"ecrId"`
	Name   string  `json:"name"`
	Scopes []Scope `json:"scopes"`
	// KeyHash is the SHA-256 of the current key.
	KeyHash []byte `json:"keyHash"`
	// PreviousKeyHash still works until PreviousUntil (a rotation's
	// grace period).
	PreviousKeyHash []byte    `json:"previousKeyHash,omitempty"`
	PreviousUntil   time.Time `json:"previousUntil,omitzero"`
	// SignedRequests: unsigned requests are refused.
	SignedRequests bool      `json:"signedRequests"`
	PairedAt       time.Time `json:"pairedAt"`
	RotatedAt      time.Time `json:"rotatedAt,omitzero"`
	RevokedAt      time.Time `json:"revokedAt,omitzero"`
}

// Revoked reports whether the credential was revoked.
func (c Credential) Revoked() bool { return !c.RevokedAt.IsZero() }

// ECRInfo is a credential as `cashlessd ecr list` shows it: no hash.
type ECRInfo struct {
	ID             string    `json:"ecrId"`
	Name           string    `json:"name"`
	Scopes         []Scope   `json:"scopes"`
	SignedRequests bool      `json:"signedRequests"`
	PairedAt       time.Time `json:"pairedAt"`
	RotatedAt      time.Time `json:"rotatedAt,omitzero"`
	// GraceUntil is when the previous key stops working, during a
	// rotation's grace period.
	GraceUntil time.Time `json:"graceUntil,omitzero"`
	RevokedAt  time.Time `json:"revokedAt,omitzero"`
}

// CredentialStore keeps the paired ECRs' credential records (opaque JSON
// to it). The daemon's store implements it.
type CredentialStore interface {
	Credentials() ([][]byte, error)
	PutCredential(id string, record []byte) error
}

// Errors of credential management.
var (
	// ErrNoSuchECR: no credential has that ecrId.
	ErrNoSuchECR = errors.New("no paired ECR has that ecrId")
	// ErrRevoked: the credential was revoked and cannot change.
	ErrRevoked = errors.New("that ECR's credential is revoked")
	// ErrNoCredentialStore: the store keeps no ECR credentials.
	ErrNoCredentialStore = errors.New("this store keeps no ECR credentials")
)

// loadCredentials reads every stored credential.
func loadCredentials(cs CredentialStore) ([]*Credential, error) {
	if cs == nil {
		return nil, nil
	}
	raw, err := cs.Credentials()
	if err != nil {
		return nil, err
	}
	out := make([]*Credential, 0, len(raw))
	for _, r := range raw {
		var c Credential
		if err := json.Unmarshal(r, &c); err != nil {
			return nil, fmt.Errorf("a stored ECR credential is unreadable: %w", err)
		}
		out = append(out, &c)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].PairedAt.Equal(out[j].PairedAt) {
			return out[i].PairedAt.Before(out[j].PairedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// Authenticate finds the credential a key belongs to. Every candidate hash
// is compared, in constant time, whichever matches: the time taken does not
// depend on which credential (if any) the key is.
func (k *Keys) Authenticate(key string) (Principal, bool) {
	sum := sha256.Sum256([]byte(key))
	h := sum[:]
	now := k.now()
	var zero [sha256.Size]byte
	k.mu.RLock()
	defer k.mu.RUnlock()
	var found Principal
	match := 0
	if len(k.hash) == sha256.Size {
		if subtle.ConstantTimeCompare(h, k.hash) == 1 {
			found, match = Principal{ECRID: SharedID, Name: "shared key", Scopes: AllScopes()}, 1
		}
	} else {
		subtle.ConstantTimeCompare(h, zero[:])
	}
	if subtle.ConstantTimeCompare(h, k.simulatorHash[:]) == 1 && k.simulator {
		found, match = Principal{ECRID: SimulatorID, Name: "simulator key", Scopes: AllScopes()}, 1
	}
	for _, c := range k.creds {
		if c.Revoked() {
			continue
		}
		cur := subtle.ConstantTimeCompare(h, c.KeyHash)
		prev := 0
		if len(c.PreviousKeyHash) == sha256.Size {
			prev = subtle.ConstantTimeCompare(h, c.PreviousKeyHash)
			if !now.Before(c.PreviousUntil) {
				prev = 0
			}
		}
		if cur|prev == 1 {
			found, match = Principal{ECRID: c.ID, Name: c.Name, Scopes: slices.Clone(c.Scopes),
				RequireSignature: c.SignedRequests}, 1
		}
	}
	if match != 1 || key == "" {
		return Principal{}, false
	}
	return found, true
}

// ECRs lists the paired ECRs, revoked ones included, in pairing order.
func (k *Keys) ECRs() []ECRInfo {
	now := k.now()
	k.mu.RLock()
	defer k.mu.RUnlock()
	out := make([]ECRInfo, 0, len(k.creds))
	for _, c := range k.creds {
		info := ECRInfo{ID: c.ID, Name: c.Name, Scopes: slices.Clone(c.Scopes), SignedRequests: c.SignedRequests,
			PairedAt: c.PairedAt, RotatedAt: c.RotatedAt, RevokedAt: c.RevokedAt}
		if len(c.PreviousKeyHash) > 0 && now.Before(c.PreviousUntil) {
			info.GraceUntil = c.PreviousUntil
		}
		out = append(out, info)
	}
	return out
}

// Paired reports whether at least one ECR holds a live (not revoked)
// credential of its own.
func (k *Keys) Paired() bool {
	k.mu.RLock()
	defer k.mu.RUnlock()
	for _, c := range k.creds {
		if !c.Revoked() {
			return true
		}
	}
	return false
}

// change applies fn to a copy of one credential and stores it; the
// in-memory list changes only once the store has it.
func (k *Keys) change(id string, fn func(c *Credential) error) (Credential, error) {
	if k.credStore == nil {
		return Credential{}, ErrNoCredentialStore
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	i := slices.IndexFunc(k.creds, func(c *Credential) bool { return c.ID == id })
	if i < 0 {
		return Credential{}, ErrNoSuchECR
	}
	c := *k.creds[i]
	c.Scopes = slices.Clone(c.Scopes)
	if c.Revoked() {
		return c, ErrRevoked
	}
	if err := fn(&c); err != nil {
		return c, err
	}
	if err := k.put(&c); err != nil {
		return c, err
	}
	k.creds[i] = &c
	return c, nil
}

// put writes a credential record; the caller holds k.mu.
func (k *Keys) put(c *Credential) error {
	raw, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return k.credStore.PutCredential(c.ID, raw)
}

// Revoke stops one ECR's credential at once (its current and any previous
// key); the others are untouched.
func (k *Keys) Revoke(id string) (ECRInfo, error) {
	c, err := k.change(id, func(c *Credential) error {
		c.RevokedAt = k.now()
		c.PreviousKeyHash, c.PreviousUntil = nil, time.Time{}
		return nil
	})
	return c.info(), err
}

// SetScopes replaces one ECR's scopes.
func (k *Keys) SetScopes(id string, scopes []Scope) (ECRInfo, error) {
	if len(scopes) == 0 {
		return ECRInfo{}, errors.New("an ECR needs at least one scope (revoke it instead)")
	}
	c, err := k.change(id, func(c *Credential) error {
		c.Scopes = normalScopes(scopes)
		return nil
	})
	return c.info(), err
}

// SetSignedRequests sets whether one ECR must sign every request.
func (k *Keys) SetSignedRequests(id string, required bool) (ECRInfo, error) {
	c, err := k.change(id, func(c *Credential) error {
		c.SignedRequests = required
		return nil
	})
	return c.info(), err
}

// RotateECR makes a new key for one ECR and returns it once; the previous
// key keeps working for grace (none: it stops at once).
func (k *Keys) RotateECR(id string, grace time.Duration) (string, ECRInfo, error) {
	if grace < 0 {
		return "", ECRInfo{}, errors.New("the grace period cannot be negative")
	}
	key, err := Generate()
	if err != nil {
		return "", ECRInfo{}, err
	}
	c, err := k.change(id, func(c *Credential) error {
		now := k.now()
		c.PreviousKeyHash, c.PreviousUntil = nil, time.Time{}
		if grace > 0 {
			c.PreviousKeyHash, c.PreviousUntil = c.KeyHash, now.Add(grace)
		}
		c.KeyHash, c.RotatedAt = Hash(key), now
		return nil
	})
	if err != nil {
		return "", c.info(), err
	}
	info := c.info()
	if grace > 0 {
		info.GraceUntil = c.PreviousUntil
	}
	return key, info, nil
}

func (c Credential) info() ECRInfo {
	return ECRInfo{ID: c.ID, Name: c.Name, Scopes: slices.Clone(c.Scopes), SignedRequests: c.SignedRequests,
		PairedAt: c.PairedAt, RotatedAt: c.RotatedAt, RevokedAt: c.RevokedAt}
}

// newECRID makes a fresh ecrId: "ecr_" and 12 hex digits.
func newECRID() (string, error) {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "ecr_" + hex.EncodeToString(b), nil
}
