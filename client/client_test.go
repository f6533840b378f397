package client

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/vinr/cashlessd/daemon/api/wire"
)

// echoServer answers every call with what it got: the body, the key and
// the user agent, as JSON, over real TLS on loopback.
func echoServer(t *testing.T) *httptest.Server {
	t.Helper()
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Got-Key", r.Header.Get(wire.KeyHeader))
		w.Header().Set("X-Got-Agent", r.Header.Get("User-Agent"))
		w.Header().Set("X-Got-Body", string(body))
		switch r.URL.Path {
		case "/busy":
			w.WriteHeader(http.StatusConflict)
			_, _ = w.Write([]byte(`{"error":{"code":"terminal_busy","message":"Another transaction is active."}}`))
		case "/proxy":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte(`<html>bad gateway</html>`))
		case "/hangup":
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		default:
			_, _ = w.Write([]byte(`{"status":"ok"}`))
		}
	}))
	t.Cleanup(ts.Close)
	return ts
}

func TestPostSendsBodiesKeyAndAgent(t *testing.T) {
	t.Parallel()
	ts := echoServer(t)
	c := New(Config{BaseURL: ts.URL + "/", Key: "ck_test", UserAgent: "ecr/1", HTTPClient: ts.Client()})
	for _, tc := range []struct {
		body any
		want string
	}{
		{`{"amount":` /* sent as is, malformed */, `{"amount":`},
		{[]byte(`[]`), `[]`},
		{nil, ``},
		{wire.CancelRequest{Reference: wire.Ptr("POS-1")}, `{"reference":"POS-1"}`},
		{wire.CancelRequest{}, `{}`},
	} {
		res, err := c.Post(context.Background(), "/x", tc.body)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Header.Get("X-Got-Body"); got != tc.want {
			t.Errorf("body %q, want %q", got, tc.want)
		}
		if res.Header.Get("X-Got-Key") != "ck_test" || res.Header.Get("X-Got-Agent") != "ecr/1" || res.Err() != nil {
			t.Errorf("%v %v", res.Header, res.Err())
		}
	}
	res, err := c.WithKey("").Post(context.Background(), "/x", "{}")
	if err != nil || res.Header.Get("X-Got-Key") != "" {
		t.Fatalf("no key: %v %v", res, err)
	}
}

func TestRefusalsAreErrorsWithCodeAndStatus(t *testing.T) {
	t.Parallel()
	ts := echoServer(t)
	c := New(Config{BaseURL: ts.URL, HTTPClient: ts.Client()})
	_, _, err := call[wire.OK](context.Background(), c, "/busy", wire.EmptyRequest{})
	var e *Error
	if !errors.As(err, &e) || e.HTTPStatus != 409 || e.Code != "terminal_busy" || e.Message != "Another transaction is active." {
		t.Fatalf("%#v", err)
	}
	_, _, err = call[wire.OK](context.Background(), c, "/proxy", wire.EmptyRequest{})
	if !errors.As(err, &e) || e.HTTPStatus != 502 || e.Code != "" {
		t.Fatalf("%#v", err)
	}
}

// TestTransportErrorsSayWhetherTheRequestWentOut: a refused connection or
// an untrusted certificate never reached the terminal; a connection lost
// after the request may have started a transaction.
func TestTransportErrorsSayWhetherTheRequestWentOut(t *testing.T) {
	t.Parallel()
	ts := echoServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "https://" + ln.Addr().String()
	ln.Close()
	for _, tc := range []struct {
		name string
		c    *Client
		path string
		sent bool
	}{
		{"refused", New(Config{BaseURL: closed}), "/x", false},
		{"untrusted", New(Config{BaseURL: ts.URL}), "/x", false},
		{"hung up", New(Config{BaseURL: ts.URL, HTTPClient: ts.Client()}), "/hangup", true},
	} {
		_, err := tc.c.Post(context.Background(), tc.path, "{}")
		var te *TransportError
		if !errors.As(err, &te) || te.Sent != tc.sent {
			t.Errorf("%s: %#v, want Sent %v", tc.name, err, tc.sent)
		}
	}
}
