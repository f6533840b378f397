package main

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
	"net/url"
	"os"
	"strings"
	"time"
)

// keyHeader carries the shared key; replayHeader marks a stored answer.
const (
	keyHeader    = "X-VINR-Cashless-Key"
	replayHeader = "Idempotent-Replayed"
)

// defaultPort is the Cashless API's port when the address names none.
const defaultPort = "8443"

// maxAnswer bounds what is read of an answer (receipts are a few KiB).
const maxAnswer = 1 << 20

// client talks to one terminal's Cashless API.
type client struct {
	base    string // https://host:port, no trailing slash
	key     string
	agent   string
	timeout time.Duration
	http    *http.Client
}

// answer is what the terminal said: status, headers and the JSON body.
type answer struct {
	status   int
	replayed bool
	raw      []byte
}

// transportError is a request that got no usable answer. sent is false when
// the request certainly never reached the terminal (connection refused,
// name not found, TLS refused), so no transaction can have started.
type transportError struct {
	err  error
	sent bool
}

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// newClient checks the address and loads the CA bundle.
func newClient(addr, caFile, key, agent string, timeout time.Duration) (*client, error) {
	if !strings.Contains(addr, "://") {
		addr = "https://" + addr // a bare host or IP
	}
	u, err := url.Parse(addr)
	if err != nil || u.Hostname() == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("--addr %q: want https://host[:port]", addr)
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("--addr %q: the Cashless API is HTTPS only", addr)
	}
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("--addr %q: give the terminal only, without a path", addr)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca %s: no PEM certificate in it", caFile)
		}
	}
	if timeout <= 0 {
		return nil, fmt.Errorf("--timeout %s: must be positive", timeout)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), defaultPort)
	}
	return &client{
		base:    "https://" + host,
		key:     key,
		agent:   agent,
		timeout: timeout,
		http: &http.Client{Transport: &http.Transport{
			TLSClientConfig:     tc,
			Proxy:               nil, // the terminal is on the LAN
			TLSHandshakeTimeout: 15 * time.Second,
			ForceAttemptHTTP2:   true,
		}},
	}, nil
}

// post sends body as JSON to path and reads the answer, waiting at most the
// client's timeout (or until ctx ends).
func (c *client) post(ctx context.Context, path string, body any) (*answer, error) {
	return c.postWithin(ctx, c.timeout, path, body)
}

func (c *client) postWithin(ctx context.Context, timeout time.Duration, path string, body any) (*answer, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.agent)
	req.Header.Set(keyHeader, c.key)
	res, err := c.http.Do(req)
	if err != nil {
		return nil, &transportError{err: err, sent: !neverSent(err)}
	}
	defer res.Body.Close()
	out, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	if err != nil {
		return nil, &transportError{err: fmt.Errorf("reading the answer: %w", err), sent: true}
	}
	if !json.Valid(out) || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		return nil, &transportError{err: fmt.Errorf("not a Cashless API answer: HTTP %d %s %.80q", res.StatusCode,
			res.Header.Get("Content-Type"), out), sent: true}
	}
	return &answer{status: res.StatusCode, replayed: res.Header.Get(replayHeader) == "true", raw: out}, nil
}

// close releases idle connections.
func (c *client) close() { c.http.CloseIdleConnections() }

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
