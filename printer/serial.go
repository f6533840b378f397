package printer

import (
	"context"
	"errors"
	"sync"

	"github.com/vinr/cashlessd/daemon"
)

// Serial is a daemon.Printer on a serial line. It opens the port when a
// job or status check needs it and keeps it open; after any failure it
// closes the port and opens it again on the next call, so a printer that
// was switched off, or a device node that vanished and came back, works
// again without a new Serial. Jobs and status checks take turns.
type Serial struct {
	cfg  SerialConfig
	turn chan struct{} // holds a token while a job, status check or Close runs

	// Only the holder of the turn touches these.
	c      *conn
	closed bool

	mu   sync.Mutex
	last daemon.PrinterStatus // the state seen last, for Status while a job runs
}

var _ daemon.Printer = (*Serial)(nil)

// NewSerial checks the configuration and returns the driver. It does not
// open the port: the daemon starts whether or not the printer is there.
func NewSerial(cfg SerialConfig) (*Serial, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Serial{
		cfg:  cfg,
		turn: make(chan struct{}, 1),
		last: daemon.PrinterStatus{State: daemon.PrinterUnavailable, Message: "printer not checked yet"},
	}, nil
}

// Print checks the printer's status and, when it can print, sends the
// document as one job and checks the status again. It returns a
// *StateError (matching ErrPaperOut, ErrCoverOpen, ErrOffline or
// ErrUnavailable) when the document was not printed, or may be incomplete.
// The job takes at most the configured JobTimeout.
func (s *Serial) Print(ctx context.Context, doc daemon.Document) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.JobTimeout)
	defer cancel()
	if err := s.acquire(ctx); err != nil {
		return unavailable("busy with another job", err)
	}
	defer s.release()
	if s.closed {
		return unavailable("driver closed", nil)
	}
	job := s.cfg.Encoder.Encode(doc)
	cond, err := s.check(ctx)
	if err != nil {
		return err
	}
	if !cond.CanPrint() {
		return &StateError{State: cond.Status().State}
	}
	if err := s.c.send(ctx, job); err != nil {
		s.drop()
		return s.failed(unavailable("sending the job", err))
	}
	after, err := s.c.condition(ctx)
	if err != nil {
		s.drop()
		return s.failed(unavailable("no status after the job; the receipt may be incomplete", err))
	}
	s.remember(after.Status())
	if !after.CanPrint() {
		return &StateError{State: after.Status().State, Detail: "after the job; the receipt may be incomplete"}
	}
	return nil
}

// Status asks the printer for its state. While a job runs it waits for the
// job (within ctx) and otherwise returns the state seen last.
func (s *Serial) Status(ctx context.Context) daemon.PrinterStatus {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.JobTimeout)
	defer cancel()
	if err := s.acquire(ctx); err != nil {
		st := s.lastStatus()
		st.Message += " (busy printing)"
		return st
	}
	defer s.release()
	if s.closed {
		return unavailable("driver closed", nil).Status()
	}
	cond, err := s.check(ctx)
	if err != nil {
		var se *StateError
		if errors.As(err, &se) {
			return se.Status()
		}
		return unavailable("", err).Status()
	}
	return cond.Status()
}

// Close closes the port. Print and Status fail after Close.
func (s *Serial) Close() error {
	s.turn <- struct{}{}
	defer s.release()
	s.closed = true
	s.drop()
	return nil
}

// check opens the port when needed and reads the printer's condition. A
// port left open by an earlier call that now fails (the device may have
// been unplugged and plugged in again) gets one fresh open; nothing of the
// job has been sent yet, so trying again is safe.
func (s *Serial) check(ctx context.Context) (Condition, error) {
	for {
		fresh := s.c == nil
		if fresh {
			c, err := openConn(s.cfg)
			if err != nil {
				return Condition{}, s.failed(unavailable("", err))
			}
			s.c = c
		}
		cond, err := s.c.condition(ctx)
		if err == nil {
			s.remember(cond.Status())
			return cond, nil
		}
		s.drop()
		var pe *portError
		if fresh || !errors.As(err, &pe) {
			return Condition{}, s.failed(unavailable("", err))
		}
	}
}

// drop closes the port; the next call opens it again.
func (s *Serial) drop() {
	if s.c != nil {
		s.c.close()
		s.c = nil
	}
}

// failed remembers an error's state and returns the error.
func (s *Serial) failed(e *StateError) *StateError {
	s.remember(e.Status())
	return e
}

func (s *Serial) acquire(ctx context.Context) error {
	select {
	case s.turn <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Serial) release() { <-s.turn }

func (s *Serial) remember(st daemon.PrinterStatus) {
	s.mu.Lock()
	s.last = st
	s.mu.Unlock()
}

func (s *Serial) lastStatus() daemon.PrinterStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}
