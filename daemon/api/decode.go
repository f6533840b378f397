package api

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/api/wire"
	"github.com/vinr/cashlessd/emv/card"
	"github.com/vinr/cashlessd/money"
)

// maxAmount is the largest amount ISO 8583 field 4 carries (12 digits).
const maxAmount int64 = 999_999_999_999

// decode reads the JSON body strictly into v, so that it can be read one
// way only: duplicate keys, keys that are not exactly a field name (field
// names are case-sensitive), null for any field, unknown fields, wrong
// types, trailing data, malformed JSON and bodies that are not UTF-8 are
// invalid_request errors naming the field, at every depth. An empty body
// counts as {}.
func decode(c echo.Context, v any) error {
	body, err := readBody(c.Request())
	if err != nil {
		var tooLarge *echo.HTTPError
		if errors.As(err, &tooLarge) {
			return tooLarge
		}
		return invalid("the request body could not be read")
	}
	if len(bytes.TrimSpace(body)) == 0 || string(bytes.Trim(body, jsonSpace)) == "{}" {
		// {} leaves v as it is, whatever its type: status polls and
		// the other calls without fields need no walk or decoder.
		return nil
	}
	if err := checkStrict(body, reflect.TypeOf(v)); err != nil {
		return err
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

// jsonSpace is the white space JSON allows around a value.
const jsonSpace = " \t\r\n"

// smallBody is the largest body of known length readBody reads in one
// allocation of its size.
const smallBody = 4 << 10

// readBody reads a request's body: a small one of known length (every
// ECR request) into one buffer of its size, others as they come.
func readBody(r *http.Request) ([]byte, error) {
	if n := r.ContentLength; n >= 0 && n <= smallBody {
		body := make([]byte, n)
		if _, err := io.ReadFull(r.Body, body); err != nil {
			return nil, err
		}
		return body, nil
	}
	return io.ReadAll(r.Body)
}

// maxDepth is how deeply a request may nest objects and arrays; the
// deepest request (a simulated card image) nests six levels.
const maxDepth = 32

// checkStrict walks body once, token by token, against the JSON shape of
// t: every object key must appear once and be exactly a field name of the
// struct it fills (encoding/json alone takes the last of duplicate keys
// and matches names case-insensitively), no value may be null, and one
// JSON object must be all there is. Types decode checks itself (numbers,
// strings) are left to it.
func checkStrict(body []byte, t reflect.Type) error {
	if !utf8.Valid(body) {
		return invalid("the body must be UTF-8 text")
	}
	w := strictWalk{dec: json.NewDecoder(bytes.NewReader(body))}
	w.dec.UseNumber()
	tok, err := w.dec.Token()
	if err != nil {
		return decodeError(err)
	}
	if tok != json.Delim('{') {
		return invalid("the body must be a JSON object")
	}
	if err := w.object(deref(t), "", 1); err != nil {
		return err
	}
	if _, err := w.dec.Token(); err != io.EOF {
		return invalid("the body must be one JSON object")
	}
	return nil
}

// strictWalk is one pass of checkStrict over a body.
type strictWalk struct{ dec *json.Decoder }

// value checks the value that fills a field of type t (nil: any shape)
// named path.
func (w strictWalk) value(t reflect.Type, path string, depth int) error {
	tok, err := w.dec.Token()
	if err != nil {
		return decodeError(err)
	}
	switch tok {
	case nil:
		return invalid(path + ": must not be null (leave the field out instead)")
	case json.Delim('{'):
		return w.object(t, path, depth+1)
	case json.Delim('['):
		return w.array(t, path, depth+1)
	}
	return nil
}

// object checks the members of an object whose '{' was read.
func (w strictWalk) object(t reflect.Type, path string, depth int) error {
	if depth > maxDepth {
		return invalid(path + ": nested too deeply")
	}
	fields, elem, isStruct := shape(t)
	seen := make(map[string]bool)
	for w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			return decodeError(err)
		}
		key, _ := tok.(string)
		name := join(path, key)
		if seen[key] {
			return invalid(name + ": appears more than once")
		}
		seen[key] = true
		ft := elem
		if isStruct {
			var ok bool
			if ft, ok = fields[key]; !ok {
				return unknownField(name, key, fields)
			}
			if raw := rawSchema(t, key); raw != nil {
				ft = raw
			}
		}
		if err := w.value(ft, name, depth); err != nil {
			return err
		}
	}
	_, err := w.dec.Token() // '}'
	if err != nil {
		return decodeError(err)
	}
	return nil
}

// array checks the elements of an array whose '[' was read.
func (w strictWalk) array(t reflect.Type, path string, depth int) error {
	if depth > maxDepth {
		return invalid(path + ": nested too deeply")
	}
	var elem reflect.Type
	if t != nil && !custom(t) && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
		elem = deref(t.Elem())
	}
	for i := 0; w.dec.More(); i++ {
		if err := w.value(elem, fmt.Sprintf("%s[%d]", path, i), depth); err != nil {
			return err
		}
	}
	_, err := w.dec.Token() // ']'
	if err != nil {
		return decodeError(err)
	}
	return nil
}

// unknownField names a key that fills no field, and the field it was
// probably meant for when it differs only in case.
func unknownField(name, key string, fields map[string]reflect.Type) error {
	for f := range fields {
		if strings.EqualFold(f, key) {
			return invalid(fmt.Sprintf("unknown field %q (field names are case-sensitive: did you mean %q?)", name, f))
		}
	}
	return invalid(fmt.Sprintf("unknown field %q", name))
}

// shape tells what an object filling t may hold: a struct's fields by
// their exact JSON names, or a map's element type for any key. Types that
// read their own JSON, interfaces and json.RawMessage take any object
// (elem nil), still without duplicate keys or nulls.
func shape(t reflect.Type) (fields map[string]reflect.Type, elem reflect.Type, isStruct bool) {
	if t == nil || custom(t) {
		return nil, nil, false
	}
	switch t.Kind() {
	case reflect.Struct:
		fields = make(map[string]reflect.Type)
		structFields(t, fields)
		return fields, nil, true
	case reflect.Map:
		return nil, deref(t.Elem()), false
	}
	return nil, nil, false
}

// structFields adds the JSON names of t's fields to fields, as
// encoding/json names them (the json tag, else the Go name), with the
// fields of untagged embedded structs promoted.
func structFields(t reflect.Type, fields map[string]reflect.Type) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && deref(f.Type).Kind() == reflect.Struct {
			structFields(deref(f.Type), fields)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = deref(f.Type)
	}
}

// rawSchema is the type a json.RawMessage field of struct t holds, so
// that its inside is checked as strictly as the rest: the simulated
// card's image is a card image.
func rawSchema(t reflect.Type, field string) reflect.Type {
	if t == reflect.TypeFor[wire.SimCardRequest]() && field == "image" {
		return reflect.TypeFor[card.Image]()
	}
	return nil
}

// custom reports whether t reads its own JSON (json.RawMessage included).
func custom(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return t.Kind() == reflect.Interface || p.Implements(reflect.TypeFor[json.Unmarshaler]()) ||
		p.Implements(reflect.TypeFor[encoding.TextUnmarshaler]())
}

// deref is t without its pointers.
func deref(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// join names a member of the object at path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
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
