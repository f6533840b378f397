package connlimit

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// serve runs an HTTP server behind a Listener on loopback; a request
// with "X-Key: ok" authenticates its connection.
func serve(t *testing.T, cfg Config) (*Listener, string) {
	t.Helper()
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(tcp, cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Key") == "ok" {
			Authenticate(r.Context())
		}
		if Authenticated(r.Context()) {
			_, _ = io.WriteString(w, "served")
			return
		}
		w.WriteHeader(http.StatusUnauthorized)
	}), ReadHeaderTimeout: time.Minute}
	l.Hook(srv)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l, tcp.Addr().String()
}

func dialFrom(t *testing.T, ip, addr string) net.Conn {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// ask sends one request on c and returns the status ("" when the
// connection was closed instead).
func ask(t *testing.T, c net.Conn, key string) string {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Key: "+key+"\r\n\r\n"); err != nil {
		return ""
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return ""
	}
	res.Body.Close()
	return res.Status
}

// closedByServer waits (up to a generous bound) for the server to close c.
func closedByServer(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

// eventually polls the listener's counters until ok holds.
func eventually(t *testing.T, l *Listener, ok func(Stats) bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !ok(l.Stats()); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("listener stuck at %+v", l.Stats())
		}
	}
}

func TestOverTheAddressCapConnectionsWaitUntilOneAuthenticates(t *testing.T) {
	t.Parallel()
	l, addr := serve(t, Config{Max: 8, Reserved: 2, PerAddress: 2, UnauthenticatedTimeout: time.Minute})
	first := dialFrom(t, "127.0.0.2", addr)
	dialFrom(t, "127.0.0.2", addr)
	third := dialFrom(t, "127.0.0.2", addr)
	eventually(t, l, func(s Stats) bool { return s.Open == 3 && s.Waiting == 1 })

	other := dialFrom(t, "127.0.0.3", addr) // another address has room
	if got := ask(t, other, "no"); got != "401 Unauthorized" {
		t.Fatalf("another address: %q", got)
	}
	if got := ask(t, first, "ok"); got != "200 OK" {
		t.Fatalf("the key on a held connection: %q", got)
	}
	eventually(t, l, func(s Stats) bool { return s.Waiting == 0 && s.Authenticated == 1 })
	if got := ask(t, third, "ok"); got != "200 OK" {
		t.Fatalf("the waiting connection once there is room: %q", got)
	}
	if got := ask(t, first, "no"); got != "200 OK" {
		t.Fatalf("an authenticated connection stays authenticated: %q", got)
	}
}

func TestAFullBudgetDropsTheOldestWaitingForANewcomer(t *testing.T) {
	t.Parallel()
	l, addr := serve(t, Config{Max: 4, Reserved: 1, PerAddress: 1, UnauthenticatedTimeout: time.Minute})
	var flood []net.Conn
	for i := 0; i < 4; i++ {
		flood = append(flood, dialFrom(t, "127.0.0.2", addr))
		eventually(t, l, func(s Stats) bool { return s.Accepted == int64(i+1) })
	}
	eventually(t, l, func(s Stats) bool { return s.Open == 4 && s.Waiting == 3 })

	ecr := dialFrom(t, "127.0.0.3", addr)
	if got := ask(t, ecr, "ok"); got != "200 OK" {
		t.Fatalf("the newcomer: %q", got)
	}
	if !closedByServer(flood[1]) {
		t.Fatal("the oldest waiting connection was not dropped")
	}
	if s := l.Stats(); s.Displaced != 1 || s.Open > 4 {
		t.Fatalf("%+v", s)
	}
}

func TestUnauthenticatedConnectionsTimeOutAuthenticatedOnesDoNot(t *testing.T) {
	t.Parallel()
	l, addr := serve(t, Config{Max: 8, Reserved: 2, PerAddress: 4, UnauthenticatedTimeout: 100 * time.Millisecond})
	silent := dialFrom(t, "127.0.0.2", addr)
	asked := dialFrom(t, "127.0.0.2", addr)
	keyed := dialFrom(t, "127.0.0.2", addr)
	if got := ask(t, asked, "no"); got != "401 Unauthorized" {
		t.Fatal(got)
	}
	if got := ask(t, keyed, "ok"); got != "200 OK" {
		t.Fatal(got)
	}
	if !closedByServer(silent) || !closedByServer(asked) {
		t.Fatal("an idle connection without the key was not closed")
	}
	eventually(t, l, func(s Stats) bool { return s.Open == 1 && s.Expired == 2 })
	if got := ask(t, keyed, "no"); got != "200 OK" {
		t.Fatalf("the authenticated connection after the others timed out: %q", got)
	}
}

func TestAddressesGroupIPv6By64(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"192.0.2.7:443":                   "192.0.2.7",
		"[::ffff:192.0.2.7]:443":          "192.0.2.7",
		"[2001:db8:1:2:aaaa::1]:443":      "2001:db8:1:2::/64",
		"[2001:db8:1:2:bbbb:cccc::9]:443": "2001:db8:1:2::/64",
	} {
		a, err := net.ResolveTCPAddr("tcp", in)
		if err != nil {
			t.Fatal(err)
		}
		if got := addrKey(a); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}

func TestNewRefusesAnImpossibleBudget(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, cfg := range []Config{
		{Max: 4, Reserved: 4, PerAddress: 1, UnauthenticatedTimeout: time.Second},
		{Max: 4, Reserved: 1, PerAddress: 0, UnauthenticatedTimeout: time.Second},
		{Max: 4, Reserved: 1, PerAddress: 1},
	} {
		if _, err := New(ln, cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}
