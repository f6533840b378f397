package reader

import (
	"errors"
	"fmt"
)

// Link errors. After either, the driver closes the port and opens it
// again on the next call, so a reader that was unplugged and plugged back
// in works again without a new Reader.
var (
	// ErrDisconnected means the port failed: the device node is gone,
	// reading gave EOF or an I/O error, or a write failed. The reader may
	// have executed the command in progress, or not.
	ErrDisconnected = errors.New("reader: disconnected")
	// ErrNoResponse means the reader did not answer a command after the
	// configured number of tries (wrong baud rate, reader off or hung).
	ErrNoResponse = errors.New("reader: no response")
)

// ErrClosed is returned by every call after Close.
var ErrClosed = errors.New("reader: closed")

// Card and cardholder errors, from the reader's answers and events.
var (
	// ErrNoCard means there is no card on the requested interface.
	ErrNoCard = errors.New("reader: no card")
	// ErrCardRemoved means the card left the slot or the field during the
	// session (for example in the middle of an APDU exchange).
	ErrCardRemoved = errors.New("reader: card removed")
	// ErrNotPowered means an APDU was sent without an active card.
	ErrNotPowered = errors.New("reader: card not powered")
	// ErrCard means the card did not answer, or answered wrongly.
	ErrCard = errors.New("reader: card error")
	// ErrCardholderCancel means the cardholder pressed the cancel key.
	ErrCardholderCancel = errors.New("reader: cancelled on the keypad")
	// ErrTimeout means the reader ended detection or PIN entry because
	// its timeout passed.
	ErrTimeout = errors.New("reader: prompt timed out")
	// ErrPINBypassed means the cardholder pressed Enter without a PIN.
	ErrPINBypassed = errors.New("reader: PIN entry bypassed")
	// ErrPINPad means the PIN pad cannot take a PIN (no key loaded,
	// DUKPT keys exhausted).
	ErrPINPad = errors.New("reader: PIN pad unavailable")
	// ErrBusy means another prompt is running on the reader.
	ErrBusy = errors.New("reader: busy")
	// ErrRejected means the reader refused the command as unknown or
	// malformed: a protocol mismatch or a bug.
	ErrRejected = errors.New("reader: command rejected")
)

// StatusError is a response other than OK. It matches (errors.Is) the
// sentinel for its status.
type StatusError struct {
	Command Type
	Status  Type
}

// Error reads like "reader: APDU: CARD_REMOVED".
func (e *StatusError) Error() string {
	return fmt.Sprintf("reader: %s: %s", e.Command, e.Status)
}

// Unwrap returns the sentinel for the status.
func (e *StatusError) Unwrap() error {
	switch e.Status {
	case RespNoCard:
		return ErrNoCard
	case RespCardRemoved:
		return ErrCardRemoved
	case RespNotPowered:
		return ErrNotPowered
	case RespCardError:
		return ErrCard
	case RespPINPadError:
		return ErrPINPad
	case RespBusy:
		return ErrBusy
	}
	return ErrRejected
}

// linkError is a port failure or a reader that stopped answering, with
// the command it happened in.
type linkError struct {
	op  string
	err error // ErrDisconnected or ErrNoResponse, possibly wrapping the cause
}

func (e *linkError) Error() string { return "reader: " + e.op + ": " + e.err.Error() }
func (e *linkError) Unwrap() error { return e.err }

// disconnected wraps a port error as ErrDisconnected, keeping the cause
// (errors.Is(err, os.ErrNotExist) works for a missing device node).
func disconnected(cause error) error {
	if cause == nil || errors.Is(cause, ErrDisconnected) {
		return ErrDisconnected
	}
	return fmt.Errorf("%w: %w", ErrDisconnected, cause)
}
