package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/money"
)

// maxAmount is the largest amount ISO 8583 field 4 carries (12 digits).
const maxAmount int64 = 999_999_999_999

// decode reads the JSON body strictly into v: unknown fields, wrong types,
// trailing data and malformed JSON are invalid_request errors naming the
// field. An empty body counts as {}.
func decode(c echo.Context, v any) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var tooLarge *echo.HTTPError
		if errors.As(err, &tooLarge) {
			return tooLarge
		}
		return invalid("the request body could not be read")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if dec.More() {
		return invalid("the body must be one JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalid("the body must be one JSON object")
	}
	return nil
}

// decodeError turns encoding/json's errors into messages an integrator can
// act on.
func decodeError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return invalid("the body must be a JSON object")
		}
		return invalid(fmt.Sprintf("%s: expected %s, got %s", typeErr.Field, jsonType(typeErr.Type.String()), typeErr.Value))
	case errors.As(err, &syntaxErr):
		return invalid(fmt.Sprintf("malformed JSON at byte %d: %v", syntaxErr.Offset, syntaxErr))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return invalid("malformed JSON: the body ends early")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.TrimPrefix(err.Error(), "json: unknown field ")
		return invalid(fmt.Sprintf("unknown field %s", field))
	}
	return invalid("malformed JSON: " + err.Error())
}

// jsonType names a Go type as JSON would.
func jsonType(goType string) string {
	t := strings.TrimPrefix(goType, "*")
	switch {
	case strings.HasPrefix(t, "int"):
		return "an integer"
	case t == "string":
		return "a string"
	case t == "bool":
		return "true or false"
	}
	return "a JSON object"
}

func invalid(msg string) *daemon.Error {
	return &daemon.Error{Code: daemon.CodeInvalidRequest, Message: msg}
}

// validator collects the first problem found in a request.
type validator struct{ err *daemon.Error }

func (v *validator) fail(field, format string, args ...any) {
	if v.err == nil {
		v.err = invalid(field + ": " + fmt.Sprintf(format, args...))
	}
}

// amount checks a required positive amount in minor units.
func (v *validator) amount(field string, p *int64) int64 {
	switch {
	case p == nil:
		v.fail(field, "is required (an integer in minor units, e.g. 2500 for 25.00)")
	case *p <= 0:
		v.fail(field, "must be greater than 0 (minor units)")
	case *p > maxAmount:
		v.fail(field, "must be at most %d", maxAmount)
	default:
		return *p
	}
	return 0
}

// optionalAmount checks an optional non-negative amount.
func (v *validator) optionalAmount(field string, p *int64) int64 {
	if p == nil {
		return 0
	}
	if *p < 0 {
		v.fail(field, "must not be negative")
	} else if *p > maxAmount {
		v.fail(field, "must be at most %d", maxAmount)
	}
	return *p
}

// currency checks an ISO 4217 code; whether the terminal takes it is the
// engine's check.
func (v *validator) currency(p *string) string {
	switch {
	case p == nil:
		v.fail("currency", "is required (ISO 4217, e.g. \"USD\")")
	case !money.Valid(*p):
		v.fail("currency", "%q is not an ISO 4217 currency code", *p)
	default:
		return *p
	}
	return ""
}

// reference checks 1-64 printable ASCII characters.
func (v *validator) reference(field string, p *string, required bool) string {
	if p == nil {
		if required {
			v.fail(field, "is required (1-64 printable ASCII characters)")
		}
		return ""
	}
	r := *p
	if len(r) == 0 || len(r) > 64 {
		v.fail(field, "must be 1-64 printable ASCII characters")
		return ""
	}
	for i := 0; i < len(r); i++ {
		if r[i] < 0x20 || r[i] > 0x7e {
			v.fail(field, "must be printable ASCII (character %d is not)", i+1)
			return ""
		}
	}
	return r
}

func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}

// check returns the collected error, if any.
func (v *validator) check() error {
	if v.err != nil {
		return v.err
	}
	return nil
}
