package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// post sends one call with the simulator key.
func post(c *http.Client, url, body string) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-VINR-Cashless-Key", simKey)
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

// load runs clients goroutines posting body to url for window and returns
// requests per second. keepAlive false opens a new TLS connection for
// every request. onTick, when set, is called every 100 ms during the load.
func load(ctx context.Context, p *proc, path, body string, clients int, keepAlive bool, window time.Duration, onTick func()) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, window)
	defer cancel()
	var (
		n     atomic.Int64
		wg    sync.WaitGroup
		errMu sync.Mutex
		first error
	)
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := p.client(keepAlive)
			defer c.CloseIdleConnections()
			for ctx.Err() == nil {
				status, raw, err := post(c, p.base+path, body)
				if err == nil && status != http.StatusOK {
					err = fmt.Errorf("status %d: %s", status, raw)
				}
				if err != nil {
					if ctx.Err() == nil {
						errMu.Lock()
						if first == nil {
							first = err
						}
						errMu.Unlock()
					}
					return
				}
				n.Add(1)
			}
		}()
	}
	start := time.Now()
	if onTick != nil {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
	loop:
		for {
			select {
			case <-ctx.Done():
				break loop
			case <-tick.C:
				onTick()
			}
		}
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds(), first
}
