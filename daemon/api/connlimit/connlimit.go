// Package connlimit shares the API's connection budget so that clients
// without the key cannot take it from the ECR. It wraps the TCP listener
// and hooks into net/http (ConnState, ConnContext):
//
//   - every connection starts unauthenticated; the API marks it
//     authenticated when one of its requests presents the right key;
//   - a client address may hold at most PerAddress unauthenticated
//     connections, and all addresses together at most Max-Reserved: a
//     connection over either bound waits, before its TLS handshake, until
//     its address (or the pool) has room; when the pool frees a place the
//     address holding the fewest goes first, then the newest;
//   - an unauthenticated connection that spends UnauthenticatedTimeout
//     waiting, in its handshake or between requests, is closed;
//   - at most Max connections are open at all (and one just accepted);
//     when the budget is full the oldest waiting connection of the address
//     with most waiting gives way to the newcomer, so a new ECR connection
//     gets in; with none waiting, accepting pauses until one closes.
//
// Authenticated connections are never closed or held by this package.
package connlimit

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Config sizes the budget.
type Config struct {
	// Max is how many connections may be open at once (each costs a file
	// descriptor).
	Max int
	// Reserved is how many of the Max slots unauthenticated connections
	// can never take: room for the ECR's authenticated connections.
	Reserved int
	// PerAddress is how many unauthenticated connections one client
	// address (an IPv4 address, an IPv6 /64) may hold at once.
	PerAddress int
	// UnauthenticatedTimeout closes a connection that has not presented
	// the key after this long without a request in progress.
	UnauthenticatedTimeout time.Duration
}

// Stats counts what the listener did since it started.
type Stats struct {
	Open          int   // connections open now
	Waiting       int   // of which waiting for room (not yet handed to the server)
	Authenticated int   // of which authenticated
	Accepted      int64 // connections accepted from the network
	Expired       int64 // unauthenticated connections closed by the time-out
	Displaced     int64 // waiting connections closed to make room for a newcomer
}

// Listener is a net.Listener that enforces Config. Hook it into the
// http.Server that serves it.
type Listener struct {
	inner net.Listener
	cfg   Config

	mu      sync.Mutex
	room    *sync.Cond // signalled when a connection closes
	open    int
	pool    int // handed-over unauthenticated connections
	authed  int
	addrs   map[string]*addrUse
	waiting []*Conn // in arrival order
	closed  bool

	ready     chan *Conn
	acceptErr chan error
	done      chan struct{}
	closeOnce sync.Once

	accepted, expired, displaced atomic.Int64
}

// addrUse is one client address's unauthenticated connections.
type addrUse struct{ held, waiting int }

// New wraps ln and starts accepting from it.
func New(ln net.Listener, cfg Config) (*Listener, error) {
	switch {
	case cfg.Max < 1, cfg.Reserved < 0, cfg.Reserved >= cfg.Max:
		return nil, errors.New("connlimit: need 0 <= Reserved < Max")
	case cfg.PerAddress < 1, cfg.UnauthenticatedTimeout <= 0:
		return nil, errors.New("connlimit: PerAddress and UnauthenticatedTimeout must be positive")
	}
	l := &Listener{inner: ln, cfg: cfg, addrs: map[string]*addrUse{},
		ready: make(chan *Conn, cfg.Max), acceptErr: make(chan error, 1), done: make(chan struct{})}
	l.room = sync.NewCond(&l.mu)
	go l.acceptLoop()
	return l, nil
}

// Accept returns the next connection that may be served.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ready:
		return c, nil
	case err := <-l.acceptErr:
		return nil, err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting and closes the connections not yet handed to
// the server.
func (l *Listener) Close() error {
	err := l.inner.Close()
	l.closeOnce.Do(func() {
		close(l.done)
		l.mu.Lock()
		l.closed = true
		waiting := append([]*Conn(nil), l.waiting...)
		l.room.Broadcast()
		l.mu.Unlock()
		for _, c := range waiting {
			_ = c.Close()
		}
		for {
			select {
			case c := <-l.ready:
				_ = c.Close()
			default:
				return
			}
		}
	})
	return err
}

