// Package auth checks the keys presented in X-VINR-Cashless-Key: the shared
// key (the reference's contract), the simulator's key in simulator mode, and
// the keys of ECRs paired by a one-time code (pairing.go), each with its
// scopes (credentials.go). Only SHA-256 hashes of keys and codes are kept;
// comparison is constant-time and costs the same whether the key is wrong,
// missing or right.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"

	"github.com/vinr/cashlessd/daemon"
)

// SimulatorKey is accepted in simulator mode, as by the reference's
// sandbox simulator.
const SimulatorKey = "ck_test_simulator"

// LivePrefix starts every generated key.
const LivePrefix = "ck_live_"

// Hash is the stored form of a key.
func Hash(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// Generate makes a new random key: "ck_live_" and 40 hex digits (160 bits).
func Generate() (string, error) {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return LivePrefix + hex.EncodeToString(b), nil
}

// Keys verifies presented keys against the stored hashes: the shared key,
// the simulator key and the paired ECRs' credentials.
type Keys struct {
	store     daemon.KeyStore
	credStore CredentialStore // nil: no paired ECRs
	simulator bool
	// simulatorHash is SimulatorKey's hash, worked out once.
	simulatorHash [sha256.Size]byte
	now           func() time.Time

	mu    sync.RWMutex
	hash  []byte
	creds []*Credential
	codes []pendingCode
}

// New loads the stored key hash; allowSimulator also accepts SimulatorKey.
// When store also keeps credentials (CredentialStore, as the daemon's
// store does) the paired ECRs are loaded and pairing is possible.
func New(store daemon.KeyStore, allowSimulator bool) (*Keys, error) {
	h, err := store.KeyHash()
	if err != nil {
		return nil, err
	}
	k := &Keys{store: store, simulator: allowSimulator, simulatorHash: sha256.Sum256([]byte(SimulatorKey)), hash: h, now: time.Now}
	if cs, ok := store.(CredentialStore); ok {
		k.credStore = cs
		if k.creds, err = loadCredentials(cs); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// SetClock replaces the clock that decides when pairing codes and
// rotation grace periods end (the simulator's clock in simulator mode).
// Call it before the keys are in use.
func (k *Keys) SetClock(now func() time.Time) { k.now = now }

// HasKey reports whether a live key was ever set.
func (k *Keys) HasKey() bool {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return len(k.hash) == sha256.Size
}

// Verify reports whether key is the current shared key, the simulator key
// in simulator mode, or a paired ECR's key, in constant time.
func (k *Keys) Verify(key string) bool {
	_, ok := k.Authenticate(key)
	return ok
}

// AcceptsSimulatorKey reports whether SimulatorKey is accepted (simulator
// mode); a rotation does not change that.
func (k *Keys) AcceptsSimulatorKey() bool { return k.simulator }

// Rotate makes and stores a new key; the previous one stops working at
// once. The new key is returned once and never stored in clear.
func (k *Keys) Rotate() (string, error) {
	key, err := Generate()
	if err != nil {
		return "", err
	}
	h := Hash(key)
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.store.SetKeyHash(h); err != nil {
		return "", err
	}
	k.hash = h
	return key, nil
}
