package faults

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vinr/cashlessd/certs"
	"github.com/vinr/cashlessd/daemon"
)

// RSS is a process's resident set size in bytes.
func RSS(pid int) (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for %d", pid)
}

const mib = 1 << 20

// LoadConfig sizes the load suite.
type LoadConfig struct {
	Busy        int           // concurrent sales per busy round
	BusyRounds  int           // busy rounds
	Pollers     int           // status pollers
	PollFor     time.Duration // how long they poll while sales run
	SlowHeaders bool          // run the 10 s slow-header checks
	RSSLimit    int64         // peak resident memory allowed under pollers
}

// RunLoad runs the full load suite against the real binary.
func RunLoad(ctx context.Context, opt Options, pollers int, pollFor time.Duration) (*Report, error) {
	return RunLoadWith(ctx, opt, LoadConfig{Busy: 100, BusyRounds: 3, Pollers: pollers, PollFor: pollFor, SlowHeaders: true, RSSLimit: 64 * mib})
}

// RunLoadWith runs the load checks sized by cfg.
func RunLoadWith(ctx context.Context, opt Options, cfg LoadConfig) (*Report, error) {
	h, err := NewHarness(opt, "")
	if err != nil {
		return nil, err
	}
	defer h.Close()
	if _, err := h.startDaemon(ctx); err != nil {
		return h.Report, err
	}
	r := h.Report
	for i := 0; i < cfg.BusyRounds; i++ {
		if err := h.busy(ctx, cfg.Busy, i); err != nil {
			return r, err
		}
	}
	if cfg.Pollers > 0 {
		if err := h.pollers(ctx, cfg.Pollers, cfg.PollFor, cfg.RSSLimit); err != nil {
			return r, err
		}
	}
	h.bodies(ctx)
	if cfg.SlowHeaders {
		if err := h.slowHeaders(ctx); err != nil {
			return r, err
		}
	}
	h.final(ctx)
	return r, nil
}

// client makes a client with its own pool of up to n connections.
func (h *Harness) client(n int) (*ECR, error) {
	e, err := NewECR(h.ecr.Base, filepath.Join(h.dataDir, "certs", certs.CAFile))
	if err != nil {
		return nil, err
	}
	e.hc.Transport.(*http.Transport).MaxIdleConnsPerHost = n
	e.hc.Transport.(*http.Transport).MaxConnsPerHost = n
	return e, nil
}

// busy fires n sales at once, on connections opened beforehand: exactly
// one may run, every other must get 409 terminal_busy.
func (h *Harness) busy(ctx context.Context, n, round int) error {
	e, err := h.client(n)
	if err != nil {
		return err
	}
	defer e.Close()
	// Open n connections first, so the sales arrive together.
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); e.Post(ctx, "/cashless/v1/status", "{}") }()
	}
	wg.Wait()
	if err := h.sim(ctx, "/simulator/v1/card", map[string]any{"pan": "4242424242424242", "presentAfterMs": 2000}); err != nil {
		return err
	}
	start := make(chan struct{})
	answers := make([]Answer, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			answers[i] = e.Post(ctx, "/cashless/v1/sale", map[string]any{"amount": 100 + i, "currency": "USD", "reference": fmt.Sprintf("BUSY-%d-%03d", round, i)})
		}(i)
	}
	close(start)
	wg.Wait()
	outcomes := tally{}
	ok, busy := 0, 0
	for _, a := range answers {
		outcomes[a.Outcome()]++
		switch {
		case a.Status == 200:
			ok++
		case a.Status == 409 && a.Code() == daemon.CodeTerminalBusy:
			busy++
		}
	}
	bad := 0
	if ok != 1 || busy != n-1 {
		bad = 1
		h.Report.Violate(Violation{VLoad, fmt.Sprintf("%d concurrent sales: %s (want one 200, %d × 409 terminal_busy)", n, outcomes, n-1)})
	}
	h.Report.Add(Row{Class: "load", Fault: fmt.Sprintf("%d concurrent sales", n), Times: 1, Outcome: outcomes.String(), Bad: bad})
	return nil
}

