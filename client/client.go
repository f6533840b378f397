// Package client is the Go client of cashlessd's Cashless API: what an ECR,
// the cashless CLI, the benchmarks and the fault harness use to call a
// terminal. It speaks HTTPS with the shared key, sends and reads the JSON
// of package wire, and has one method per endpoint plus Post for raw
// calls (bodies the typed methods cannot make, such as malformed JSON).
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/vinr/cashlessd/daemon/api/wire"
)

// maxAnswer bounds what is read of an answer (receipts are a few KiB).
const maxAnswer = 1 << 20

// Config says which terminal to call and how.
type Config struct {
	// BaseURL is the terminal: https://host:port, without a path.
	BaseURL string
	// Key is the shared key sent in wire.KeyHeader; empty sends none.
	Key string
	// UserAgent is sent when not empty.
	UserAgent string
	// RootCAs are the CAs the terminal's certificate must chain to; nil
	// trusts the system's. Unused when HTTPClient is given.
	RootCAs *x509.CertPool
	// PinSHA256 is the hex SHA-256 of the terminal's public key or of its
	// certificate (as a pairing returns them): when set, only a
	// certificate with that key (or that very certificate) is trusted
	// and RootCAs is not used. Unused when HTTPClient is given.
	PinSHA256 string
	// Sign signs every request with the key (X-Cashless-Signature, see
	// wire.CanonicalString), as a credential with signed requests needs.
	Sign bool
	// HTTPClient sends the requests; nil makes one for the terminal on
	// the LAN (TLS 1.2 or later with RootCAs, no proxy). A deadline per
	// call comes from the context.
	HTTPClient *http.Client
}

// Client calls one terminal. It is safe for concurrent use.
type Client struct {
	base  string
	key   string
	agent string
	sign  bool
	http  *http.Client
}

// New makes a client from cfg.
func New(cfg Config) *Client {
	hc := cfg.HTTPClient
	if hc == nil {
		tc := &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12}
		if cfg.PinSHA256 != "" {
			tc = pinnedTLS(cfg.PinSHA256)
		}
		hc = &http.Client{Transport: &http.Transport{
			TLSClientConfig:     tc,
			Proxy:               nil, // the terminal is on the LAN
			TLSHandshakeTimeout: 15 * time.Second,
			ForceAttemptHTTP2:   true,
		}}
	}
	return &Client{base: strings.TrimSuffix(cfg.BaseURL, "/"), key: cfg.Key, agent: cfg.UserAgent, sign: cfg.Sign, http: hc}
}

// BaseURL is the terminal the client calls.
func (c *Client) BaseURL() string { return c.base }

// HTTPClient is the *http.Client the client sends with.
func (c *Client) HTTPClient() *http.Client { return c.http }

// WithKey returns a client that sends key instead, sharing the
// connections.
func (c *Client) WithKey(key string) *Client {
	k := *c
	k.key = key
	return &k
}

// CloseIdleConnections releases idle connections.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// Response is an answer as it came: HTTP status, headers and body.
type Response struct {
	StatusCode int
	Header     http.Header
	Body       []byte
}

// Replayed reports an answer replayed for a repeated reference (nothing
// was charged or settled again).
func (r *Response) Replayed() bool { return r.Header.Get(wire.ReplayHeader) == "true" }

// Err is the answer's refusal as an *Error, or nil for a 200.
func (r *Response) Err() error {
	if r.StatusCode == http.StatusOK {
		return nil
	}
	var body wire.ErrorResponse
	if err := json.Unmarshal(r.Body, &body); err != nil || body.Error.Code == "" {
		return &Error{HTTPStatus: r.StatusCode, Message: fmt.Sprintf("HTTP %d without an error object: %.80q", r.StatusCode, r.Body)}
	}
	return &Error{HTTPStatus: r.StatusCode, Code: body.Error.Code, Message: body.Error.Message}
}

// Error is a call the terminal answered with an error: a refusal
// (terminal_busy, invalid_request, …) or a transaction that was declined,
// cancelled or failed.
type Error struct {
	// HTTPStatus is the answer's status (400, 402, 409, …).
	HTTPStatus int
	// Code is the API error code; empty when the answer had none.
	Code string
	// Message is the terminal's explanation for people.
	Message string
}

// Error implements error.
func (e *Error) Error() string {
	if e.Code == "" {
		return e.Message
	}
	return fmt.Sprintf("HTTP %d %s: %s", e.HTTPStatus, e.Code, e.Message)
}

// TransportError is a call that got no answer. Sent is false when the
// request certainly never reached the terminal (connection refused, name
// not found, TLS refused), so no transaction can have started; when true
// the terminal may be running it, and status tells its outcome.
type TransportError struct {
	Err  error
	Sent bool
}

// Error implements error.
func (e *TransportError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *TransportError) Unwrap() error { return e.Err }

// Post sends body to path and returns the answer whatever its status.
// A string or []byte body is sent as is, nil as an empty body, anything
// else as JSON. Errors are *TransportError.
func (c *Client) Post(ctx context.Context, path string, body any) (*Response, error) {
	var raw []byte
	switch b := body.(type) {
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	case nil:
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			return nil, &TransportError{Err: err}
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(raw))
	if err != nil {
		return nil, &TransportError{Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if c.agent != "" {
		req.Header.Set("User-Agent", c.agent)
	}
	if c.key != "" {
		req.Header.Set(wire.KeyHeader, c.key)
		if c.sign {
			if err := c.signRequest(req, raw); err != nil {
				return nil, &TransportError{Err: err}
			}
		}
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, &TransportError{Err: err, Sent: !neverSent(err)}
	}
	defer res.Body.Close()
	out, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	if err != nil {
		return nil, &TransportError{Err: fmt.Errorf("reading the answer: %w", err), Sent: true}
	}
	return &Response{StatusCode: res.StatusCode, Header: res.Header, Body: out}, nil
}

// neverSent reports errors that happen before a request can reach the
// terminal: dialling, name resolution, and a TLS handshake the client
// refused.
func neverSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	var record tls.RecordHeaderError
	return errors.As(err, &dns) || errors.As(err, &unknownCA) || errors.As(err, &hostname) ||
		errors.As(err, &invalid) || errors.As(err, &verify) || errors.As(err, &record)
}

// call posts body to path and reads a 200 answer into a T; any other
// answer is an *Error. The response is returned whenever one came.
func call[T any](ctx context.Context, c *Client, path string, body any) (*T, *Response, error) {
	res, err := c.Post(ctx, path, body)
	if err != nil {
		return nil, nil, err
	}
	if err := res.Err(); err != nil {
		return nil, res, err
	}
	var out T
	if err := json.Unmarshal(res.Body, &out); err != nil {
		return nil, res, fmt.Errorf("%s: unreadable answer: %w", path, err)
	}
	return &out, res, nil
}
