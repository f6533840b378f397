package faults

import (
	"crypto/rand"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/vinr/cashlessd/daemon/host"
)

// The proxy sits between cashlessd and the host simulator, where the
// network is: it reads whole ISO 8583 frames in both directions, reports
// each one as an event (MTI, STAN, terminal transaction ID), and applies
// the rules the harness sets: hold a frame for a while, swallow it, replace
// an answer with garbage, or cut the connection in the middle of one. The
// host simulator stays a separate process that keeps its ledger on disk.
//
// When the terminal's side of a connection goes away (the daemon was
// killed), frames not yet forwarded are dropped, as a power cut loses what
// had not left the terminal.

// Dir is a direction on the link.
type Dir int

// Directions.
const (
	Up   Dir = iota // terminal → host
	Down            // host → terminal
)

func (d Dir) String() string {
	if d == Up {
		return "up"
	}
	return "down"
}

// Action is what a rule does with a matching frame.
type Action int

// Actions.
const (
	Hold      Action = iota // forward after Delay (dropped if the terminal is gone by then)
	Swallow                 // never forward; the connection stays open
	Garbage                 // (down) send a frame of random bytes instead
	CloseMid                // (down) send the length and half the frame, then close
	CloseConn               // close the connection instead of forwarding the frame
)

// Rule matches frames by direction and MTI.
type Rule struct {
	Dir    Dir
	MTIs   []string // empty: every MTI
	Action Action
	Delay  time.Duration
	Once   bool
	// Deliver forwards a held request even when the terminal's side of
	// the connection closed meanwhile, as TCP delivers what was sent
	// before a close: a request that reaches the host late.
	Deliver bool
	fired   bool
}

// Event is one frame crossing the proxy, or what happened to it.
type Event struct {
	At   time.Time
	Conn int
	Dir  Dir
	MTI  string
	STAN string
	TxID string
	RC   string
	// PAN, Track2 and PINBlock are what crossed the wire (the secrets
	// suite checks its scan patterns against them); never logged.
	PAN      string
	Track2   string
	PINBlock []byte
	What     string // seen, held, forwarded, dropped, swallowed, garbled, cut
}

// Proxy is the fault-injecting link between terminal and host.
type Proxy struct {
	upstream string

	mu      sync.Mutex
	ln      net.Listener
	addr    string
	down    bool
	rules   []*Rule
	events  []Event
	waiters []*waiter
	conns   map[*pconn]struct{}
	nconn   int
	wg      sync.WaitGroup
}

type waiter struct {
	from int
	pred func(Event) bool
	ch   chan Event
}

type pconn struct {
	id             int
	client, server net.Conn
	clientGone     chan struct{}
	once           sync.Once
}

func (c *pconn) close() {
	c.once.Do(func() {
		_ = c.client.Close()
		_ = c.server.Close()
	})
}

// NewProxy listens on a loopback port and forwards to upstream.
func NewProxy(upstream string) (*Proxy, error) {
	p := &Proxy{upstream: upstream, conns: map[*pconn]struct{}{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p.ln, p.addr = ln, ln.Addr().String()
	p.wg.Add(1)
	go p.accept(ln)
	return p, nil
}

// Addr is where the terminal connects.
func (p *Proxy) Addr() string { return p.addr }

// Close stops the proxy and every connection.
func (p *Proxy) Close() {
	p.mu.Lock()
	ln := p.ln
	p.ln, p.down = nil, true
	conns := make([]*pconn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	if ln != nil {
		_ = ln.Close()
	}
	for _, c := range conns {
		c.close()
	}
	p.wg.Wait()
}

// SetDown takes the "host" off the network (connections refused, open
// ones cut) or brings it back on the same address.
func (p *Proxy) SetDown(down bool) error {
	p.mu.Lock()
	if down == p.down {
		p.mu.Unlock()
		return nil
	}
	p.down = down
	if down {
		ln := p.ln
		p.ln = nil
		conns := make([]*pconn, 0, len(p.conns))
		for c := range p.conns {
			conns = append(conns, c)
		}
		p.mu.Unlock()
		if ln != nil {
			_ = ln.Close()
		}
		for _, c := range conns {
			c.close()
		}
		return nil
	}
	p.mu.Unlock()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the port may linger for a moment
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Add(1)
	go p.accept(ln)
	return nil
}

// SetRules replaces the rules.
func (p *Proxy) SetRules(rules ...*Rule) {
	p.mu.Lock()
	p.rules = rules
	p.mu.Unlock()
}

// Mark returns the position of the next event.
func (p *Proxy) Mark() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.events)
}

// Since returns the events from mark on.
func (p *Proxy) Since(mark int) []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	if mark > len(p.events) {
		return nil
	}
	return slices.Clone(p.events[mark:])
}

