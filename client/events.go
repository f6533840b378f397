package client

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/vinr/cashlessd/daemon/api/wire"
)

// maxEventLine bounds one line of the event stream.
const maxEventLine = 64 << 10

// Event is one event of the live event stream: its id (0 for a gap event,
// which has none), its type (wire.EventStage, …) and its JSON data (the
// matching wire type).
type Event struct {
	ID   int64
	Type string
	Data json.RawMessage
}

// EventStream reads the live event stream. It is not safe for concurrent
// use; Close may be called from another goroutine.
type EventStream struct {
	body   io.ReadCloser
	lines  *bufio.Scanner
	lastID int64
}

// Events opens the live event stream. With lastID > 0 the terminal first
// sends every event after lastID it still holds (or a wire.EventGap event
// when it does not hold them all). The stream lasts until ctx ends, Close,
// or the terminal ends it (shutdown, a listener too slow to keep up); open
// it again with LastID to go on without duplicates or holes. A refusal is
// an *Error, no answer a *TransportError.
func (c *Client) Events(ctx context.Context, lastID int64) (*EventStream, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+wire.PathEvents, nil)
	if err != nil {
		return nil, &TransportError{Err: err}
	}
	req.Header.Set("Accept", wire.EventStreamType)
	if c.agent != "" {
		req.Header.Set("User-Agent", c.agent)
	}
	if c.key != "" {
		req.Header.Set(wire.KeyHeader, c.key)
		if c.sign {
			if err := c.signRequest(req, nil); err != nil {
				return nil, &TransportError{Err: err}
			}
		}
	}
	if lastID > 0 {
		req.Header.Set(wire.LastEventIDHeader, strconv.FormatInt(lastID, 10))
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, &TransportError{Err: err, Sent: !neverSent(err)}
	}
	if res.StatusCode != http.StatusOK {
		defer res.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
		return nil, (&Response{StatusCode: res.StatusCode, Header: res.Header, Body: body}).Err()
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, wire.EventStreamType) {
		res.Body.Close()
		return nil, fmt.Errorf("%s: answered %q, not an event stream", wire.PathEvents, ct)
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 0, 4096), maxEventLine)
	return &EventStream{body: res.Body, lines: sc, lastID: lastID}, nil
}

// Next returns the next event; comments (keep-alives) are skipped. At
// the stream's end it returns io.EOF, or the error that ended it.
func (s *EventStream) Next() (Event, error) {
	var (
		ev   Event
		data []string
		seen bool
	)
	for s.lines.Scan() {
		line := s.lines.Text()
		if line == "" {
			if !seen {
				continue
			}
			ev.Data = json.RawMessage(strings.Join(data, "\n"))
			if ev.Type == "" {
				ev.Type = "message"
			}
			if ev.ID > 0 {
				s.lastID = ev.ID
			}
			return ev, nil
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		seen = true
		switch field {
		case "id":
			if id, err := strconv.ParseInt(value, 10, 64); err == nil {
				ev.ID = id
			}
		case "event":
			ev.Type = value
		case "data":
			data = append(data, value)
		}
	}
	if err := s.lines.Err(); err != nil {
		return Event{}, err
	}
	return Event{}, io.EOF
}

// LastID is the id of the last event read (or the lastID the stream was
// opened with): what to resume after.
func (s *EventStream) LastID() int64 { return s.lastID }

// Close ends the stream.
func (s *EventStream) Close() error { return s.body.Close() }