// pollers runs n clients polling status as fast as they can while sales
// run one after another; every sale must complete, no poll may fail, and
// the daemon's memory must stay bounded.
func (h *Harness) pollers(ctx context.Context, n int, d time.Duration, limit int64) error {
	if err := h.sim(ctx, "/simulator/v1/card", map[string]any{"pan": "5555555555554444", "entryMethod": "contactless", "presentAfterMs": 50}); err != nil {
		return err
	}
	rss0, _ := RSS(h.d.Pid())
	lctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var polls, pollErrs atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		e, err := h.client(1)
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer e.Close()
			for lctx.Err() == nil {
				a := e.Post(lctx, "/cashless/v1/status", "{}")
				if lctx.Err() != nil {
					return
				}
				polls.Add(1)
				if a.Err != nil || a.Status != 200 {
					pollErrs.Add(1)
					firstErr.CompareAndSwap(nil, a.Outcome()+" "+string(a.Raw))
				}
			}
		}()
	}
	var samples []int64
	var sales, saleErrs int
	var saleLat []time.Duration
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-lctx.Done():
				return
			case <-tick.C:
				if v, err := RSS(h.d.Pid()); err == nil {
					samples = append(samples, v)
				}
			}
		}
	}()
	for i := 0; lctx.Err() == nil; i++ {
		begin := time.Now()
		a := h.ecr.Post(ctx, "/cashless/v1/sale", map[string]any{"amount": 100 + i, "currency": "USD", "reference": fmt.Sprintf("POLL-%05d", i)})
		sales++
		saleLat = append(saleLat, time.Since(begin))
		if a.Status != 200 {
			saleErrs++
			h.Report.Violate(Violation{VLoad, fmt.Sprintf("sale under %d pollers got %s: %s", n, a.Outcome(), a.Raw)})
		}
	}
	wg.Wait()
	<-done
	peak, last := rss0, rss0
	for _, v := range samples {
		peak = max(peak, v)
	}
	if len(samples) > 0 {
		last = samples[len(samples)-1]
	}
	// Growth: the second half's peak against the first half's.
	half := len(samples) / 2
	var p1, p2 int64
	for i, v := range samples {
		if i < half {
			p1 = max(p1, v)
		} else {
			p2 = max(p2, v)
		}
	}
	bad := 0
	if pollErrs.Load() > 0 {
		bad++
		h.Report.Violate(Violation{VLoad, fmt.Sprintf("%d of %d status polls failed, first: %v", pollErrs.Load(), polls.Load(), firstErr.Load())})
	}
	if peak > limit {
		bad++
		h.Report.Violate(Violation{VLoad, fmt.Sprintf("resident memory peaked at %.1f MiB under %d pollers (limit %d MiB)", float64(peak)/mib, n, limit/mib)})
	}
	if half > 4 && p2 > p1+8*mib {
		bad++
		h.Report.Violate(Violation{VLoad, fmt.Sprintf("resident memory still growing: %.1f MiB in the first half, %.1f MiB in the second", float64(p1)/mib, float64(p2)/mib)})
	}
	sort.Slice(saleLat, func(i, j int) bool { return saleLat[i] < saleLat[j] })
	p99 := time.Duration(0)
	if len(saleLat) > 0 {
		p99 = saleLat[len(saleLat)*99/100]
	}
	h.Report.Add(Row{Class: "load", Fault: fmt.Sprintf("%d status pollers for %s while sales run", n, d.Round(time.Second)), Times: 1,
		Outcome: fmt.Sprintf("%d polls, %d failed; %d sales, %d failed, p99 %s; RSS %.1f → peak %.1f → %.1f MiB", polls.Load(), pollErrs.Load(),
			sales, saleErrs, p99.Round(time.Millisecond), float64(rss0)/mib, float64(peak)/mib, float64(last)/mib), Bad: bad + saleErrs})
	return nil
}

// bodies sends bodies around the 64 KiB limit.
func (h *Harness) bodies(ctx context.Context) {
	pad := func(total int) string {
		// {"amount":1,"currency":"USD","reference":"XXXX…"}
		head := `{"amount":1,"currency":"USD","reference":"`
		return head + strings.Repeat("A", total-len(head)-2) + `"}`
	}
	cases := []struct {
		name   string
		body   string
		status int
	}{
		{"body of exactly 64 KiB (over-long reference)", pad(64 << 10), 400},
		{"body of 64 KiB + 1 byte", pad(64<<10 + 1), 413},
		{"body of 10 MiB", pad(10 << 20), 413},
	}
	// Where the limit really is: the largest body that is not refused
	// as too large.
	lo, hi := 1000, 1<<20
	for lo+1 < hi {
		mid := (lo + hi) / 2
		if a := h.ecr.Post(ctx, "/cashless/v1/status", pad(mid)); a.Status == 413 {
			hi = mid
		} else {
			lo = mid
		}
	}
	h.Report.Note("The largest request body accepted is %d bytes (the README promises 64 KiB = 65536).", lo)
	for _, c := range cases {
		for _, path := range []string{"/cashless/v1/sale", "/cashless/v1/status"} {
			a := h.ecr.Post(ctx, path, c.body)
			bad := 0
			if a.Status != c.status || a.Code() != daemon.CodeInvalidRequest {
				bad = 1
				h.Report.Violate(Violation{VLoad, fmt.Sprintf("%s to %s: got %s, want %d invalid_request", c.name, path, a.Outcome(), c.status)})
			}
			h.Report.Add(Row{Class: "input", Fault: c.name, Times: 1, Outcome: a.Outcome(), Bad: bad})
		}
	}
}

