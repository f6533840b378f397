// Package auth is who a caller of the relay is: the relay key that signs
// tokens and seals POS secrets, password and API-key hashes, and sessions
// with short-lived access tokens and refresh tokens, plus the per-client
// lockout of failed logins.
package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Keyring holds the relay key: 32 random bytes every relay process of one
// cloud shares. Tokens are signed and POS secrets sealed with keys derived
// from it.
type Keyring struct {
	signing []byte
	seal    cipher.AEAD
	nats    string
}

// LoadOrCreateKey reads the relay key from path (hex), creating it (0600)
// when it does not exist.
func LoadOrCreateKey(path string) (*Keyring, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		raw := make([]byte, 32)
		if _, err := rand.Read(raw); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, err
		}
		if _, err := f.WriteString(hex.EncodeToString(raw) + "\n"); err != nil {
			f.Close()
			return nil, err
		}
		if err := f.Close(); err != nil {
			return nil, err
		}
		return NewKeyring(raw)
	}
	if err != nil {
		return nil, err
	}
	raw, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(raw) != 32 {
		return nil, fmt.Errorf("relay key %s: want 64 hex digits", path)
	}
	return NewKeyring(raw)
}

// NewKeyring derives the keys from a 32-byte relay key.
func NewKeyring(raw []byte) (*Keyring, error) {
	if len(raw) != 32 {
		return nil, errors.New("relay key must be 32 bytes")
	}
	block, err := aes.NewCipher(derive(raw, "cashless-cloud seal"))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Keyring{signing: derive(raw, "cashless-cloud tokens"), seal: aead,
		nats: hex.EncodeToString(derive(raw, "cashless-cloud nats"))}, nil
}

// NATSToken is the token the relay's own NATS connections (and the admin
// commands) present to the embedded server.
func (k *Keyring) NATSToken() string { return k.nats }

func derive(key []byte, label string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// Seal encrypts a secret for storage.
func (k *Keyring) Seal(secret []byte) ([]byte, error) {
	nonce := make([]byte, k.seal.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return k.seal.Seal(nonce, nonce, secret, nil), nil
}

// Open decrypts a sealed secret.
func (k *Keyring) Open(sealed []byte) ([]byte, error) {
	n := k.seal.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("sealed secret too short")
	}
	return k.seal.Open(nil, sealed[:n], sealed[n:], nil)
}

// HashPassword hashes a password with a new salt. Passwords the relay
// issues are random (128 bits or more), so one salted SHA-256 suffices.
func HashPassword(password string) (salt, hash []byte, err error) {
	salt = make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return nil, nil, err
	}
	return salt, passwordHash(salt, password), nil
}

func passwordHash(salt []byte, password string) []byte {
	m := hmac.New(sha256.New, salt)
	m.Write([]byte(password))
	return m.Sum(nil)
}

// CheckPassword compares in constant time.
func CheckPassword(salt, hash []byte, password string) bool {
	return hmac.Equal(passwordHash(salt, password), hash)
}

// HashAPIKey is the stored form of an account API key (hex SHA-256).
func HashAPIKey(key string) string {
	s := sha256.Sum256([]byte(key))
	return hex.EncodeToString(s[:])
}

// RandomSecret makes a random secret of n bytes, as text with a prefix.
func RandomSecret(prefix string, n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return prefix + hex.EncodeToString(b), nil
}
