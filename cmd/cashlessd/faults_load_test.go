package main

import (
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestFaultHundredConcurrentSalesOneRuns fires 100 sales at once, on
// connections opened beforehand so they arrive together: exactly one runs,
// 99 get 409 terminal_busy.
func TestFaultHundredConcurrentSalesOneRuns(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	const n = 100
	tr := d.client.Transport.(*http.Transport)
	tr.MaxIdleConnsPerHost, tr.MaxConnsPerHost = n, n
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); d.post("/cashless/v1/status", "{}") }()
	}
	wg.Wait()
	d.card(map[string]any{"presentAfterMs": 1500})
	start := make(chan struct{})
	results := make([]response, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			results[i] = d.sale(fmt.Sprintf("HUNDRED-%03d", i), int64(100+i))
		}(i)
	}
	close(start)
	wg.Wait()
	ok, busy := 0, 0
	for _, r := range results {
		switch {
		case r.status == 200:
			ok++
		case r.status == 409:
			r.expect(t, 409, "terminal_busy")
			busy++
		default:
			t.Fatalf("unexpected %d: %s", r.status, r.raw)
		}
	}
	if ok != 1 || busy != n-1 {
		t.Fatalf("%d approved, %d busy", ok, busy)
	}
}

// TestFaultPollersWhileSalesRun hammers status from many clients while
// sales run one after another: every sale completes, no poll fails, and
// the heap (daemon and test share this process) does not grow. The full
// version (200 pollers for a minute, the daemon's own RSS) is in
// `make reliability`.
func TestFaultPollersWhileSalesRun(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	d.card(map[string]any{"pan": "5555555555554444", "entryMethod": "contactless", "presentAfterMs": 20})
	const pollers = 16
	window := 3 * time.Second
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	stop := make(chan struct{})
	var polls, failed atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	for i := 0; i < pollers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Timeout: 30 * time.Second, Transport: d.client.Transport.(*http.Transport).Clone()}
			defer c.CloseIdleConnections()
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest(http.MethodPost, d.base+"/cashless/v1/status", strings.NewReader("{}"))
				req.Header.Set("X-VINR-Cashless-Key", simKey)
				resp, err := c.Do(req)
				polls.Add(1)
				if err != nil || resp.StatusCode != 200 {
					failed.Add(1)
					first.CompareAndSwap(nil, fmt.Sprint(err, resp))
				}
				if resp != nil {
					resp.Body.Close()
				}
			}
		}()
	}
	sales := 0
	for deadline := time.Now().Add(window); time.Now().Before(deadline) || sales < 3; sales++ {
		d.sale(fmt.Sprintf("POLL-%04d", sales), int64(100+sales)).expect(t, 200, "")
	}
	close(stop)
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d of %d polls failed; first: %v", failed.Load(), polls.Load(), first.Load())
	}
	d.client.CloseIdleConnections()
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	growth := int64(after.HeapInuse) - int64(before.HeapInuse)
	t.Logf("%d polls, %d sales; heap in use %d → %d KiB", polls.Load(), sales, before.HeapInuse>>10, after.HeapInuse>>10)
	if growth > 32<<20 {
		t.Fatalf("heap grew by %d MiB", growth>>20)
	}
}

// TestFaultBodyLimit: a body over 64 KiB is 413 invalid_request.
func TestFaultBodyLimit(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	body := func(total int) string {
		head := `{"amount":1,"currency":"USD","reference":"`
		return head + strings.Repeat("A", total-len(head)-2) + `"}`
	}
	for _, path := range []string{"/cashless/v1/sale", "/cashless/v1/status"} {
		d.post(path, body(64<<10+1)).expect(t, 413, "invalid_request")
		d.post(path, body(4<<20)).expect(t, 413, "invalid_request")
	}
	t.Run("exactly 64 KiB is not too large", func(t *testing.T) {
		// Not too large (64 KiB exactly), but the reference is too long.
		d.post("/cashless/v1/sale", body(64<<10)).expect(t, 400, "invalid_request")
	})
}
