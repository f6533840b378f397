package hostsim

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/daemon/host"
	"github.com/vinr/cashlessd/daemon/host/iso8583"
)

// Config configures a Server.
type Config struct {
	// LedgerPath is the file the ledger is kept in (0600, JSON lines:
	// one line appended and synced per change); an existing file is
	// loaded. Empty keeps the ledger in memory only.
	LedgerPath string
	// Dialect is the message layout the server speaks (see host.Dialects);
	// "" means host.DialectDefault. The terminal must be configured alike.
	Dialect string
	// TLS, when set, makes the server speak TLS.
	TLS *tls.Config
	// Log receives what the host does, with masked card numbers only.
	Log zerolog.Logger
}

// Traffic counts what crossed the wire, length headers included.
type Traffic struct {
	MessagesIn, MessagesOut int64
	BytesIn, BytesOut       int64
}

// Server is the simulated acquirer host.
type Server struct {
	cfg  Config
	spec *iso8583.Spec
	log  zerolog.Logger

	mu      sync.Mutex // guards the fields below
	ln      net.Listener
	addr    string
	conns   map[net.Conn]struct{}
	latency time.Duration
	offline bool
	drop    bool
	closed  bool
	// holdAdvices answers every advice 91 without booking it;
	// holdReversals every reversal.
	holdAdvices   bool
	holdReversals bool

	// bookMu serialises the processing of requests, so each one sees and
	// changes the ledger alone.
	bookMu sync.Mutex
	ledger Ledger
	// journal records the booking under way (nil outside book).
	journal *journal

	done chan struct{}
	wg   sync.WaitGroup

	msgsIn, msgsOut, bytesIn, bytesOut atomic.Int64
	// requests records what arrived, in wire order.
	requests requestLog
}

// New loads the ledger and returns a Server that is not listening yet.
func New(cfg Config) (*Server, error) {
	l, err := loadLedger(cfg.LedgerPath)
	if err != nil {
		return nil, err
	}
	spec, err := host.SpecFor(cfg.Dialect)
	if err != nil {
		return nil, err
	}
	return &Server{
		cfg:    cfg,
		spec:   spec,
		log:    cfg.Log.With().Str("component", "hostsim").Logger(),
		conns:  map[net.Conn]struct{}{},
		ledger: l,
		done:   make(chan struct{}),
	}, nil
}

// Listen starts serving on addr ("127.0.0.1:0" picks a free port) and
// returns once the port is open. The server stops when ctx ends or Close
// is called.
func (s *Server) Listen(ctx context.Context, addr string) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	if s.cfg.TLS != nil {
		ln = tls.NewListener(ln, s.cfg.TLS)
	}
	s.mu.Lock()
	if s.closed || s.ln != nil {
		s.mu.Unlock()
		_ = ln.Close()
		return errors.New("hostsim: server closed or already listening")
	}
	s.ln, s.addr = ln, ln.Addr().String()
	s.mu.Unlock()
	s.log.Info().Str("address", s.addr).Bool("tls", s.cfg.TLS != nil).Msg("simulated host listening")

	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		select {
		case <-ctx.Done():
			go func() { _ = s.Close() }()
		case <-s.done:
		}
	}()
	go s.accept(ln)
	return nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Close stops listening, drops every connection and waits for the
// server's goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	var err error
	if s.ln != nil {
		err = s.ln.Close()
	}
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

// SetLatency delays every answer to a financial, reversal, batch upload or
// settlement request by d (network management is answered at once). The request is
// booked when it arrives, so an answer that comes too late for the
// terminal is still booked here.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	s.latency = max(d, 0)
	s.mu.Unlock()
}

// SetOffline makes the host unreachable: open connections are dropped and
// new ones are closed as soon as they are accepted. SetOffline(false)
// takes connections again.
func (s *Server) SetOffline(offline bool) {
	s.mu.Lock()
	s.offline = offline
	if offline {
		for c := range s.conns {
			_ = c.Close()
		}
	}
	s.mu.Unlock()
}

// SetDropResponse makes the host process and book financial, reversal,
// batch upload and settlement requests but never answer them.
func (s *Server) SetDropResponse(drop bool) {
	s.mu.Lock()
	s.drop = drop
	s.mu.Unlock()
}

