package api

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/certs"
	"github.com/vinr/cashlessd/client"
	"github.com/vinr/cashlessd/daemon/api/connlimit"
	"github.com/vinr/cashlessd/daemon/api/wire"
)

// hostileServer is the API as the daemon serves it: HTTPServer over TLS
// on a loopback port, behind the connection limiter.
type hostileServer struct {
	addr string // host:port
	ca   *x509.CertPool
	ln   *connlimit.Listener
	logs *lockedBuffer
}

// lockedBuffer collects log lines from the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func serveHostile(t *testing.T, limits connlimit.Config, trusted []netip.Prefix) *hostileServer {
	t.Helper()
	files, err := certs.EnsureDev(filepath.Join(t.TempDir(), "certs"), nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tc, err := certs.ServerConfig(files)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := certs.Pool(files.CA)
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := connlimit.New(tcp, limits)
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	s := New(Options{Engine: &fakeEngine{}, Keys: sharedKey(testKey), Log: zerolog.New(logs), TrustedProxies: trusted})
	srv := s.HTTPServer(tc)
	ln.Hook(srv)
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })
	return &hostileServer{addr: tcp.Addr().String(), ca: pool, ln: ln, logs: logs}
}

// from is an API client whose connections leave from the loopback
// address ip.
func (h *hostileServer) from(ip, key string) *client.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext:       d.DialContext,
		TLSClientConfig:   &tls.Config{RootCAs: h.ca, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2: true,
	}}
	return client.New(client.Config{BaseURL: "https://" + h.addr, Key: key, HTTPClient: hc})
}

// attacker opens one TLS connection from ip; if ask, it sends one request
// without the key. Then it sits idle and reports whether the server
// closed the connection (rather than the generous deadline running out).
func (h *hostileServer) attacker(ip string, ask bool) error {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 30 * time.Second}
	raw, err := d.Dial("tcp", h.addr)
	if err != nil {
		return nil // refused outright: it holds nothing
	}
	defer raw.Close()
	_ = raw.SetDeadline(time.Now().Add(60 * time.Second))
	c := tls.Client(raw, &tls.Config{RootCAs: h.ca, ServerName: "127.0.0.1", NextProtos: []string{"http/1.1"}})
	if err := c.Handshake(); err != nil {
		if isTimeout(err) {
			return errors.New("the handshake was neither served nor refused")
		}
		return nil // closed while waiting for room
	}
	if ask {
		if _, err := io.WriteString(c, "POST "+wire.PathStatus+" HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"); err != nil {
			return nil
		}
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return nil
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if (res.StatusCode != http.StatusUnauthorized && res.StatusCode != http.StatusTooManyRequests) || !res.Close {
			return fmt.Errorf("keyless request: %d, Connection: close %v", res.StatusCode, res.Close)
		}
	}
	if _, err := c.Read(make([]byte, 1)); isTimeout(err) {
		return errors.New("an idle keyless connection was never closed")
	}
	return nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestKeylessConnectionsCannotStarveTheECR runs the starvation attack: a
