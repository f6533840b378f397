package client

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vinr/cashlessd/daemon/api/wire"
)

// Pair redeems a one-time pairing code the terminal showed for this ECR's
// own credential (no key needed): its ecrId, its key (returned this once:
// keep it), its scopes and the terminal certificate's fingerprint to pin.
// name is how the terminal will list the ECR; signedRequests makes the
// terminal refuse this ECR's unsigned requests from now on.
func (c *Client) Pair(ctx context.Context, code, name string, signedRequests bool) (*wire.PairResponse, error) {
	body := wire.PairRequest{Code: &code, Name: &name}
	if signedRequests {
		body.SignedRequests = wire.Ptr(true)
	}
	out, _, err := call[wire.PairResponse](ctx, c.WithKey(""), wire.PathPair, body)
	return out, err
}

// sign adds the signed-request headers to req for body.
func (c *Client) signRequest(req *http.Request, body []byte) error {
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	n := hex.EncodeToString(nonce)
	req.Header.Set(wire.TimestampHeader, ts)
	req.Header.Set(wire.NonceHeader, n)
	req.Header.Set(wire.SignatureHeader, wire.Sign(wire.SigningKey(c.key), req.Method, req.URL.Path, ts, n, body))
	return nil
}

// Fingerprint is the hex SHA-256 of a certificate's DER, as the terminal
// announces and a pairing returns it.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// pinnedTLS trusts exactly the certificate whose fingerprint is pin (the
// SHA-256 of its DER, or of its public key, which survives the terminal's
// certificate renewals), without a CA: what a paired ECR does instead of
// installing ca.pem.
func pinnedTLS(pin string) *tls.Config {
	pin = strings.ToLower(strings.ReplaceAll(pin, ":", ""))
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // VerifyConnection checks the pin instead
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("the terminal sent no certificate")
			}
			leaf := cs.PeerCertificates[0]
			got := Fingerprint(leaf.Raw)
			key := Fingerprint(leaf.RawSubjectPublicKeyInfo)
			if subtle.ConstantTimeCompare([]byte(got), []byte(pin))|subtle.ConstantTimeCompare([]byte(key), []byte(pin)) != 1 {
				return &tls.CertificateVerificationError{UnverifiedCertificates: cs.PeerCertificates,
					Err: fmt.Errorf("the terminal's certificate (SHA-256 %s) is not the pinned one (%s)", got, pin)}
			}
			return nil
		},
	}
}

// PeerFingerprint connects to the terminal at base without checking its
// certificate and returns that certificate's fingerprint: trust on first
// use, for a pairing made without a pin or CA (compare it with the one the
// terminal printed).
func PeerFingerprint(ctx context.Context, base string) (string, error) {
	host := strings.TrimPrefix(strings.TrimSuffix(base, "/"), "https://")
	d := tls.Dialer{Config: &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true}} //nolint:gosec // the fingerprint is the point
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	cs := conn.(*tls.Conn).ConnectionState()
	if len(cs.PeerCertificates) == 0 {
		return "", errors.New("the terminal sent no certificate")
	}
	return Fingerprint(cs.PeerCertificates[0].Raw), nil
}
