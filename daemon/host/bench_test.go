package host_test

import (
	"fmt"
	"testing"

	"github.com/vinr/cashlessd/daemon/host"
)

// BenchmarkSale runs approved chip sales (PIN block, KSN and ICC data
// included) over loopback TCP and reports what each one puts on the wire,
// both directions, 2-byte length headers included, in each dialect.
func BenchmarkSale(b *testing.B) {
	for _, d := range host.Dialects() {
		b.Run(d, func(b *testing.B) { benchmarkSale(b, d) })
	}
}

func benchmarkSale(b *testing.B, dialect string) {
	r := newRig(b, withLedgerInMemory, withDialect(dialect))
	ctx := testCtx(b)
	if err := r.client.Connect(ctx); err != nil {
		b.Fatal(err)
	}
	before := r.srv.Traffic()
	n := 0
	for b.Loop() {
		n++
		// A ULID-sized transaction ID, as the engine uses.
		resp, err := r.client.Authorise(ctx, sale(fmt.Sprintf("01JBENCH%018d", n), approvedPAN, 1234))
		if err != nil || !resp.Approved {
			b.Fatal(resp, err)
		}
	}
	after := r.srv.Traffic()
	msgs := after.MessagesIn + after.MessagesOut - before.MessagesIn - before.MessagesOut
	in, out := after.BytesIn-before.BytesIn, after.BytesOut-before.BytesOut
	b.ReportMetric(float64(msgs)/float64(n), "msgs/sale")
	b.ReportMetric(float64(in+out)/float64(n), "bytes/sale")
	b.ReportMetric(float64(in)/float64(n), "req-bytes/sale")
	b.ReportMetric(float64(out)/float64(n), "resp-bytes/sale")
}