// Addr is the listening address.
func (l *Listener) Addr() net.Addr { return l.inner.Addr() }

// Stats is a snapshot of the counters.
func (l *Listener) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return Stats{Open: l.open, Waiting: len(l.waiting), Authenticated: l.authed,
		Accepted: l.accepted.Load(), Expired: l.expired.Load(), Displaced: l.displaced.Load()}
}

// Hook installs the listener's ConnState and ConnContext hooks on srv,
// keeping any srv already has.
func (l *Listener) Hook(srv *http.Server) {
	prevState, prevContext := srv.ConnState, srv.ConnContext
	srv.ConnState = func(nc net.Conn, s http.ConnState) {
		if c := unwrap(nc); c != nil && c.l == l {
			l.stateChanged(c, s)
		}
		if prevState != nil {
			prevState(nc, s)
		}
	}
	srv.ConnContext = func(ctx context.Context, nc net.Conn) context.Context {
		if prevContext != nil {
			ctx = prevContext(ctx, nc)
		}
		if c := unwrap(nc); c != nil && c.l == l {
			ctx = context.WithValue(ctx, connKey{}, c)
		}
		return ctx
	}
}

type connKey struct{}

// Authenticate marks the connection that carries ctx's request as
// authenticated: from now on it is neither timed out nor counted against
// its address. Requests that did not come through a Listener are ignored.
func Authenticate(ctx context.Context) {
	if c, ok := ctx.Value(connKey{}).(*Conn); ok {
		c.l.authenticate(c)
	}
}

// Authenticated reports whether the connection carrying ctx's request has
// presented the key (false for requests not from a Listener).
func Authenticated(ctx context.Context) bool {
	c, ok := ctx.Value(connKey{}).(*Conn)
	if !ok {
		return false
	}
	c.l.mu.Lock()
	defer c.l.mu.Unlock()
	return c.authed
}

// unwrap finds the *Conn under a TLS connection.
func unwrap(nc net.Conn) *Conn {
	for {
		switch c := nc.(type) {
		case *Conn:
			return c
		case interface{ NetConn() net.Conn }:
			nc = c.NetConn()
		default:
			return nil
		}
	}
}

// Conn is one accepted connection.
type Conn struct {
	net.Conn
	l         *Listener
	addr      string
	timer     *time.Timer
	closeOnce sync.Once
	closeErr  error

	// guarded by l.mu
	waiting, authed, active, gone bool
}

// Close closes the connection and gives its place back.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		c.closeErr = c.Conn.Close()
		c.l.release(c)
	})
	return c.closeErr
}

// addrKey groups client addresses: an IPv4 address, or an IPv6 /64 (one
// host on a LAN can use a whole /64).
func addrKey(a net.Addr) string {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return a.String()
	}
	ip := ap.Addr().Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

func (l *Listener) acceptLoop() {
	var backoff time.Duration
	for {
		nc, err := l.inner.Accept()
		if err != nil {
			select {
			case <-l.done:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			l.acceptErr <- err
			return
		}
		backoff = 0
		l.accepted.Add(1)
		if !l.makeRoom() {
			_ = nc.Close()
			return
		}
		l.arrive(nc)
	}
}

// isTemporary is true for accept errors worth retrying (out of file
// descriptors, an aborted handshake).
func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// makeRoom makes room in a full budget for a newcomer by dropping a
// waiting connection, or blocks until a connection closes; false once the
// listener is closed.
func (l *Listener) makeRoom() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.open >= l.cfg.Max && !l.closed {
		if victim := l.displaceable(); victim != nil {
			l.displaced.Add(1)
			l.mu.Unlock()
			_ = victim.Close()
			l.mu.Lock()
			continue
		}
		l.room.Wait()
	}
	return !l.closed
}

// displaceable is the oldest waiting connection of the address with the
// most waiting.
func (l *Listener) displaceable() *Conn {
	var victim *Conn
	most := 0
	for _, c := range l.waiting { // arrival order: the first of an address is its oldest
		if n := l.addrs[c.addr].waiting; n > most {
			victim, most = c, n
		}
	}
	return victim
}

