package main

import (
	"encoding/json"
	"net/http"

	"github.com/vinr/cashlessd/daemon/api/wire"
)

// The Cashless API's answers are package wire's types. Decoding is
// lenient: fields a newer terminal adds are ignored.

// answerError is the error object of an answer, if it has one.
func answerError(a *answer) *wire.Error {
	var e struct {
		Error *wire.Error `json:"error"`
	}
	_ = decode(a, &e)
	return e.Error
}

// decode reads an answer into v; post has already checked it is JSON.
func decode(a *answer, v any) error { return json.Unmarshal(a.raw, v) }

// jsonExit is the exit code for an answer shown as JSON: the same as the
// human form would give.
func jsonExit(a *answer) int {
	var t struct {
		Status string      `json:"status"`
		Error  *wire.Error `json:"error"`
	}
	_ = decode(a, &t)
	return outcome(a.status, t.Status, t.Error)
}

// outcome maps an answer to the exit code: a transaction that ran and was
// not approved is 1, a refused request 4 (a 5xx without a transaction is a
// failed operation, 1).
func outcome(httpStatus int, status string, e *wire.Error) int {
	switch {
	case httpStatus == http.StatusOK && e == nil:
		return exitOK
	case status == "declined" || status == "cancelled" || status == "failed":
		return exitNotApproved
	case httpStatus >= 500:
		return exitNotApproved
	}
	return exitRefused
}
