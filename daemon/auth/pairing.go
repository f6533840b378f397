package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"
	"unicode"
)

// CodeAlphabet is the pairing codes' alphabet: digits and capital letters
// without 0, 1, I and O, which people confuse (32 symbols, 5 bits each).
const CodeAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

// CodeLength is a pairing code's length: 8 symbols, 40 bits, about 1.1e12
// codes.
const CodeLength = 8

// DefaultCodeTTL is how long a pairing code is valid unless said
// otherwise.
const DefaultCodeTTL = 10 * time.Minute

// MaxCodeTTL bounds a pairing code's lifetime: the brute-force arithmetic
// (README "Pairing") assumes codes do not live for days.
const MaxCodeTTL = 24 * time.Hour

// maxLiveCodes bounds how many pairing codes wait at once.
const maxLiveCodes = 16

// PairingCode is a one-time code as the technician sees it.
type PairingCode struct {
	// Code is shown as XXXX-XXXX; the hyphen, spaces and case do not
	// matter when it is typed.
	Code      string    `json:"code"`
	ExpiresAt time.Time `json:"expiresAt"`
	Scopes    []Scope   `json:"scopes"`
}

// pendingCode is a pairing code waiting to be used: its hash only.
type pendingCode struct {
	hash    []byte
	expires time.Time
	scopes  []Scope
}

// ErrBadCode means the pairing code is unknown, expired or used.
var ErrBadCode = errors.New("the pairing code is wrong, expired or already used")

// NewPairingCode makes a one-time pairing code valid for ttl (zero:
// DefaultCodeTTL) that pairs an ECR with scopes (none: DefaultScopes).
func (k *Keys) NewPairingCode(ttl time.Duration, scopes []Scope) (PairingCode, error) {
	if k.credStore == nil {
		return PairingCode{}, ErrNoCredentialStore
	}
	if ttl == 0 {
		ttl = DefaultCodeTTL
	}
	if ttl < 0 || ttl > MaxCodeTTL {
		return PairingCode{}, fmt.Errorf("a pairing code lives between 1 s and %s", MaxCodeTTL)
	}
	if len(scopes) == 0 {
		scopes = DefaultScopes()
	}
	raw := make([]byte, CodeLength)
	n := big.NewInt(int64(len(CodeAlphabet)))
	for i := range raw {
		v, err := rand.Int(rand.Reader, n)
		if err != nil {
			return PairingCode{}, err
		}
		raw[i] = CodeAlphabet[v.Int64()]
	}
	now := k.now()
	p := pendingCode{hash: Hash(string(raw)), expires: now.Add(ttl), scopes: normalScopes(scopes)}
	k.mu.Lock()
	k.codes = slices.DeleteFunc(k.codes, func(c pendingCode) bool { return !now.Before(c.expires) })
	if len(k.codes) >= maxLiveCodes {
		k.codes = k.codes[1:]
	}
	k.codes = append(k.codes, p)
	k.mu.Unlock()
	code := string(raw[:CodeLength/2]) + "-" + string(raw[CodeLength/2:])
	return PairingCode{Code: code, ExpiresAt: p.expires, Scopes: slices.Clone(p.scopes)}, nil
}

// NormalizeCode is a typed code as it was issued: capitals, without
// separators.
func NormalizeCode(typed string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || unicode.IsSpace(r) {
			return -1
		}
		return unicode.ToUpper(r)
	}, typed)
}

// Paired is what a successful pairing made: the credential's public parts
// and its key, returned once.
type Paired struct {
	ECR ECRInfo
	Key string
}

// Pair redeems a pairing code: the code is used up and the ECR gets its
// own credential (name, the code's scopes, signedRequests as asked). A
// wrong, expired or used code is ErrBadCode. The codes waiting are all
// compared in constant time.
func (k *Keys) Pair(code, name string, signedRequests bool) (Paired, error) {
	if k.credStore == nil {
		return Paired{}, ErrNoCredentialStore
	}
	h := Hash(NormalizeCode(code))
	id, err := newECRID()
	if err != nil {
		return Paired{}, err
	}
	key, err := Generate()
	if err != nil {
		return Paired{}, err
	}
	now := k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	found := -1
	for i, c := range k.codes {
		if subtle.ConstantTimeCompare(h, c.hash) == 1 && now.Before(c.expires) {
			found = i
		}
	}
	if found < 0 {
		return Paired{}, ErrBadCode
	}
	pc := k.codes[found]
	c := &Credential{ID: id, Name: name, Scopes: slices.Clone(pc.scopes), KeyHash: Hash(key),
		SignedRequests: signedRequests, PairedAt: now}
	if err := k.put(c); err != nil {
		return Paired{}, err
	}
	// Used once: the code is gone whatever happens next.
	k.codes = slices.Delete(k.codes, found, found+1)
	k.creds = append(k.creds, c)
	return Paired{ECR: c.info(), Key: key}, nil
}