// SetHoldAdvices makes the host answer every advice (an offline advice or
// a TC advice) 91, issuer unavailable, and book nothing, as an acquirer
// whose clearing side is down: the terminal keeps its advices queued and
// sends them again later. Other requests are answered as always.
func (s *Server) SetHoldAdvices(hold bool) {
	s.mu.Lock()
	s.holdAdvices = hold
	s.mu.Unlock()
}

// SetHoldReversals makes the host answer every reversal (0400, 0401) 91,
// issuer unavailable, and reverse nothing: the terminal keeps its
// reversals queued and sends them again later.
func (s *Server) SetHoldReversals(hold bool) {
	s.mu.Lock()
	s.holdReversals = hold
	s.mu.Unlock()
}

// reversalsHeld reports whether SetHoldReversals is on.
func (s *Server) reversalsHeld() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.holdReversals
}

// advicesHeld reports whether SetHoldAdvices is on.
func (s *Server) advicesHeld() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.holdAdvices
}

// Ledger returns a snapshot of what the host has booked.
func (s *Server) Ledger() Ledger {
	s.bookMu.Lock()
	defer s.bookMu.Unlock()
	return s.ledger.clone()
}

// Traffic returns the message and byte counts since the server started.
func (s *Server) Traffic() Traffic {
	return Traffic{
		MessagesIn: s.msgsIn.Load(), MessagesOut: s.msgsOut.Load(),
		BytesIn: s.bytesIn.Load(), BytesOut: s.bytesOut.Load(),
	}
}

// accept takes connections until the listener closes.
func (s *Server) accept(ln net.Listener) {
	defer s.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			select {
			case <-s.done:
			default:
				s.log.Error().Err(err).Msg("accept failed; simulated host stops listening")
			}
			return
		}
		s.mu.Lock()
		if s.closed || s.offline {
			s.mu.Unlock()
			_ = c.Close()
			continue
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serve(c)
	}
}

// settings returns the current behaviour switches.
func (s *Server) settings() (latency time.Duration, drop bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.latency, s.drop
}

// serve reads requests off one connection in order, books each before the
// next is read, and writes the answers (after the latency, if any).
func (s *Server) serve(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		_ = c.Close()
	}()
	remote := c.RemoteAddr().String()
	s.log.Debug().Str("remote", remote).Msg("terminal connected")
	var writeMu sync.Mutex
	var replies sync.WaitGroup
	defer replies.Wait()
	for {
		raw, err := host.ReadFrame(c)
		if err != nil {
			s.log.Debug().Err(err).Str("remote", remote).Msg("terminal disconnected")
			return
		}
		s.msgsIn.Add(1)
		s.bytesIn.Add(int64(len(raw) + 2))
		req, err := s.decode(raw)
		if err != nil {
			s.log.Warn().Err(err).Str("remote", remote).Msg("undecodable request dropped")
			continue
		}
		s.requests.add(req, time.Now().UTC())
		resp := s.handle(req)
		if resp == nil {
			continue
		}
		resp.TPDU = host.AnswerTPDU(req.TPDU)
		network := req.MTI == host.MTINetwork
		latency, drop := s.settings()
		if (drop || answersTooLate(req, resp)) && !network {
			s.log.Info().Str("mti", req.MTI).Str("stan", req.STAN).Str("responseCode", resp.ResponseCode).
				Msg("booked, answer dropped")
			continue
		}
		packed, err := s.encode(resp)
		if err != nil {
			s.log.Error().Err(err).Str("mti", resp.MTI).Msg("cannot pack answer")
			continue
		}
		if network || latency == 0 {
			s.write(c, &writeMu, packed)
			continue
		}
		replies.Add(1)
		go func() {
			defer replies.Done()
			t := time.NewTimer(latency)
			defer t.Stop()
			select {
			case <-t.C:
				s.write(c, &writeMu, packed)
			case <-s.done:
			}
		}()
	}
}

// write sends one framed answer; a failed write closes the connection.
func (s *Server) write(c net.Conn, mu *sync.Mutex, packed []byte) {
	mu.Lock()
	defer mu.Unlock()
	if err := host.WriteFrame(c, packed); err != nil {
		s.log.Debug().Err(err).Msg("answer not delivered")
		_ = c.Close()
		return
	}
	s.msgsOut.Add(1)
	s.bytesOut.Add(int64(len(packed) + 2))
}

func (s *Server) decode(raw []byte) (*host.Fields, error) {
	return host.Decode(s.spec, raw)
}

func (s *Server) encode(f *host.Fields) ([]byte, error) {
	return host.Encode(s.spec, f)
}
