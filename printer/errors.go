package printer

import (
	"errors"

	"github.com/vinr/cashlessd/daemon"
)

// Errors a job is refused or fails with; each matches one printer state.
// Use errors.Is to test for them and errors.As with *StateError for the
// state itself.
var (
	ErrPaperOut    = errors.New("printer out of paper")
	ErrCoverOpen   = errors.New("printer cover open")
	ErrOffline     = errors.New("printer offline")
	ErrUnavailable = errors.New("printer unavailable")
)

// StateError says why a job was not printed, as a printer state. It matches
// the sentinel error of its state (ErrPaperOut, …) and its cause with
// errors.Is.
type StateError struct {
	State  daemon.PrinterState
	Detail string // what happened, when more than the state, e.g. "no reply to a status query"
	Err    error  // the underlying cause, or nil
}

// Error reads, for example, "printer out of paper" or
// "printer unavailable: open /dev/ttyUSB0: no such file or directory".
func (e *StateError) Error() string {
	msg := stateError(e.State).Error()
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the state's sentinel error and the cause.
func (e *StateError) Unwrap() []error {
	if e.Err == nil {
		return []error{stateError(e.State)}
	}
	return []error{stateError(e.State), e.Err}
}

// Status is the error as a daemon.PrinterStatus.
func (e *StateError) Status() daemon.PrinterStatus {
	return daemon.PrinterStatus{State: e.State, Message: e.Error()}
}

// stateError returns the sentinel error for a state that stops printing.
func stateError(s daemon.PrinterState) error {
	switch s {
	case daemon.PrinterPaperOut:
		return ErrPaperOut
	case daemon.PrinterCoverOpen:
		return ErrCoverOpen
	case daemon.PrinterOffline:
		return ErrOffline
	}
	return ErrUnavailable
}

// unavailable is a StateError for a printer the driver cannot reach.
func unavailable(detail string, err error) *StateError {
	return &StateError{State: daemon.PrinterUnavailable, Detail: detail, Err: err}
}
