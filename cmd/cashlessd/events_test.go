package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vinr/cashlessd/certs"
	"github.com/vinr/cashlessd/client"
	"github.com/vinr/cashlessd/daemon/api/wire"
)

// eventClient is an API client for d without an overall time limit (a
// stream lasts as long as its context).
func (d *daemonUnderTest) eventClient() *client.Client {
	d.t.Helper()
	pool, err := certs.Pool(filepath.Join(d.dataDir, "certs", certs.CAFile))
	if err != nil {
		d.t.Fatal(err)
	}
	c := client.New(client.Config{BaseURL: d.base, Key: d.key, RootCAs: pool})
	d.t.Cleanup(c.CloseIdleConnections)
	return c
}

// openEvents opens the event stream after lastID (0: only new events).
func (d *daemonUnderTest) openEvents(ctx context.Context, lastID int64) *client.EventStream {
	d.t.Helper()
	s, err := d.eventClient().Events(ctx, lastID)
	if err != nil {
		d.t.Fatalf("events: %v", err)
	}
	d.t.Cleanup(func() { _ = s.Close() })
	return s
}

// eventData is an event's data as a map.
func eventData(t testing.TB, ev client.Event) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(ev.Data, &m); err != nil {
		t.Fatalf("event %d %s: data %s: %v", ev.ID, ev.Type, ev.Data, err)
	}
	return m
}

// readUntilOutcome reads events until the outcome of reference and
// returns every event read, in order.
func readUntilOutcome(t testing.TB, s *client.EventStream, reference string) []client.Event {
	t.Helper()
	var got []client.Event
	for {
		ev, err := s.Next()
		if err != nil {
			t.Fatalf("stream ended before the outcome of %s (after %d events): %v", reference, len(got), err)
		}
		got = append(got, ev)
		if ev.Type == wire.EventOutcome && eventData(t, ev)["reference"] == reference {
			return got
		}
	}
}

// story is the events of one reference as "type:stage-or-prompt-or-status".
func story(t testing.TB, evs []client.Event, reference string) []string {
	t.Helper()
	var out []string
	for _, ev := range evs {
		d := eventData(t, ev)
		if d["reference"] != reference {
			continue
		}
		what := ""
		for _, k := range []string{"stage", "prompt", "status"} {
			if v, ok := d[k].(string); ok {
				what = v
				break
			}
		}
		out = append(out, ev.Type+":"+what)
	}
	return out
}

// increasing checks that event ids only grow.
func increasing(t testing.TB, evs []client.Event) {
	t.Helper()
	for i := 1; i < len(evs); i++ {
		if evs[i].ID <= evs[i-1].ID {
			t.Fatalf("event ids not increasing: %d after %d", evs[i].ID, evs[i-1].ID)
		}
	}
}

// TestEventsFollowASaleAndResume follows a sale on the live event stream
// over real TLS: its stages, the prompt the reader showed and its outcome
// arrive in order; a second listener sees the very same events; a client
// that reconnects with Last-Event-ID gets exactly what came after it.
func TestEventsFollowASaleAndResume(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	d.card(map[string]any{"pan": "4242424242424242", "entryMethod": "contactless", "presentAfterMs": 0})
	first := d.openEvents(ctx, 0)
	second := d.openEvents(ctx, 0)

	d.post("/cashless/v1/sale", map[string]any{"amount": 1500, "currency": "USD", "reference": "EV-1", "printReceipt": true}).expect(t, 200, "")
	got := readUntilOutcome(t, first, "EV-1")
	increasing(t, got)
	want := []string{"stage:waiting_for_card", "prompt:present_card", "stage:reading_card", "stage:authorising",
		"stage:completing", "stage:printing", "stage:done", "outcome:approved"}
	if s := story(t, got, "EV-1"); !slices.Equal(s, want) {
		t.Fatalf("events of EV-1:\n got  %v\n want %v", s, want)
	}
	out := eventData(t, got[len(got)-1])
	if out["transactionId"] == "" || out["totalAmount"] != 1500.0 || out["type"] != "sale" || out["receiptPrinted"] != true {
		t.Errorf("outcome event: %v", out)
	}

	// The second listener saw the same events (from the moment it
	// listened: a printer event may come between the two).
	again := readUntilOutcome(t, second, "EV-1")
	tail := got[len(got)-min(len(got), len(again)):]
	if len(again) != len(tail) || len(again) < len(want) {
		t.Fatalf("second listener: %d events, first %d", len(again), len(got))
	}
	for i := range tail {
		if again[i].ID != tail[i].ID || string(again[i].Data) != string(tail[i].Data) {
			t.Fatalf("listeners differ at %d: %d %s / %d %s", i, tail[i].ID, tail[i].Data, again[i].ID, again[i].Data)
		}
	}

	// A client that dropped after the third event resumes after it: no
	// duplicate, no hole.
	_ = second.Close()
	resumed := d.openEvents(ctx, got[2].ID)
	rest := readUntilOutcome(t, resumed, "EV-1")
	if len(rest) != len(got)-3 {
		t.Fatalf("resumed after %d: %d events, want %d", got[2].ID, len(rest), len(got)-3)
	}
	for i, ev := range rest {
		if ev.ID != got[i+3].ID || string(ev.Data) != string(got[i+3].Data) {
			t.Fatalf("resumed event %d: %d %s, want %d %s", i, ev.ID, ev.Data, got[i+3].ID, got[i+3].Data)
		}
	}
	if resumed.LastID() != got[len(got)-1].ID {
		t.Errorf("LastID %d, want %d", resumed.LastID(), got[len(got)-1].ID)
	}

	// A declined sale ends with its decline code.
	d.card(map[string]any{"pan": "4000000000009995"})
	d.post("/cashless/v1/sale", map[string]any{"amount": 1600, "currency": "USD", "reference": "EV-2"}).expect(t, 402, "card_declined")
	evs := readUntilOutcome(t, first, "EV-2")
	if o := eventData(t, evs[len(evs)-1]); o["status"] != "declined" || o["declineCode"] != "insufficient_funds" || o["errorCode"] != "card_declined" {
		t.Errorf("decline outcome: %v", o)
	}

	// A batch close: its stage, settling, closed.
	d.post("/cashless/v1/batch/close", map[string]any{"reference": "EV-EOD"}).expect(t, 200, "")
	var batch []string
	for len(batch) < 3 {
		ev, err := first.Next()
		if err != nil {
			t.Fatal(err)
		}
		data := eventData(t, ev)
		if data["reference"] == "EV-EOD" {
			batch = append(batch, ev.Type+":"+fmt.Sprint(data["stage"], data["status"]))
		}
	}
	if want := []string{"stage:authorising<nil>", "batch:<nil>settling", "batch:<nil>closed"}; !slices.Equal(batch, want) {
		t.Errorf("batch events %v, want %v", batch, want)
	}
}

