package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	apiclient "github.com/vinr/cashlessd/client"
	"github.com/vinr/cashlessd/daemon/api/wire"
)

// Reconnect delays of `cashless events`: the first retry, and the longest
// wait between retries while the terminal cannot be reached.
const (
	eventsRetryFirst = 500 * time.Millisecond
	eventsRetryMax   = 10 * time.Second
)

// events follows the terminal's live event stream and prints one line per
// event until Ctrl-C (or --count events). A dropped stream is opened again
// with the last id seen, so no event is printed twice or skipped; when the
// terminal no longer holds the missed events it says so with a gap line.
func (m *Main) events(ctx context.Context, o *options, args []string) error {
	fs := flag.NewFlagSet("cashless events", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	after := fs.Int64("after", 0, "start after event `id` (as Last-Event-ID); 0: only new events")
	count := fs.Int("count", 0, "stop after `n` events (0: follow until Ctrl-C)")
	o.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(m.Stdout, "usage: cashless events [--after ID] [--count N] [--json]\n\n"+
				"Follow the terminal's live events (stages, prompts, outcomes, printer, reader, batches), one line each;\n"+
				"reconnects by itself and resumes after the last event seen.\n\nflags:\n")
			fs.SetOutput(m.Stdout)
			fs.PrintDefaults()
			return nil
		}
		return m.usageError(fmt.Sprintf("events: %v", err))
	}
	if fs.NArg() > 0 {
		return m.usageError(fmt.Sprintf("events: unexpected argument %q", fs.Arg(0)))
	}
	if *after < 0 || *count < 0 {
		return m.usageError("events: --after and --count must not be negative")
	}
	s, err := m.openSession(ctx, o)
	if err != nil {
		return err
	}
	defer s.client.close()
	return m.followEvents(ctx, s, *after, *count)
}

// followEvents prints events, reopening the stream after the last id
// whenever it ends, until ctx ends or count events were printed.
func (m *Main) followEvents(ctx context.Context, s *session, lastID int64, count int) error {
	printed := 0
	wait := eventsRetryFirst
	for {
		stream, err := s.client.api.Events(ctx, lastID)
		var refused *apiclient.Error
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.As(err, &refused):
			fmt.Fprintf(m.Stderr, "cashless: events: %v\n", err)
			return exitWith(exitRefused, err.Error())
		case err != nil:
			fmt.Fprintf(m.Stderr, "cashless: events: %v; retrying in %s\n", err, wait)
		default:
			wait = eventsRetryFirst
			for {
				ev, err := stream.Next()
				if err != nil {
					break
				}
				m.printEvent(s.opts.json, ev)
				printed++
				if count > 0 && printed >= count {
					_ = stream.Close()
					return nil
				}
			}
			lastID = stream.LastID()
			_ = stream.Close()
			if ctx.Err() != nil {
				return nil
			}
			fmt.Fprintf(m.Stderr, "cashless: events: stream ended; resuming after %d\n", lastID)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(wait*2, eventsRetryMax)
	}
}

// eventFields are the data fields a line shows, in this order.
var eventFields = []string{"type", "reference", "transactionId", "stage", "prompt", "status", "state", "declineCode",
	"errorCode", "totalAmount", "currency", "transactionCount", "receiptPrinted", "message", "lines", "lastEventId", "oldestEventId"}

// printEvent writes one event as one line: with --json the event as a JSON
// object, else its id, time, event type and the fields worth reading.
func (m *Main) printEvent(asJSON bool, ev apiclient.Event) {
	if asJSON {
		line, err := json.Marshal(struct {
			ID   int64           `json:"id,omitempty"`
			Type string          `json:"event"`
			Data json.RawMessage `json:"data"`
		}{ev.ID, ev.Type, ev.Data})
		if err == nil {
			fmt.Fprintln(m.Stdout, string(line))
		}
		return
	}
	var data map[string]any
	_ = json.Unmarshal(ev.Data, &data)
	id := "-"
	if ev.ID > 0 {
		id = strconv.FormatInt(ev.ID, 10)
	}
	parts := []string{id, fmt.Sprint(data["time"]), ev.Type}
	if ev.Type == wire.EventGap {
		parts = append(parts, "events were lost:")
	}
	for _, k := range eventFields {
		v, ok := data[k]
		if !ok || v == "" {
			continue
		}
		switch x := v.(type) {
		case []any:
			var lines []string
			for _, l := range x {
				lines = append(lines, fmt.Sprint(l))
			}
			parts = append(parts, strconv.Quote(strings.Join(lines, " / ")))
		case float64:
			parts = append(parts, k+"="+strconv.FormatFloat(x, 'f', -1, 64))
		case string:
			if k == "type" || k == "reference" || k == "stage" || k == "prompt" || k == "status" || k == "state" {
				parts = append(parts, x)
			} else {
				parts = append(parts, k+"="+x)
			}
		default:
			parts = append(parts, fmt.Sprintf("%s=%v", k, x))
		}
	}
	fmt.Fprintln(m.Stdout, strings.Join(parts, "  "))
}
