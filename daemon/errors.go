package daemon

import (
	"errors"
	"fmt"
)

// Error codes of the engine's refusals and failures, as the Cashless API
// reference names them (its table plus DESIGN.md's). Codes only the HTTP
// surface gives (a wrong key, an unknown path) are the api package's.
const (
	CodeInvalidRequest        = "invalid_request"
	CodeTerminalBusy          = "terminal_busy"
	CodeTransactionNotFound   = "transaction_not_found"
	CodeCancelNotAllowed      = "cancel_not_allowed"
	CodeAmountExceedsOriginal = "amount_exceeds_original"
	CodePreauthExpired        = "preauth_expired"
	CodePreauthCompleted      = "preauth_already_completed"
	CodePreauthReleased       = "preauth_released"
	CodePrinterUnavailable    = "printer_unavailable"
	CodePrinterError          = "printer_error"
	CodeCardDeclined          = "card_declined"
	CodeCommunicationError    = "communication_error"
	CodeInternalError         = "internal_error"
	CodeDuplicateReference    = "duplicate_reference"
	CodeTransactionCancelled  = "transaction_cancelled"
	CodeReaderError           = "reader_error"
	CodeStorageUnavailable    = "storage_unavailable"
	CodeVoidNotAllowed        = "void_not_allowed"
)

// Error is a refusal or failure of the engine: a code from the table and a
// message for people. Cause, when set, tells callers more than the code
// (ErrStillRunning).
type Error struct {
	Code    string
	Message string
	Cause   error
}

// Error implements error.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Unwrap returns the cause, for errors.Is.
func (e *Error) Unwrap() error { return e.Cause }

// ErrStillRunning is the cause of a terminal_busy refusal of a request
// whose reference is the transaction running now: its outcome will come
// once it finishes.
var ErrStillRunning = errors.New("the transaction with this reference is still running")

// Errorf makes an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// AsError returns err as an *Error, or an internal_error that hides the
// detail from the ECR.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: CodeInternalError, Message: "Unexpected error; retry once, contact support if it persists."}
}
