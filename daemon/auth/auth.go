// Package auth checks the X-VINR-Cashless-Key shared key. Only a SHA-256
// hash of the key is stored; comparison is constant-time and costs the same
// whether the key is wrong, missing or right.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"sync"

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

// Keys verifies presented keys against the stored hash.
type Keys struct {
	store     daemon.KeyStore
	simulator bool

	mu   sync.RWMutex
	hash []byte
}

// New loads the stored key hash; allowSimulator also accepts SimulatorKey.
func New(store daemon.KeyStore, allowSimulator bool) (*Keys, error) {
	h, err := store.KeyHash()
	if err != nil {
		return nil, err
	}
	return &Keys{store: store, simulator: allowSimulator, hash: h}, nil
}

// HasKey reports whether a live key was ever set.
func (k *Keys) HasKey() bool {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return len(k.hash) == sha256.Size
}

// Verify reports whether key is the current key (or the simulator key in
// simulator mode), in constant time.
func (k *Keys) Verify(key string) bool {
	h := Hash(key)
	k.mu.RLock()
	stored := k.hash
	k.mu.RUnlock()
	var zero [sha256.Size]byte
	ok := 0
	if len(stored) == sha256.Size {
		ok = subtle.ConstantTimeCompare(h, stored)
	} else {
		subtle.ConstantTimeCompare(h, zero[:])
	}
	sim := subtle.ConstantTimeCompare(h, Hash(SimulatorKey))
	if !k.simulator {
		sim = 0
	}
	return ok|sim == 1 && key != ""
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
