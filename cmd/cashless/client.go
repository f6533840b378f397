package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	apiclient "github.com/vinr/cashlessd/client"
)

// defaultPort is the Cashless API's port when the address names none.
const defaultPort = "8443"

// client talks to one terminal's Cashless API through the API client,
// with the CLI's timeout per call.
type client struct {
	base    string // https://host:port, no trailing slash
	timeout time.Duration
	http    *http.Client // the API client's, so discovery can adjust its TLS check
	api     *apiclient.Client
}

// answer is what the terminal said: status, headers and the JSON body.
type answer struct {
	status   int
	replayed bool
	raw      []byte
}

// newClient checks the address and loads the CA bundle; a pin (hex
// SHA-256 of the terminal's certificate) is trusted instead of any CA.
func newClient(addr, caFile, key, agent string, timeout time.Duration, pin string, sign bool) (*client, error) {
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
	var roots *x509.CertPool // nil: the system's
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
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
	base := "https://" + host
	if pin != "" {
		pin = strings.ToLower(strings.ReplaceAll(pin, ":", ""))
		if len(pin) != 64 || strings.Trim(pin, "0123456789abcdef") != "" {
			return nil, fmt.Errorf("--pin %q: want the certificate's SHA-256 in hex (64 digits)", pin)
		}
	}
	api := apiclient.New(apiclient.Config{BaseURL: base, Key: key, UserAgent: agent, RootCAs: roots, PinSHA256: pin, Sign: sign})
	return &client{base: base, timeout: timeout, http: api.HTTPClient(), api: api}, nil
}

// post sends body as JSON to path and reads the answer, waiting at most the
// client's timeout (or until ctx ends).
func (c *client) post(ctx context.Context, path string, body any) (*answer, error) {
	return c.postWithin(ctx, c.timeout, path, body)
}

func (c *client) postWithin(ctx context.Context, timeout time.Duration, path string, body any) (*answer, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := c.api.Post(ctx, path, body)
	if err != nil {
		return nil, err
	}
	if !json.Valid(res.Body) || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		return nil, &apiclient.TransportError{Err: fmt.Errorf("not a Cashless API answer: HTTP %d %s %.80q", res.StatusCode,
			res.Header.Get("Content-Type"), res.Body), Sent: true}
	}
	return &answer{status: res.StatusCode, replayed: res.Replayed(), raw: res.Body}, nil
}

// close releases idle connections.
func (c *client) close() { c.http.CloseIdleConnections() }
