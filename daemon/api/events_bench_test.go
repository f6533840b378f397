package api

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/vinr/cashlessd/client"
	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/events"
)

// BenchmarkEventLatency is the time from a stage change (the engine's
// Publish) until the event is parsed by a client.Events reader over real
// TLS on loopback, with 1 and 10 listeners (the last listener to read
// it). ns/op is the mean; p50-µs and p99-µs the percentiles.
func BenchmarkEventLatency(b *testing.B) {
	for _, listeners := range []int{1, 10} {
		b.Run(fmt.Sprintf("listeners=%d", listeners), func(b *testing.B) {
			hub := events.New(events.Config{})
			s := New(Options{Engine: &fakeEngine{}, Keys: sharedKey(testKey), Events: hub})
			srv := s.HTTPServer(nil)
			c, stop := startBenchServer(b, srv)
			defer stop()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			streams := make([]*client.EventStream, listeners)
			for i := range streams {
				st, err := c.Events(ctx, 0)
				if err != nil {
					b.Fatal(err)
				}
				defer st.Close()
				streams[i] = st
			}
			got := make(chan time.Time, listeners)
			for _, st := range streams {
				go func() {
					for {
						if _, err := st.Next(); err != nil {
							return
						}
						got <- time.Now()
					}
				}()
			}
			ev := daemon.Event{Type: daemon.EventStage, Reference: "BENCH-1", TransactionID: "tpay_1", Kind: "sale",
				Stage: daemon.StageAuthorising, Time: time.Now()}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				hub.Publish(ev)
				var last time.Time
				for range listeners {
					last = <-got
				}
				lat = append(lat, last.Sub(start))
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}

// startBenchServer serves srv over TLS on loopback for a benchmark.
func startBenchServer(b *testing.B, srv *http.Server) (*client.Client, func()) {
	b.Helper()
	ts := httptest.NewUnstartedServer(srv.Handler)
	ts.Config = srv
	ts.StartTLS()
	return client.New(client.Config{BaseURL: ts.URL, Key: testKey, HTTPClient: ts.Client()}), ts.Close
}