// slowHeaders sends request headers a byte at a time: the server must cut
// the connection once its 10 s ReadHeaderTimeout (and unauthenticated
// time-out: the key is never seen) passes, while other clients keep being
// served.
func (h *Harness) slowHeaders(ctx context.Context) error {
	pool, err := certs.Pool(filepath.Join(h.dataDir, "certs", certs.CAFile))
	if err != nil {
		return err
	}
	addr := strings.TrimPrefix(h.ecr.Base, "https://")
	// As many as one address may open without the key
	// (api.connections_per_address); more wait, which the hostile suite
	// covers.
	const conns = 16
	type result struct {
		cut  time.Duration
		sent int
		err  error
	}
	results := make(chan result, conns)
	for i := 0; i < conns; i++ {
		go func() {
			cut, sent, err := slowClient(addr, pool, 400*time.Millisecond)
			results <- result{cut, sent, err}
		}()
	}
	// Meanwhile the ECR is served.
	var worst time.Duration
	failed := 0
	deadline := time.Now().Add(8 * time.Second)
	for time.Now().Before(deadline) {
		begin := time.Now()
		if a := h.ecr.Post(ctx, "/cashless/v1/status", "{}"); a.Status != 200 {
			failed++
		}
		worst = max(worst, time.Since(begin))
		time.Sleep(100 * time.Millisecond)
	}
	cuts := tally{}
	bad := 0
	var slowest time.Duration
	for i := 0; i < conns; i++ {
		res := <-results
		slowest = max(slowest, res.cut)
		switch {
		case res.err != nil:
			bad++
			h.Report.Violate(Violation{VLoad, "slow header client: " + res.err.Error()})
		case res.cut < 9*time.Second || res.cut > 13*time.Second:
			bad++
			h.Report.Violate(Violation{VLoad, fmt.Sprintf("slow header connection cut after %s, want about 10 s", res.cut)})
		default:
			cuts["cut after 10-13 s"]++
		}
	}
	if failed > 0 {
		bad++
		h.Report.Violate(Violation{VLoad, fmt.Sprintf("%d status calls failed during the slow-header clients", failed)})
	}
	h.Report.Add(Row{Class: "load", Fault: fmt.Sprintf("%d connections sending headers a byte every 400 ms", conns), Times: conns,
		Outcome: fmt.Sprintf("%s (slowest %s); the ECR's status meanwhile: worst %s, %d failed", cuts, slowest.Round(100*time.Millisecond), worst.Round(time.Millisecond), failed), Bad: bad})
	return nil
}

// slowClient opens a TLS connection and writes a request's headers one
// byte per interval; it returns how long after the handshake the server
// closed the connection.
func slowClient(addr string, pool *x509.CertPool, every time.Duration) (time.Duration, int, error) {
	raw, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, 0, err
	}
	host, _, _ := net.SplitHostPort(addr)
	conn := tls.Client(raw, &tls.Config{RootCAs: pool, ServerName: host, MinVersion: tls.VersionTLS12})
	defer conn.Close()
	if err := conn.Handshake(); err != nil {
		return 0, 0, err
	}
	begin := time.Now()
	closed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, conn)
		close(closed)
	}()
	req := []byte("POST /cashless/v1/status HTTP/1.1\r\nHost: " + host + "\r\nX-VINR-Cashless-Key: " + SimKey + "\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
	sent := 0
	for _, b := range req {
		select {
		case <-closed:
			return time.Since(begin), sent, nil
		case <-time.After(every):
		}
		if _, err := conn.Write([]byte{b}); err != nil {
			return time.Since(begin), sent, nil
		}
		sent++
	}
	select {
	case <-closed:
		return time.Since(begin), sent, fmt.Errorf("the whole request (%d bytes over %s) was accepted", sent, time.Since(begin))
	case <-time.After(5 * time.Second):
		return time.Since(begin), sent, fmt.Errorf("not cut after %s", time.Since(begin))
	}
}
