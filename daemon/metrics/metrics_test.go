package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/vinr/cashlessd/daemon"
)

func TestLabelledMetricsCountUnderTheirNames(t *testing.T) {
	t.Parallel()
	m := New()
	for range 3 {
		m.Request("/cashless/v1/status", 200, time.Millisecond)
	}
	m.Request("/cashless/v1/status", 401, time.Millisecond)
	m.TransactionFinished(daemon.KindSale, daemon.StatusApproved, time.Second)
	m.TransactionFinished(daemon.KindSale, daemon.StatusApproved, time.Second)
	m.StageFinished(daemon.StageAuthorising, time.Second)
	var out strings.Builder
	m.set.WritePrometheus(&out)
	for _, want := range []string{
		`cashless_http_requests_total{path="/cashless/v1/status",status="200"} 3`,
		`cashless_http_requests_total{path="/cashless/v1/status",status="401"} 1`,
		`cashless_http_request_duration_seconds_count{path="/cashless/v1/status"} 4`,
		`cashless_transactions_total{kind="sale",status="approved"} 2`,
		`cashless_transaction_duration_seconds_count{kind="sale"} 2`,
		`cashless_stage_duration_seconds_count{stage="authorising"} 1`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("missing %s in\n%s", want, out.String())
		}
	}
}
