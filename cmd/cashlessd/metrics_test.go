package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// metricsAddr finds the metrics listener's address in the daemon's log.
func (d *daemonUnderTest) metricsAddr() string {
	for _, line := range strings.Split(d.logs.String(), "\n") {
		var rec struct{ Metrics, Message string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Message == "metrics listening" {
			return rec.Metrics
		}
	}
	d.t.Fatal("metrics listener not logged")
	return ""
}

func TestMetricsEndpoint(t *testing.T) {
	t.Parallel()
	cfg := writeConfig(t, "[metrics]\nlisten = \"127.0.0.1:0\"\n")
	d := startDaemon(t, t.TempDir(), "--config", cfg)
	d.card(map[string]any{"presentAfterMs": 0})
	d.sale("MET-0", 100).expect(t, 200, "")
	// A sale costs two commits; a counter (STAN, 9F41) reserving its next
	// block of numbers adds one now and then, never to every sale.
	least, most := 1e9, 0.0
	for i := 1; i <= 3; i++ {
		commits := d.metricValue("cashless_db_commits_total")
		d.sale(fmt.Sprintf("MET-%d", i), 100).expect(t, 200, "")
		got := d.metricValue("cashless_db_commits_total") - commits
		least, most = min(least, got), max(most, got)
	}
	if least != 2 || most > 3 {
		t.Errorf("sales cost %v to %v bbolt commits, want 2 (3 with a counter block)", least, most)
	}
	d.card(map[string]any{"pan": "4000000000000002"})
	d.sale("MET-DECLINED", 100).expect(t, 402, "card_declined")
	text := d.metrics()
	for _, want := range []string{
		`cashless_transactions_total{kind="sale",status="approved"} 4`,
		`cashless_transactions_total{kind="sale",status="declined"} 1`,
		`cashless_http_requests_total{path="/cashless/v1/sale",status="200"} 4`,
		`cashless_stage_duration_seconds_bucket{stage="authorising"`,
		`cashless_pending_reversals 0`,
		`cashless_terminal_busy 0`,
		`process_resident_memory_bytes`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// metrics scrapes the metrics endpoint.
func (d *daemonUnderTest) metrics() string {
	resp, err := http.Get("http://" + d.metricsAddr() + "/metrics")
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

// metricValue reads one un-labelled metric.
func (d *daemonUnderTest) metricValue(name string) float64 {
	for _, line := range strings.Split(d.metrics(), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == name {
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				d.t.Fatal(err)
			}
			return v
		}
	}
	d.t.Fatalf("no metric %s", name)
	return 0
}
