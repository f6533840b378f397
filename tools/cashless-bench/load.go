package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vinr/cashlessd/client"
)

// post sends one call and returns the answer's status and body.
func post(ctx context.Context, c *client.Client, path, body string) (int, []byte, error) {
	res, err := c.Post(ctx, path, body)
	if err != nil {
		return 0, nil, err
	}
	return res.StatusCode, res.Body, nil
}

// load runs clients goroutines posting body to url for window and returns
// how many requests were answered and the rate per second. keepAlive
// false opens a new TLS connection for every request. onTick, when set,
// is called every 100 ms during the load.
func load(ctx context.Context, p *proc, path, body string, clients int, keepAlive bool, window time.Duration, onTick func()) (int64, float64, error) {
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
				// A call under way when the window ends is finished, not
				// cut off: it counts, as it did on the server.
				status, raw, err := post(context.WithoutCancel(ctx), c, path, body)
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
	return n.Load(), float64(n.Load()) / time.Since(start).Seconds(), first
}