// arrive registers a new connection: handed to the server if its address
// and the pool have room, otherwise left waiting.
func (l *Listener) arrive(nc net.Conn) {
	c := &Conn{Conn: nc, l: l, addr: addrKey(nc.RemoteAddr())}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open++
	use := l.addrs[c.addr]
	if use == nil {
		use = &addrUse{}
		l.addrs[c.addr] = use
	}
	c.timer = time.AfterFunc(l.cfg.UnauthenticatedTimeout, func() { l.expire(c) })
	if l.fits(use) {
		l.handOver(c, use)
		return
	}
	c.waiting = true
	use.waiting++
	l.waiting = append(l.waiting, c)
}

func (l *Listener) fits(use *addrUse) bool {
	return use.held < l.cfg.PerAddress && l.pool < l.cfg.Max-l.cfg.Reserved
}

// handOver gives c to Accept. Called with l.mu held.
func (l *Listener) handOver(c *Conn, use *addrUse) {
	use.held++
	l.pool++
	l.ready <- c // never blocks: at most Max connections are open
}

// promote hands over waiting connections while there is room: the
// address holding the fewest first, then the newest (a connection that
// waited long is more likely part of a flood, and is the first displaced).
// Called with l.mu held.
func (l *Listener) promote() {
	for l.pool < l.cfg.Max-l.cfg.Reserved {
		best := -1
		for i, c := range l.waiting {
			use := l.addrs[c.addr]
			if use.held >= l.cfg.PerAddress {
				continue
			}
			if best < 0 || use.held <= l.addrs[l.waiting[best].addr].held { // ties: the newest
				best = i
			}
		}
		if best < 0 {
			return
		}
		c := l.waiting[best]
		l.waiting = append(l.waiting[:best], l.waiting[best+1:]...)
		use := l.addrs[c.addr]
		use.waiting--
		c.waiting = false
		c.timer.Reset(l.cfg.UnauthenticatedTimeout)
		l.handOver(c, use)
	}
}

// authenticate moves c out of the unauthenticated pool.
func (l *Listener) authenticate(c *Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.authed || c.gone || c.waiting {
		return
	}
	c.authed = true
	c.timer.Stop()
	l.authed++
	l.leavePool(c)
	l.promote()
}

// leavePool takes a handed-over unauthenticated c out of the counts.
// Called with l.mu held.
func (l *Listener) leavePool(c *Conn) {
	use := l.addrs[c.addr]
	use.held--
	l.pool--
	l.forget(c.addr, use)
}

func (l *Listener) forget(addr string, use *addrUse) {
	if use.held == 0 && use.waiting == 0 {
		delete(l.addrs, addr)
	}
}

// release gives c's place back when it closes.
func (l *Listener) release(c *Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.gone {
		return
	}
	c.gone = true
	c.timer.Stop()
	l.open--
	switch {
	case c.waiting:
		for i, w := range l.waiting {
			if w == c {
				l.waiting = append(l.waiting[:i], l.waiting[i+1:]...)
				break
			}
		}
		use := l.addrs[c.addr]
		use.waiting--
		l.forget(c.addr, use)
	case c.authed:
		l.authed--
	default:
		l.leavePool(c)
	}
	l.promote()
	l.room.Broadcast()
}

// expire closes c if it is still unauthenticated and not serving a request.
func (l *Listener) expire(c *Conn) {
	l.mu.Lock()
	stale := !c.authed && !c.active && !c.gone
	l.mu.Unlock()
	if stale {
		l.expired.Add(1)
		_ = c.Close()
	}
}

// stateChanged follows the server's view of c: the time-out runs while an
// unauthenticated connection has no request in progress.
func (l *Listener) stateChanged(c *Conn, s http.ConnState) {
	switch s {
	case http.StateActive:
		l.mu.Lock()
		c.active = true
		c.timer.Stop()
		l.mu.Unlock()
	case http.StateIdle:
		l.mu.Lock()
		c.active = false
		if !c.authed && !c.gone {
			c.timer.Reset(l.cfg.UnauthenticatedTimeout)
		}
		l.mu.Unlock()
	case http.StateHijacked:
		l.release(c) // its new owner closes it
	case http.StateClosed:
		_ = c.Close()
	}
}