// Await returns a channel that receives the first event from mark on that
// matches pred (at most once).
func (p *Proxy) Await(mark int, pred func(Event) bool) <-chan Event {
	ch := make(chan Event, 1)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.events[min(mark, len(p.events)):] {
		if pred(e) {
			ch <- e
			return ch
		}
	}
	p.waiters = append(p.waiters, &waiter{from: mark, pred: pred, ch: ch})
	return ch
}

func (p *Proxy) emit(e Event) {
	e.At = time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events = append(p.events, e)
	kept := p.waiters[:0]
	for _, w := range p.waiters {
		if w.pred(e) {
			w.ch <- e
			continue
		}
		kept = append(kept, w)
	}
	p.waiters = kept
}

// match returns the action for a frame and consumes one-shot rules.
func (p *Proxy) match(dir Dir, mti string) *Rule {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.rules {
		if r.Dir != dir || (r.Once && r.fired) || (len(r.MTIs) > 0 && !slices.Contains(r.MTIs, mti)) {
			continue
		}
		r.fired = true
		c := *r
		return &c
	}
	return nil
}

func (p *Proxy) accept(ln net.Listener) {
	defer p.wg.Done()
	for {
		client, err := ln.Accept()
		if err != nil {
			return
		}
		server, err := net.DialTimeout("tcp", p.upstream, 2*time.Second)
		if err != nil {
			_ = client.Close()
			continue
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			_ = client.Close()
			_ = server.Close()
			continue
		}
		p.nconn++
		c := &pconn{id: p.nconn, client: client, server: server, clientGone: make(chan struct{})}
		p.conns[c] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pump(c, Up)
		go p.pump(c, Down)
	}
}

// frame is one message read off a connection.
type frame struct {
	raw               []byte
	mti, stan, tx, rc string
	pan, track2       string
	pin               []byte
}

// pump reads frames in one direction and forwards them in order.
func (p *Proxy) pump(c *pconn, dir Dir) {
	defer p.wg.Done()
	src, dst := c.client, c.server
	if dir == Down {
		src, dst = c.server, c.client
	}
	frames := make(chan frame, 64)
	go func() {
		defer close(frames)
		spec := host.Spec()
		for {
			raw, err := host.ReadFrame(src)
			if err != nil {
				if dir == Up {
					close(c.clientGone)
				}
				return
			}
			f := frame{raw: raw}
			if fl, err := host.Decode(spec, raw); err == nil {
				f.mti, f.stan, f.tx, f.rc = fl.MTI, fl.STAN, fl.TransactionID, fl.ResponseCode
				f.pan, f.track2, f.pin = fl.PAN, fl.Track2, fl.PINBlock
			}
			frames <- f
		}
	}()
	defer func() {
		c.close()
		for range frames { // let the reader finish
		}
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
	}()
	for f := range frames {
		ev := Event{Conn: c.id, Dir: dir, MTI: f.mti, STAN: f.stan, TxID: f.tx, RC: f.rc, PAN: f.pan, Track2: f.track2, PINBlock: f.pin}
		p.emit(with(ev, "seen"))
		r := p.match(dir, f.mti)
		if r != nil {
			switch r.Action {
			case Hold:
				p.emit(with(ev, "held"))
				t := time.NewTimer(r.Delay)
				gone := c.clientGone
				if r.Deliver {
					gone = nil
				}
				select {
				case <-t.C:
				case <-gone:
					t.Stop()
					p.emit(with(ev, "dropped"))
					return
				}
				if r.Deliver {
					if err := host.WriteFrame(dst, f.raw); err != nil {
						p.emit(with(ev, "dropped"))
						return
					}
					p.emit(with(ev, "forwarded"))
					continue
				}
			case Swallow:
				p.emit(with(ev, "swallowed"))
				continue
			case Garbage:
				junk := make([]byte, 48)
				_, _ = rand.Read(junk)
				if err := host.WriteFrame(dst, junk); err != nil {
					p.emit(with(ev, "dropped"))
					return
				}
				p.emit(with(ev, "garbled"))
				continue
			case CloseConn:
				p.emit(with(ev, "closed"))
				return
			case CloseMid:
				half := append([]byte{byte(len(f.raw) >> 8), byte(len(f.raw))}, f.raw[:len(f.raw)/2]...)
				_, _ = dst.Write(half)
				p.emit(with(ev, "cut"))
				return
			}
		}
		if dir == Up {
			select {
			case <-c.clientGone:
				p.emit(with(ev, "dropped"))
				return
			default:
			}
		}
		if err := host.WriteFrame(dst, f.raw); err != nil {
			p.emit(with(ev, "dropped"))
			return
		}
		p.emit(with(ev, "forwarded"))
	}
}

func with(e Event, what string) Event {
	e.What = what
	return e
}
