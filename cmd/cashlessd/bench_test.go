package main

import (
	"fmt"
	"testing"
)

// BenchmarkStatusTLS measures status calls over one keep-alive TLS
// connection per goroutine.
func BenchmarkStatusTLS(b *testing.B) {
	d := startDaemon(b, b.TempDir())
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := d.post("/cashless/v1/status", "{}")
			if r.status != 200 {
				b.Errorf("status %d", r.status)
			}
		}
	})
}

// BenchmarkSale measures sequential sales through HTTP, engine, bbolt and
// the simulated devices with zero simulated latency.
func BenchmarkSale(b *testing.B) {
	d := startDaemon(b, b.TempDir())
	d.card(map[string]any{"presentAfterMs": 0})
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		r := d.sale(fmt.Sprintf("BENCH-%d", i), 100)
		if r.status != 200 {
			b.Fatalf("sale %d: %s", r.status, r.raw)
		}
	}
}
