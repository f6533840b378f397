package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/client"
	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/api/wire"
	"github.com/vinr/cashlessd/daemon/events"
)

// serveEvents runs the API with an event hub over real TLS, on the
// http.Server HTTPServer makes, with its timeouts shortened to timeout.
func serveEvents(t *testing.T, hub *events.Hub, timeout time.Duration, http2 bool) (*client.Client, *http.Server) {
	t.Helper()
	s := New(Options{Engine: &fakeEngine{}, Keys: sharedKey(testKey), Log: zerolog.Nop(), Events: hub})
	srv := s.HTTPServer(nil)
	srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout = timeout, timeout, timeout
	ts := httptest.NewUnstartedServer(srv.Handler)
	ts.Config = srv
	ts.EnableHTTP2 = http2
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return client.New(client.Config{BaseURL: ts.URL, Key: testKey, HTTPClient: ts.Client()}), srv
}

// TestEventStreamOutlivesTheServerTimeouts: the server's read and write
// timeouts end ordinary calls, never a listener's stream.
func TestEventStreamOutlivesTheServerTimeouts(t *testing.T) {
	t.Parallel()
	for _, h2 := range []bool{false, true} {
		hub := events.New(events.Config{FirstID: 1})
		c, _ := serveEvents(t, hub, 500*time.Millisecond, h2)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		// On a loaded machine the handshake itself may outlast the short
		// read timeout; that is the server doing its job, so connect again.
		var s *client.EventStream
		var err error
		for attempt := 0; attempt < 10; attempt++ {
			if s, err = c.Events(ctx, 0); err == nil {
				break
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		for hub.Listeners() != 1 {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(1500 * time.Millisecond) // past both timeouts
		hub.Publish(daemon.Event{Type: daemon.EventPrinter, State: "paper_out"})
		ev, err := s.Next()
		if err != nil || ev.ID != 1 || ev.Type != wire.EventPrinter {
			t.Fatalf("http2 %v: after the timeouts: %+v %v", h2, ev, err)
		}
		_ = s.Close()
	}
}

// TestEventStreamIsGETWithTheKey: the stream is GET only, with the key;
// every other path stays POST only.
func TestEventStreamIsGETWithTheKey(t *testing.T) {
	t.Parallel()
	c, _ := serveEvents(t, events.New(events.Config{}), 10*time.Second, false)
	ctx := context.Background()
	if _, err := c.WithKey("wrong").Events(ctx, 0); apiError(t, err).Code != wire.CodeInvalidKey {
		t.Fatalf("wrong key: %v", err)
	}
	res, err := c.Post(ctx, wire.PathEvents, "{}")
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != http.MethodGet {
		t.Fatalf("POST events: %d %v", res.StatusCode, res.Header)
	}
	req, _ := http.NewRequest(http.MethodGet, c.BaseURL()+wire.PathStatus, nil)
	req.Header.Set(KeyHeader, testKey)
	resp, err := c.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodPost {
		t.Fatalf("GET status: %d", resp.StatusCode)
	}
}

// TestShutdownEndsTheStreams: a listener does not hold up the server's
// shutdown.
func TestShutdownEndsTheStreams(t *testing.T) {
	t.Parallel()
	hub := events.New(events.Config{})
	c, srv := serveEvents(t, hub, 10*time.Second, false)
	s, err := c.Events(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown with a listener: %v", err)
	}
	if _, err := s.Next(); err == nil {
		t.Fatal("the stream goes on after shutdown")
	}
}
