package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/api/wire"
)

type allowAll struct{}

func (allowAll) Verify(string) bool { return true }

func TestPanicsAndUnexpectedErrorsAreInternalErrors(t *testing.T) {
	s := New(Options{Keys: allowAll{}, Log: zerolog.Nop()})
	s.echo.POST("/panic", func(echo.Context) error { panic("boom") })
	s.echo.POST("/oops", func(echo.Context) error { return errors.New("disk on fire: /secret/path") })
	for _, path := range []string{"/panic", "/oops"} {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, strings.NewReader("{}")))
		var body wire.ErrorResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		if rec.Code != 500 || body.Error.Code != daemon.CodeInternalError || strings.Contains(body.Error.Message, "secret") {
			t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
		}
	}
}

func TestEveryCodeHasItsStatus(t *testing.T) {
	want := map[string]int{
		"invalid_key": 401, "terminal_busy": 409, "transaction_not_found": 404, "cancel_not_allowed": 422,
		"amount_exceeds_original": 422, "preauth_expired": 422, "printer_unavailable": 422, "card_declined": 402,
		"communication_error": 503, "internal_error": 500, "invalid_request": 400, "duplicate_reference": 409,
		"transaction_cancelled": 409, "preauth_already_completed": 422, "too_many_attempts": 429, "printer_error": 503,
		"reader_error": 503, "storage_unavailable": 503,
	}
	for code, status := range want {
		if got := httpStatus(code); got != status {
			t.Errorf("%s: %d, want %d", code, got, status)
		}
	}
}