// couple of hundred TLS connections from one LAN address, half sending one
// keyless request, half nothing, then sitting idle, against a budget of
// 64. The ECR's calls with the key are all answered while the attack
// holds, and every attacking connection is closed by the server.
func TestKeylessConnectionsCannotStarveTheECR(t *testing.T) {
	t.Parallel()
	h := serveHostile(t, connlimit.Config{Max: 64, Reserved: 16, PerAddress: 8, UnauthenticatedTimeout: 2 * time.Second}, nil)
	const attackers = 200
	errs := make(chan error, attackers)
	for i := 0; i < attackers; i++ {
		go func() { errs <- h.attacker("127.0.0.2", i%2 == 0) }()
	}
	for deadline := time.Now().Add(30 * time.Second); h.ln.Stats().Accepted < attackers; {
		if time.Now().After(deadline) {
			t.Fatalf("the attack did not get going: %+v", h.ln.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	during := h.ln.Stats()

	for _, ip := range []string{"127.0.0.1", "127.0.0.2"} { // another address, and the attacker's own
		ecr := h.from(ip, testKey)
		var took []time.Duration
		for i := 0; i < 10; i++ {
			begin := time.Now()
			if _, err := ecr.Status(context.Background()); err != nil {
				t.Fatalf("ECR at %s during the attack: %v (listener %+v)", ip, err, h.ln.Stats())
			}
			took = append(took, time.Since(begin))
		}
		sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
		t.Logf("ECR at %s during the attack: 10 status calls answered, median %s, worst %s", ip, took[5], took[9])
		ecr.CloseIdleConnections()
	}
	for i := 0; i < attackers; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	after := h.ln.Stats()
	t.Logf("listener during the attack %+v; after %+v", during, after)
	if during.Open > 64 {
		t.Fatalf("%d connections open, budget 64", during.Open)
	}
	if after.Expired+after.Displaced == 0 {
		t.Fatalf("no connection was closed by the limits: %+v", after)
	}
}

// TestForwardingHeadersAreNotBelieved: without trusted proxies a client
// is its TCP peer. Wrong keys sent "for" 127.0.0.1 do not lock out the
// ECR at 127.0.0.1, a new X-Forwarded-For per guess does not escape the
// limit, and the logs name the TCP peer.
func TestForwardingHeadersAreNotBelieved(t *testing.T) {
	t.Parallel()
	h := serveHostile(t, connlimit.Config{Max: 64, Reserved: 16, PerAddress: 8, UnauthenticatedTimeout: 5 * time.Second}, nil)
	post := func(from, key string, header map[string]string) *client.Response {
		t.Helper()
		c := h.from(from, key)
		defer c.CloseIdleConnections()
		req, _ := http.NewRequest(http.MethodPost, c.BaseURL()+wire.PathStatus, strings.NewReader("{}"))
		req.Header.Set(KeyHeader, key)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := c.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return &client.Response{StatusCode: resp.StatusCode, Header: resp.Header}
	}

	for i := 0; i < 12; i++ {
		post("127.0.0.2", "ck_guess", map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1"})
	}
	if res := post("127.0.0.1", testKey, nil); res.StatusCode != 200 {
		t.Fatalf("the ECR at 127.0.0.1 after 12 wrong keys sent for it: %d", res.StatusCode)
	}
	if res := post("127.0.0.2", "ck_guess", nil); res.StatusCode != 429 {
		t.Fatalf("the guesser itself is not slowed down: %d", res.StatusCode)
	}

	// The ECR shares its address with a guesser: the right key is still served.
	for i := 0; i < 12; i++ {
		post("127.0.0.3", "ck_guess", nil)
	}
	if res := post("127.0.0.3", testKey, nil); res.StatusCode != 200 {
		t.Fatalf("the right key from an address that failed: %d", res.StatusCode)
	}

	// A fresh X-Forwarded-For per guess does not make a fresh client.
	statuses := map[int]int{}
	for i := 0; i < 12; i++ {
		fake := fmt.Sprintf("203.0.113.%d", i+1)
		statuses[post("127.0.0.4", "ck_guess", map[string]string{"X-Forwarded-For": fake, "X-Real-IP": fake}).StatusCode]++
	}
	if statuses[401] != 10 || statuses[429] != 2 {
		t.Fatalf("12 guesses with made-up X-Forwarded-For: %v, want 10 × 401 then 429", statuses)
	}

	logs := h.logs.String()
	if strings.Contains(logs, "203.0.113.") || !strings.Contains(logs, `"remote":"127.0.0.4"`) || !strings.Contains(logs, `"remote":"127.0.0.2"`) {
		t.Fatalf("the logs do not name the TCP peer:\n%s", logs)
	}
}

// TestTrustedProxiesForwardTheClientAddress: X-Forwarded-For is believed
// from a configured proxy only.
func TestTrustedProxiesForwardTheClientAddress(t *testing.T) {
	t.Parallel()
	h := serveHostile(t, connlimit.Config{Max: 64, Reserved: 16, PerAddress: 8, UnauthenticatedTimeout: 5 * time.Second},
		[]netip.Prefix{netip.MustParsePrefix("127.0.0.5/32")})
	for _, from := range []string{"127.0.0.5", "127.0.0.6"} {
		c := h.from(from, testKey)
		req, _ := http.NewRequest(http.MethodPost, c.BaseURL()+wire.PathStatus, strings.NewReader("{}"))
		req.Header.Set(KeyHeader, testKey)
		req.Header.Set("X-Forwarded-For", "192.0.2.7")
		resp, err := c.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		c.CloseIdleConnections()
	}
	logs := h.logs.String()
	if strings.Count(logs, `"remote":"192.0.2.7"`) != 1 || !strings.Contains(logs, `"remote":"127.0.0.6"`) {
		t.Fatalf("want the forwarded address from the proxy only:\n%s", logs)
	}
}