// TestEventsSayWhenTheyCannotResume: a Last-Event-ID the terminal no
// longer holds (here: from before it started) gets a gap event first, and
// the stream goes on with what it holds. A malformed one is refused.
func TestEventsSayWhenTheyCannotResume(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	d.card(map[string]any{"presentAfterMs": 0})
	live := d.openEvents(ctx, 0)
	d.sale("GAP-1", 1200).expect(t, 200, "")
	held := readUntilOutcome(t, live, "GAP-1")

	s := d.openEvents(ctx, 1)
	ev, err := s.Next()
	if err != nil {
		t.Fatal(err)
	}
	gap := eventData(t, ev)
	if ev.Type != wire.EventGap || ev.ID != 0 || gap["lastEventId"] != 1.0 {
		t.Fatalf("first event after an unknown Last-Event-ID: %d %s %s", ev.ID, ev.Type, ev.Data)
	}
	all := readUntilOutcome(t, s, "GAP-1")
	if int64(gap["oldestEventId"].(float64)) != all[0].ID {
		t.Errorf("gap names oldest %v, stream went on from %d", gap["oldestEventId"], all[0].ID)
	}
	if tail := all[len(all)-len(held):]; tail[0].ID != held[0].ID {
		t.Errorf("the stream after the gap misses held events: %d, want %d", tail[0].ID, held[0].ID)
	}

	// A malformed header cannot be sent through client.Events.
	conn := rawEventRequest(t, d, "Last-Event-ID: soon\r\n")
	line, _ := bufio.NewReader(conn).ReadString('\n')
	if !strings.Contains(line, " 400 ") {
		t.Errorf("malformed Last-Event-ID: %q", line)
	}
}

// rawEventRequest sends GET /cashless/v1/events with the key and extra
// header lines over its own TLS connection and never reads the answer
// unless the caller does.
func rawEventRequest(t testing.TB, d *daemonUnderTest, extra string) net.Conn {
	t.Helper()
	pool, err := certs.Pool(filepath.Join(d.dataDir, "certs", certs.CAFile))
	if err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimPrefix(d.base, "https://")
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\n%s: %s\r\n%s\r\n", wire.PathEvents, addr, keyHeader, d.key, extra)
	return conn
}

// TestAStalledListenerNeverHoldsUpASale: a listener that stops reading
// (its connection open, nothing read) does not slow the engine; other
// listeners go on getting every event.
func TestAStalledListenerNeverHoldsUpASale(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	d.card(map[string]any{"presentAfterMs": 0})
	for range 3 {
		rawEventRequest(t, d, "") // never read
	}
	live := d.openEvents(ctx, 0)
	for i := range 20 {
		ref := fmt.Sprintf("STALL-%02d", i)
		d.sale(ref, int64(1000+i)).expect(t, 200, "")
		if s := story(t, readUntilOutcome(t, live, ref), ref); s[len(s)-1] != "outcome:approved" {
			t.Fatalf("%s: %v", ref, s)
		}
	}
}
