package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/vinr/cashlessd/daemon/api/wire"
)

// FuzzDecode feeds arbitrary bodies to the strict decoder of every request
// type. It must never panic, it refuses only with invalid_request, and
// whatever it accepts can be read one way only: the reference reading
// below (a token walk written apart from the decoder) finds exactly one
// JSON object in UTF-8 with no duplicate key and no null anywhere, whose
// keys are exactly field names of the type, and the decoded struct holds
// the values that reading found, nothing more.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{}`, ``, `{"amount":2500,"currency":"USD","reference":"POS-1","tipAmount":300,"printReceipt":true}`,
		`{"amount":"x"}`, `{"amount":1e309}`, `[`, `{"a":1}`, `null`, `{"reference":"\u0000"}`,
		`{"originalReference":"A","captureAmount":-1,"currency":"usd","reference":"B"}`, `{"type":"both"} {}`,
		`{"amount":9223372036854775807,"currency":"USD","reference":"X"}`, "{\"reference\":\"\xff\"}",
		`{"amount":100,"currency":"USD","reference":"A","amount":7000}`, `{"Amount":100}`, `{"AMOUNT":1}`,
		`{"amount":null}`, `{"tipAmount":null,"amount":1}`, `{"\u0061mount":1}`, `{"pre\u017fent":true}`,
		`{"image":{"name":"x","files":{"A0":{"fci":"6F00","records":{"1":["7000"]}}}}}`, `{"image":{"Name":"x"}}`,
		`{"image":{"files":{"A0":{},"A0":{}}}}`, `{"image":[null]}`, `{"reference":"\ud800"}`, `{"amount":-0}`,
		`{"amount":1.0}`, `{"type":"both","type":"merchant"}`, `{"paper":true}`, `{"advanceSeconds":60}`,
		`{"garbleFrames":3,"unplugged":false}`, `{"latencyMs":5,"forgetTransaction":"A"}`,
	} {
		f.Add(seed)
	}
	e := echo.New()
	f.Fuzz(func(t *testing.T, body string) {
		targets := []any{&wire.EmptyRequest{}, &wire.SaleRequest{}, &wire.PreauthRequest{}, &wire.CompleteRequest{},
			&wire.RefundRequest{}, &wire.CancelRequest{}, &wire.BatchCloseRequest{}, &wire.ReprintRequest{},
			&wire.SimCardRequest{}, &wire.SimHostRequest{}, &wire.SimReaderRequest{}, &wire.SimPrinterRequest{},
			&wire.SimClockRequest{}}
		for _, v := range targets {
			c := e.NewContext(httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body)), httptest.NewRecorder())
			if err := decode(c, v); err != nil {
				if !strings.HasPrefix(err.Error(), "invalid_request: ") {
					t.Fatalf("decode error is not invalid_request: %v", err)
				}
				continue
			}
			if err := readsOneWay(body, v); err != nil {
				t.Fatalf("%T accepted %q: %v", v, body, err)
			}
			if r, ok := v.(*wire.SaleRequest); ok {
				var val validator
				val.amount("amount", r.Amount)
				val.currency(r.Currency)
				val.reference("reference", r.Reference, true)
				val.optionalAmount("tipAmount", r.TipAmount)
				if err := val.check(); err != nil && !strings.HasPrefix(err.Error(), "invalid_request: ") {
					t.Fatalf("%v", err)
				}
			}
		}
	})
}

// readsOneWay checks a body the decoder accepted into v against the
// reference reading.
func readsOneWay(body string, v any) error {
	if strings.TrimSpace(body) == "" {
		body = "{}"
	}
	if !utf8.ValidString(body) {
		return errors.New("the body is not UTF-8")
	}
	ref, problems, err := referenceRead([]byte(body))
	if err != nil {
		return fmt.Errorf("the reference reading failed: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("the reference reading found %v", problems)
	}
	obj, ok := ref.(map[string]any)
	if !ok {
		return fmt.Errorf("the body is %T, not an object", ref)
	}
	rv := reflect.ValueOf(v).Elem()
	rt := rv.Type()
	names := make(map[string]bool)
	for i := 0; i < rt.NumField(); i++ {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		names[name] = true
		got, present := obj[name]
		if err := sameValue(rv.Field(i), got, present); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	for k := range obj {
		if !names[k] {
			return fmt.Errorf("key %q is not a field name of %s", k, rt.Name())
		}
	}
	return nil
}

// sameValue checks that field holds the reference reading's value want
// (or nothing, when the key was absent).
func sameValue(field reflect.Value, want any, present bool) error {
	if raw, ok := field.Interface().(json.RawMessage); ok {
		if !present {
			if raw != nil {
				return fmt.Errorf("absent, but decoded %s", raw)
			}
			return nil
		}
		got, problems, err := referenceRead(raw)
		if err != nil || len(problems) > 0 || !reflect.DeepEqual(got, want) {
			return fmt.Errorf("raw %s reads as %v (%v %v), the body says %v", raw, got, problems, err, want)
		}
		return nil
	}
	if field.IsNil() {
		if present {
			return fmt.Errorf("the body says %v, decoded nothing", want)
		}
		return nil
	}
	if !present {
		return fmt.Errorf("absent, but decoded %v", field.Elem())
	}
	got := field.Elem()
	switch got.Kind() {
	case reflect.Int, reflect.Int64:
		n, ok := want.(json.Number)
		if !ok {
			return fmt.Errorf("decoded %v from %T", got, want)
		}
		i, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil || i != got.Int() {
			return fmt.Errorf("decoded %d from %s", got.Int(), n)
		}
	case reflect.String:
		if s, ok := want.(string); !ok || s != got.String() {
			return fmt.Errorf("decoded %q from %v", got.String(), want)
		}
	case reflect.Bool:
		if b, ok := want.(bool); !ok || b != got.Bool() {
			return fmt.Errorf("decoded %v from %v", got.Bool(), want)
		}
	default:
		return fmt.Errorf("no comparison for %s", got.Type())
	}
	return nil
}

// referenceRead reads body as one JSON value into maps, slices and
// json.Numbers, with an explicit stack rather than recursion, and lists
// every duplicate key and every null it meets instead of refusing them.
func referenceRead(body []byte) (any, []string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	type frame struct {
		obj   map[string]any
		arr   []any
		key   string // the key whose value comes next, in an object
		keyed bool   // key was read and its value not yet
	}
	var (
		stack    []*frame
		problems []string
		result   any
		done     bool
	)
	put := func(v any) {
		if len(stack) == 0 {
			result, done = v, true
			return
		}
		top := stack[len(stack)-1]
		if top.obj == nil {
			top.arr = append(top.arr, v)
			return
		}
		if _, dup := top.obj[top.key]; dup {
			problems = append(problems, "duplicate key "+strconv.Quote(top.key))
		}
		top.obj[top.key] = v
		top.key, top.keyed = "", false
	}
	for !done {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		if top := len(stack); top > 0 && stack[top-1].obj != nil && !stack[top-1].keyed {
			if k, ok := tok.(string); ok {
				stack[top-1].key, stack[top-1].keyed = k, true
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{obj: map[string]any{}})
		case json.Delim('['):
			stack = append(stack, &frame{arr: []any{}})
		case json.Delim('}'), json.Delim(']'):
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if top.obj != nil {
				put(top.obj)
			} else {
				put(top.arr)
			}
		case nil:
			problems = append(problems, "null")
			put(nil)
		default:
			put(tok)
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, fmt.Errorf("data after the value: %v", err)
	}
	return result, problems, nil
}
