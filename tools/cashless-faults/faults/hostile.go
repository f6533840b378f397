package faults

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
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vinr/cashlessd/certs"
)

// HostileConfig sizes the hostile LAN client round.
type HostileConfig struct {
	Conns int           // keyless TLS connections of the starvation attack
	Hold  time.Duration // how long the attacker holds them while the ECR works
	// MaxLeft is how many attacking connections may still be open when
	// the hold ends (the daemon's per-address cap); -1 only reports.
	MaxLeft int
}

// The attacker's and the ECR's loopback addresses: distinct LAN hosts.
const (
	attackerAddr = "127.0.0.2"
	guesserAddr  = "127.0.0.3"
	ecrAddr      = "127.0.0.1"
)

// ecrCallTimeout is how long the ECR waits for one status answer (the
// CLI's own time-out).
const ecrCallTimeout = 30 * time.Second

// RunHostile runs the hostile LAN client round against the real binary.
func RunHostile(ctx context.Context, opt Options) (*Report, error) {
	return RunHostileWith(ctx, opt, HostileConfig{Conns: 256, Hold: 15 * time.Second, MaxLeft: 16})
}

// RunHostileWith runs the round sized by cfg: a client without the key
// tries to starve the ECR of connections, then to lock it out with
// forged forwarding headers; the ECR must be served throughout.
func RunHostileWith(ctx context.Context, opt Options, cfg HostileConfig) (*Report, error) {
	h, err := NewHarness(opt, "")
	if err != nil {
		return nil, err
	}
	defer h.Close()
	if _, err := h.startDaemon(ctx); err != nil {
		return h.Report, err
	}
	pool, err := certs.Pool(filepath.Join(h.dataDir, "certs", certs.CAFile))
	if err != nil {
		return h.Report, err
	}
	h.starvation(ctx, pool, cfg, true)
	h.starvation(ctx, pool, cfg, false)
	h.forgedForwarding(ctx, pool)
	return h.Report, nil
}

// latencies summarises the ECR's calls.
type latencies struct {
	took   []time.Duration
	failed int
	first  string
}

func (l *latencies) String() string {
	if len(l.took) == 0 {
		return fmt.Sprintf("0 answered, %d failed (%s)", l.failed, l.first)
	}
	s := slices.Clone(l.took)
	slices.Sort(s)
	out := fmt.Sprintf("%d/%d answered, median %s, worst %s", len(s), len(s)+l.failed,
		s[len(s)/2].Round(100*time.Microsecond), s[len(s)-1].Round(100*time.Microsecond))
	if l.failed > 0 {
		out += fmt.Sprintf(", first failure: %s", l.first)
	}
	return out
}

// ecrStatus is one status call on a new connection, as `cashless status`
// makes it.
func (h *Harness) ecrStatus(ctx context.Context, l *latencies) {
	e, err := h.client(1)
	if err != nil {
		l.failed++
		l.first = err.Error()
		return
	}
	defer e.Close()
	ctx, cancel := context.WithTimeout(ctx, ecrCallTimeout)
	defer cancel()
	begin := time.Now()
	a := e.Post(ctx, "/cashless/v1/status", "{}")
	if a.Status != http.StatusOK {
		if l.failed == 0 {
			l.first = a.Outcome()
			if a.Err != nil {
				l.first = fmt.Sprintf("%s after %s", a.Err, time.Since(begin).Round(time.Second))
			}
		}
		l.failed++
		return
	}
	l.took = append(l.took, time.Since(begin))
}

// starvation holds cfg.Conns keyless connections from one address (each
// sends one request without the key if ask, nothing otherwise) while the
// ECR calls status on new connections from another address.
func (h *Harness) starvation(ctx context.Context, pool *x509.CertPool, cfg HostileConfig, ask bool) {
	addr := strings.TrimPrefix(h.ecr.Base, "https://")
	what := "each sends one request without the key, then sits idle"
	if !ask {
		what = "each completes the TLS handshake, then sends nothing"
	}
	var quiet latencies
	for i := 0; i < 10; i++ {
		h.ecrStatus(ctx, &quiet)
	}

	until := time.Now().Add(cfg.Hold)
	var mu sync.Mutex
	closed, left, refused := 0, 0, 0
	var wg sync.WaitGroup
	for i := 0; i < cfg.Conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outcome := holdKeyless(addr, pool, ask, until)
			mu.Lock()
			defer mu.Unlock()
			switch outcome {
			case heldToTheEnd:
				left++
			case closedByDaemon:
				closed++
			default:
				refused++
			}
		}()
	}
	time.Sleep(min(cfg.Hold/5, 2*time.Second)) // let the attack take hold
	var during latencies
	for time.Now().Before(until) {
		h.ecrStatus(ctx, &during)
		time.Sleep(250 * time.Millisecond)
	}
	wg.Wait()
	bad := 0
	if during.failed > 0 || len(during.took) == 0 {
		bad++
		h.Report.Violate(Violation{VLoad, "the ECR was not served during the starvation attack (" + what + "): " + during.String()})
	}
	if cfg.MaxLeft >= 0 && left > cfg.MaxLeft {
		bad++
		h.Report.Violate(Violation{VLoad, fmt.Sprintf("%d keyless connections (%s) still open after %s (at most %d)", left, what, cfg.Hold, cfg.MaxLeft)})
	}
	h.Report.Add(Row{Class: "hostile", Fault: fmt.Sprintf("%d TLS connections from one LAN address, %s; held %s", cfg.Conns, what, cfg.Hold),
		Times: cfg.Conns,
		Outcome: fmt.Sprintf("attacker: %d closed by the daemon, %d never got a handshake, %d still open at the end; the ECR's status on a new connection: before %s; during %s",
			closed, refused, left, quiet.String(), during.String()),
		Bad: bad})
}

