package main

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

// TestEventsPrintsOneLinePerEvent: after a sale, `cashless events` from
// an id the terminal no longer holds says so, then prints the sale's
// events, one line each; --after resumes after a given id.
func TestEventsPrintsOneLinePerEvent(t *testing.T) {
	t.Parallel()
	d := startDaemon(t)
	d.card(t, `{"pan":"4242424242424242","presentAfterMs":0}`)
	d.cli(t, "sale", "--amount", "1500", "--currency", "USD", "--reference", "POS-EV1").want(t, 0, "APPROVED")
	// How many events the terminal holds up to the sale's outcome (the
	// CLI follows until --count).
	held := 0
	s, err := d.client.Events(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	for {
		ev, err := s.Next()
		if err != nil {
			t.Fatal(err)
		}
		held++
		if ev.Type == "outcome" {
			break
		}
	}
	_ = s.Close()
	count := strconv.Itoa(held)

	r := d.cli(t, "events", "--after", "1", "--json", "--count", count)
	var ids []int64
	var types []string
	for line := range strings.Lines(r.stdout) {
		var ev struct {
			ID   int64           `json:"id"`
			Type string          `json:"event"`
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("not one JSON event per line: %q: %v", line, err)
		}
		ids, types = append(ids, ev.ID), append(types, ev.Type)
		if ev.Type == "outcome" {
			break
		}
	}
	if len(types) < 4 || types[0] != "gap" || types[len(types)-1] != "outcome" {
		t.Fatalf("events after an unknown id: %v\n%s", types, r.stdout)
	}

	// Resume after the second held event: the same events from the third.
	after := strconv.FormatInt(ids[2], 10)
	r = d.cli(t, "events", "--after", after, "--count", "1").want(t, 0, strconv.FormatInt(ids[3], 10))
	if strings.Count(r.stdout, "\n") != 1 || strings.Contains(r.stdout, after+"  ") {
		t.Errorf("one line after %s: %q", after, r.stdout)
	}
	r = d.cli(t, "events", "--after", "1", "--count", count)
	if !strings.Contains(r.stdout, "outcome  sale  POS-EV1") || !strings.Contains(r.stdout, "stage  sale  POS-EV1") ||
		!strings.Contains(r.stdout, "waiting_for_card") || !strings.Contains(r.stdout, "events were lost") {
		t.Errorf("human lines:\n%s", r.stdout)
	}
	d.cli(t, "events", "--after", "-3").want(t, exitUsage, "negative")
	runCLI(t, map[string]string{"CASHLESS_ADDR": d.addr, "CASHLESS_CA": d.ca, "CASHLESS_KEY": "ck_live_wrong"}, "events").
		want(t, exitRefused, "invalid_key")
}
