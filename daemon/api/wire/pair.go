package wire

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// PathPair redeems a one-time pairing code for an ECR's own credential. It
// is the one call that needs no key.
const PathPair = "/cashless/v1/pair"

// Headers of signed requests (optional per credential).
const (
	// SignatureHeader carries the hex HMAC-SHA256 of the request's
	// canonical string (CanonicalString) under the signing key
	// (SigningKey).
	SignatureHeader = "X-Cashless-Signature"
	// TimestampHeader is the signing time in Unix seconds; the terminal
	// refuses a signature more than five minutes off its clock.
	TimestampHeader = "X-Cashless-Timestamp"
	// NonceHeader is a value the ECR never uses twice (16 to 64
	// characters of [A-Za-z0-9_-]); the terminal refuses it the second
	// time.
	NonceHeader = "X-Cashless-Nonce"
)

// SignatureScheme starts every canonical string.
const SignatureScheme = "CASHLESS-HMAC-SHA256"

// PairRequest redeems a pairing code.
type PairRequest struct {
	// Code is the one-time code the terminal showed (XXXX-XXXX; hyphen,
	// spaces and case do not matter).
	Code *string `json:"code,omitempty"`
	// Name is how the terminal lists this ECR ("Lane 3"), 1 to 64
	// printable characters.
	Name *string `json:"name,omitempty"`
	// SignedRequests: from now on the terminal refuses this ECR's
	// requests that are not signed.
	SignedRequests *bool `json:"signedRequests,omitempty"`
}

// PairResponse is the ECR's new credential. The key is shown this once.
type PairResponse struct {
	EcrID  string   `json:"ecrId"`
	Key    string   `json:"key"`
	Scopes []string `json:"scopes"`
	// SignedRequests: every request must be signed.
	SignedRequests bool `json:"signedRequests"`
	// CertificateSHA256 is the hex SHA-256 of the terminal's TLS
	// certificate (DER), as the LAN announcement shows it.
	CertificateSHA256 string `json:"certificateSha256"`
	// PublicKeySHA256 is the hex SHA-256 of the certificate's public key
	// (DER SubjectPublicKeyInfo): the pin to keep, since the terminal
	// renews its certificate with the same key pair.
	PublicKeySHA256 string `json:"publicKeySha256"`
	TerminalID      string `json:"terminalId"`
}

// SigningKey is the HMAC key of a credential's signed requests: the
// SHA-256 of its key.
func SigningKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// CanonicalString is what a signature covers, lines joined by "\n":
// SignatureScheme, the method, the path, the timestamp header, the nonce
// header and the hex SHA-256 of the body exactly as sent. The body's hash
// covers every field's name, value and order.
func CanonicalString(method, path, timestamp, nonce string, body []byte) string {
	sum := sha256.Sum256(body)
	return strings.Join([]string{SignatureScheme, method, path, timestamp, nonce, hex.EncodeToString(sum[:])}, "\n")
}

// Sign is the hex HMAC-SHA256 of the canonical string under signingKey.
func Sign(signingKey []byte, method, path, timestamp, nonce string, body []byte) string {
	m := hmac.New(sha256.New, signingKey)
	m.Write([]byte(CanonicalString(method, path, timestamp, nonce, body)))
	return hex.EncodeToString(m.Sum(nil))
}