// What became of one attacking connection.
const (
	heldToTheEnd   = "held"
	closedByDaemon = "closed"
	neverServed    = "refused"
)

// holdKeyless opens a TLS connection from the attacker's address, sends
// one keyless request if ask, and sits idle until the daemon closes it or
// until passes.
func holdKeyless(addr string, pool *x509.CertPool, ask bool, until time.Time) string {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(attackerAddr)}, Deadline: until}
	raw, err := d.Dial("tcp", addr)
	if err != nil {
		return neverServed
	}
	defer raw.Close()
	_ = raw.SetDeadline(until)
	host, _, _ := net.SplitHostPort(addr)
	c := tls.Client(raw, &tls.Config{RootCAs: pool, ServerName: host, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}})
	if err := c.Handshake(); err != nil {
		if isTimeout(err) {
			return heldToTheEnd
		}
		return neverServed
	}
	if ask {
		if _, err := io.WriteString(c, "POST /cashless/v1/status HTTP/1.1\r\nHost: "+host+"\r\nContent-Length: 2\r\n\r\n{}"); err != nil {
			return closedByDaemon
		}
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			if isTimeout(err) {
				return heldToTheEnd
			}
			return closedByDaemon
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	if _, err := c.Read(make([]byte, 1)); isTimeout(err) {
		return heldToTheEnd
	}
	return closedByDaemon
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// keyless is a client without the key whose connections leave from ip.
func keyless(pool *x509.CertPool, ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	return &http.Client{Timeout: ecrCallTimeout, Transport: &http.Transport{DialContext: d.DialContext,
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
}

// forgedForwarding sends wrong keys with X-Forwarded-For / X-Real-IP
// naming the ECR, then with a new made-up address each time: the ECR
// must still be served, the guesser must still be limited, and the
// daemon's log must name the TCP peer.
func (h *Harness) forgedForwarding(ctx context.Context, pool *x509.CertPool) {
	guess := func(from, forwarded string) int {
		c := keyless(pool, from)
		defer c.CloseIdleConnections()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, h.ecr.Base+"/cashless/v1/status", strings.NewReader("{}"))
		req.Header.Set("X-VINR-Cashless-Key", "ck_live_guess")
		req.Header.Set("X-Forwarded-For", forwarded)
		req.Header.Set("X-Real-IP", forwarded)
		res, err := c.Do(req)
		if err != nil {
			return 0
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	forged := tally{}
	for i := 0; i < 12; i++ {
		forged[fmt.Sprint(guess(attackerAddr, ecrAddr))]++
	}
	var ecr latencies
	for i := 0; i < 5; i++ {
		h.ecrStatus(ctx, &ecr)
	}
	bad := 0
	if ecr.failed > 0 {
		bad++
		h.Report.Violate(Violation{VECR, "the ECR was locked out by wrong keys sent in its name: " + ecr.String()})
	}
	h.Report.Add(Row{Class: "hostile", Fault: "12 wrong keys with X-Forwarded-For / X-Real-IP: " + ecrAddr + " (the ECR's address)", Times: 12,
		Outcome: fmt.Sprintf("guesser got HTTP %s; the ECR at %s then: %s", forged, ecrAddr, ecr.String()), Bad: bad})

	made := tally{}
	for i := 0; i < 12; i++ {
		made[fmt.Sprint(guess(guesserAddr, fmt.Sprintf("198.51.100.%d", i+1)))]++
	}
	bad = 0
	if made["429"] == 0 {
		bad++
		h.Report.Violate(Violation{VLoad, "a new X-Forwarded-For per wrong key escaped the failed-key limit: " + made.String()})
	}
	h.Report.Add(Row{Class: "hostile", Fault: "12 wrong keys, each with a new made-up X-Forwarded-For", Times: 12,
		Outcome: "HTTP " + made.String(), Bad: bad})

	log := h.d.Log()
	bad = 0
	peers := strings.Contains(log, `"remote":"`+attackerAddr+`"`) && strings.Contains(log, `"remote":"`+guesserAddr+`"`)
	forgedLogged := strings.Contains(log, `"remote":"198.51.100.`)
	if !peers || forgedLogged {
		bad++
		h.Report.Violate(Violation{VLoad, fmt.Sprintf("request logs do not name the TCP peer (peers logged %v, forged address logged %v)", peers, forgedLogged)})
	}
	h.Report.Add(Row{Class: "hostile", Fault: "request logs of the forged requests", Times: 1,
		Outcome: fmt.Sprintf("TCP peer logged %v, forged address logged %v", peers, forgedLogged), Bad: bad})
}
