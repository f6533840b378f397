package daemon

import (
	"errors"
	"fmt"
)

// Error codes of the Cashless API (the reference's table plus DESIGN.md's).
const (
	CodeInvalidKey            = "invalid_key"
	CodeInvalidRequest        = "invalid_request"
	CodeTerminalBusy          = "terminal_busy"
	CodeTransactionNotFound   = "transaction_not_found"
	CodeCancelNotAllowed      = "cancel_not_allowed"
	CodeAmountExceedsOriginal = "amount_exceeds_original"
	CodePreauthExpired        = "preauth_expired"
	CodePreauthCompleted      = "preauth_already_completed"
	CodePrinterUnavailable    = "printer_unavailable"
	CodePrinterError          = "printer_error"
	CodeCardDeclined          = "card_declined"
	CodeCommunicationError    = "communication_error"
	CodeInternalError         = "internal_error"
	CodeDuplicateReference    = "duplicate_reference"
	CodeTransactionCancelled  = "transaction_cancelled"
	CodeTooManyAttempts       = "too_many_attempts"
	CodeReaderError           = "reader_error"
	CodeStorageUnavailable    = "storage_unavailable"
	CodeNotFound              = "not_found"
	CodeMethodNotAllowed      = "method_not_allowed"
)

// Error is an API error: a code from the table and a message for people.
type Error struct {
	Code    string
	Message string
}

// Error implements error.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

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
