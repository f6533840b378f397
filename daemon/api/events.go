package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/api/wire"
	"github.com/vinr/cashlessd/daemon/events"
)

// Timing of the live event stream.
const (
	// eventKeepAlive is how often a comment line keeps a quiet stream
	// (and the proxies and NATs on its way) alive.
	eventKeepAlive = 15 * time.Second
	// eventWriteTimeout bounds one write to a listener: a listener that
	// takes longer is gone and its connection is closed.
	eventWriteTimeout = 30 * time.Second
)

// eventStreams ends every open event stream when the HTTP server shuts
// down (streams never end by themselves, so Shutdown would wait for them).
type eventStreams struct {
	done chan struct{}
}

// routeEvents adds GET PathEvents when the server has an event hub.
func (s *Server) routeEvents() {
	s.streams = eventStreams{done: make(chan struct{})}
	if s.events != nil {
		s.echo.GET(wire.PathEvents, s.route(s.eventStream))
	}
}

// endStreams ends the open event streams; the HTTP server calls it when it
// shuts down.
func (s *Server) endStreams() {
	select {
	case <-s.streams.done:
	default:
		close(s.streams.done)
	}
}

// allowedMethod is the one method a path accepts: GET for the event
// stream, POST for everything else.
func allowedMethod(path string) string {
	if path == wire.PathEvents {
		return http.MethodGet
	}
	return http.MethodPost
}

// eventStream serves the live event stream (Server-Sent Events): the
// events after Last-Event-ID first (or a gap event when they are lost),
// then every event as it happens, with a keep-alive comment every 15 s.
// A listener that falls too far behind is disconnected and resumes with
// Last-Event-ID; it never holds up the engine.
func (s *Server) eventStream(c echo.Context) error {
	var (
		lastID int64
		resume bool
	)
	if v := strings.TrimSpace(c.Request().Header.Get(wire.LastEventIDHeader)); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id < 0 {
			return daemon.Errorf(daemon.CodeInvalidRequest, "%s: must be the id of an event (a number).", wire.LastEventIDHeader)
		}
		lastID, resume = id, true
	}
	sub := s.events.Subscribe(lastID, resume)
	defer sub.Close()

	w := c.Response()
	rc := http.NewResponseController(w)
	// The stream outlives the server's read and write timeouts: no
	// body is read, and every write gets its own deadline.
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set(echo.HeaderContentType, wire.EventStreamType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(b []byte) error {
		if err := rc.SetWriteDeadline(time.Now().Add(eventWriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		return rc.Flush()
	}
	// A first comment tells the client the stream is open.
	if err := send([]byte(": cashlessd events\n\n")); err != nil {
		return nil
	}
	keepAlive := time.NewTicker(eventKeepAlive)
	defer keepAlive.Stop()
	ctx := c.Request().Context()
	// A key revoked, rotated away or stripped of its scope while the
	// stream is open ends it before the next event or keep-alive.
	key := c.Request().Header.Get(KeyHeader)
	allowed := func() bool {
		p, ok := s.authenticateKey(key)
		return ok && p.Has(routeScope(wire.PathEvents))
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.streams.done:
			return nil
		case <-keepAlive.C:
			if !allowed() || send([]byte(": keep-alive\n\n")) != nil {
				return nil
			}
		case m, ok := <-sub.Events():
			if !ok {
				if sub.Dropped() {
					s.log.Info().Str("remote", c.RealIP()).Msg("event listener too slow; disconnected (it resumes with Last-Event-ID)")
				}
				return nil
			}
			if !allowed() || send(frame(m)) != nil {
				return nil
			}
		}
	}
}

// frame is one event as Server-Sent Events writes it.
func frame(m events.Message) []byte {
	var b strings.Builder
	if m.ID != 0 {
		fmt.Fprintf(&b, "id: %d\n", m.ID)
	}
	fmt.Fprintf(&b, "event: %s\ndata: %s\n\n", m.Type, m.Data)
	return []byte(b.String())
}
