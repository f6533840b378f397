package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	verrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	"github.com/pb33f/libopenapi/datamodel/high/base"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"

	"github.com/vinr/cashlessd/daemon/api/wire"
)

// The OpenAPI description lives beside the code it describes; this test keeps
// the two honest. Every answer a real daemon gives, for every endpoint and
// for the error cases, must validate against docs/openapi.yaml, whose
// response schemas are closed (additionalProperties: false), so a field the
// daemon sends that the spec does not name, or names with another type,
// fails here.

const specFile = "../../docs/openapi.yaml"

// transportHeader reports the headers net/http sets on every answer; the
// spec leaves them out. Every other response header must be declared.
func transportHeader(name string) bool {
	return slices.ContainsFunc([]string{"Content-Type", "Content-Length", "Date"}, func(h string) bool { return strings.EqualFold(h, name) })
}

// spec is docs/openapi.yaml, loaded once per test, with what the test saw.
type spec struct {
	t        *testing.T
	model    *v3.Document
	check    validator.Validator
	schemas  schema_validation.SchemaValidator
	mu       sync.Mutex
	answered map[string]map[int]bool // path → statuses seen
}

func loadSpec(t *testing.T) *spec {
	t.Helper()
	raw, err := os.ReadFile(specFile)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := libopenapi.NewDocument(raw)
	if err != nil {
		t.Fatalf("%s: %v", specFile, err)
	}
	if v := doc.GetSpecInfo().Version; !strings.HasPrefix(v, "3.1") {
		t.Fatalf("%s is OpenAPI %s, want 3.1", specFile, v)
	}
	m, err := doc.BuildV3Model()
	if err != nil {
		t.Fatalf("%s: %v", specFile, err)
	}
	check, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("%s: %v", specFile, errs)
	}
	if ok, verrs := check.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("%s is not valid OpenAPI 3.1: %s: %s", specFile, e.Message, e.Reason)
			for _, f := range e.SchemaValidationErrors {
				t.Errorf("  %s (%s)", f.Reason, f.KeywordLocation)
			}
		}
		t.FailNow()
	}
	return &spec{t: t, model: &m.Model, check: check, schemas: schema_validation.NewSchemaValidator(),
		answered: map[string]map[int]bool{}}
}

// exchange is one request and answer, as the validator needs them.
type exchange struct {
	path        string
	body        string
	key         string
	noKey       bool
	validAsSent bool              // the request itself must pass the spec
	headers     map[string]string // more request headers (a signature)
}

// call sends the exchange to d and checks the answer has the status and
// error code wanted and validates against the spec. It reports problems
// with t.Errorf, so it may run in a goroutine.
func (s *spec) call(d *daemonUnderTest, x exchange, status int, code string) response {
	t := s.t
	key := d.key
	if x.key != "" {
		key = x.key
	}
	if x.noKey {
		key = ""
	}
	newRequest := func() *http.Request {
		req, err := http.NewRequest(http.MethodPost, d.base+x.path, strings.NewReader(x.body))
		if err != nil {
			panic(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set(keyHeader, key)
		}
		for k, v := range x.headers {
			req.Header.Set(k, v)
		}
		return req
	}
	res, err := d.client.Do(newRequest())
	if err != nil {
		t.Errorf("POST %s %s: %v", x.path, abbreviate(x.body), err)
		return response{}
	}
	raw, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	r := response{status: res.StatusCode, header: res.Header, raw: raw}
	_ = json.Unmarshal(raw, &r.body)
	where := fmt.Sprintf("POST %s %s → %d %s", x.path, abbreviate(x.body), res.StatusCode, abbreviate(string(raw)))
	if res.StatusCode != status {
		t.Errorf("%s: want status %d", where, status)
	}
	if code != "" {
		if e, _ := r.body["error"].(map[string]any); e == nil || e["code"] != code {
			t.Errorf("%s: want error code %s", where, code)
		}
	}

	if x.validAsSent {
		if ok, errs := s.check.ValidateHttpRequestSync(newRequest()); !ok {
			s.report(where+": the request does not match the spec", errs)
		}
	}
	res.Body = io.NopCloser(bytes.NewReader(raw))
	if ok, errs := s.check.ValidateHttpResponse(newRequest(), res); !ok {
		s.report(where+": the answer does not match the spec", errs)
	}
	s.checkHeaders(where, x.path, res)

	s.mu.Lock()
	if s.answered[x.path] == nil {
		s.answered[x.path] = map[int]bool{}
	}
	s.answered[x.path][res.StatusCode] = true
	s.mu.Unlock()
	return r
}

// rejects checks that the spec refuses a request the daemon refuses with
// 400: the spec is as strict as the daemon's decoder.
func (s *spec) rejects(d *daemonUnderTest, path, body string) {
	s.call(d, exchange{path: path, body: body}, http.StatusBadRequest, "invalid_request")
	req, err := http.NewRequest(http.MethodPost, d.base+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(keyHeader, d.key)
	if ok, _ := s.check.ValidateHttpRequestSync(req); ok {
		s.t.Errorf("POST %s %s: the daemon refuses this body, the spec accepts it", path, body)
	}
}

// checkHeaders requires every response header other than the transport's to
// be declared for the operation and status, and an optional one to match
// its schema (the validator checks only required headers).
func (s *spec) checkHeaders(where, path string, res *http.Response) {
	declared := s.responseFor(path, res.StatusCode)
	for name, values := range res.Header {
		if transportHeader(name) {
			continue
		}
		var h *v3.Header
		if declared != nil && declared.Headers != nil {
			for k, v := range declared.Headers.FromOldest() {
				if strings.EqualFold(k, name) {
					h = v
				}
			}
		}
		if h == nil {
			s.t.Errorf("%s: header %s is not declared in the spec", where, name)
			continue
		}
		if h.Schema == nil || h.Required {
			continue // the validator checked it
		}
		sch := h.Schema.Schema()
		for _, v := range values {
			payload, _ := json.Marshal(v)
			if slices.Contains(sch.Type, "integer") {
				payload = []byte(v)
			}
			if ok, errs := s.schemas.ValidateSchemaBytes(sch, payload); !ok {
				s.report(fmt.Sprintf("%s: header %s: %q", where, name, v), errs)
			}
		}
	}
}

// responseFor is the spec's response for POST path and status.
func (s *spec) responseFor(path string, status int) *v3.Response {
	item := s.model.Paths.PathItems.GetOrZero(path)
	if item == nil || item.Post == nil || item.Post.Responses == nil {
		return nil
	}
	return item.Post.Responses.Codes.GetOrZero(strconv.Itoa(status))
}

// schema is a named component schema.
func (s *spec) schema(name string) *base.Schema {
	p := s.model.Components.Schemas.GetOrZero(name)
	if p == nil {
		s.t.Fatalf("the spec has no schema %s", name)
	}
	return p.Schema()
}

// conforms validates a body against a named component schema (for answers
// no operation describes: unknown path, wrong method).
func (s *spec) conforms(where string, body []byte, name string) {
	if ok, errs := s.schemas.ValidateSchemaBytes(s.schema(name), body); !ok {
		s.report(where+": does not match "+name, errs)
	}
}

func (s *spec) report(what string, errs []*verrors.ValidationError) {
	s.t.Helper()
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "\n  %s: %s", e.Message, e.Reason)
		for _, f := range e.SchemaValidationErrors {
			fmt.Fprintf(&b, "\n    %s %s (%s)", f.FieldPath, f.Reason, f.KeywordLocation)
		}
	}
	s.t.Errorf("%s%s", what, b.String())
}

// covered fails for every operation the test never saw answer 200.
func (s *spec) covered() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for path, item := range s.model.Paths.PathItems.FromOldest() {
		if item.Post == nil {
			continue // the event stream (GET) has its own test
		}
		if !s.answered[path][http.StatusOK] {
			s.t.Errorf("POST %s was never answered 200 in this test", path)
		}
	}
	var seen []int
	for _, statuses := range s.answered {
		for st := range statuses {
			if !slices.Contains(seen, st) {
				seen = append(seen, st)
			}
		}
	}
	sort.Ints(seen)
	for _, want := range []int{200, 400, 401, 402, 403, 404, 409, 413, 422, 429, 503} {
		if !slices.Contains(seen, want) {
			s.t.Errorf("no answer with status %d was validated (saw %v)", want, seen)
		}
	}
}

func abbreviate(s string) string {
	if len(s) > 160 {
		return s[:160] + "…"
	}
	return s
}

const keyHeader = "X-VINR-Cashless-Key"

// TestOpenAPIDescribesEveryAnswer drives a real daemon through every
// endpoint and the error answers, and validates each request and answer
// against docs/openapi.yaml.
func TestOpenAPIDescribesEveryAnswer(t *testing.T) {
	t.Parallel()
	s := loadSpec(t)
	// A lost host answer is given up after the host timeout, then reversed.
	d := startDaemon(t, t.TempDir(), "--config", writeConfig(t, "[host]\ntimeout = \"3s\"\n"))
	ok := func(path, body string) response {
		return s.call(d, exchange{path: path, body: body, validAsSent: true}, http.StatusOK, "")
	}
	fails := func(path, body string, status int, code string) response {
		return s.call(d, exchange{path: path, body: body, validAsSent: true}, status, code)
	}

	// A fresh terminal: nothing to show, reprint or cancel.
	ok("/cashless/v1/status", "{}")
	ok("/cashless/v1/status", "")
	fails("/cashless/v1/receipt/last", "{}", 404, "transaction_not_found")
	fails("/cashless/v1/receipt/reprint", `{"type":"both"}`, 404, "transaction_not_found")
	fails("/cashless/v1/cancel", "{}", 404, "transaction_not_found")

	// Sales: approved with a tip and a printed receipt, replayed, reused.
	ok("/simulator/v1/card", `{"pan":"4242424242424242","entryMethod":"chip","presentAfterMs":0,"present":true}`)
	sale := `{"amount":2500,"currency":"USD","reference":"OA-SALE-1","tipAmount":300,"printReceipt":true}`
	ok("/cashless/v1/sale", sale)
	if r := ok("/cashless/v1/sale", sale); r.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replayed sale without Idempotent-Replayed: %v", r.header)
	}
	fails("/cashless/v1/sale", `{"amount":2600,"currency":"USD","reference":"OA-SALE-1"}`, 409, "duplicate_reference")
	ok("/simulator/v1/card", `{"pan":"5555555555554444","entryMethod":"swipe"}`)
	ok("/cashless/v1/sale", `{"amount":1999,"currency":"USD","reference":"OA-SALE-2"}`)
	ok("/cashless/v1/status", "{}")

	// Declines, one per test card.
	for i, pan := range []string{"4000000000000002", "4000000000009995", "4000000000000069"} {
		ok("/simulator/v1/card", `{"pan":"`+pan+`","entryMethod":"contactless"}`)
		fails("/cashless/v1/sale", fmt.Sprintf(`{"amount":900,"currency":"USD","reference":"OA-DECL-%d","tipAmount":100,"printReceipt":%v}`, i, i == 0), 402, "card_declined")
	}
	ok("/cashless/v1/receipt/last", "{}")
	ok("/simulator/v1/card", `{"pan":"4242424242424242"}`)

	// Lookups: approved, declined, by ID, never seen; the namespace
	// across kinds; receipt/last for one reference.
	approved := ok("/cashless/v1/transaction", `{"reference":"OA-SALE-1"}`)
	if approved.str("status") != "approved" || approved.str("type") != "sale" {
		t.Errorf("lookup of an approved sale: %s", approved.raw)
	}
	ok("/cashless/v1/transaction", `{"transactionId":"`+approved.str("transactionId")+`"}`)
	if r := ok("/cashless/v1/transaction", `{"reference":"OA-DECL-1"}`); r.str("status") != "declined" {
		t.Errorf("lookup of a declined sale: %s", r.raw)
	}
	fails("/cashless/v1/transaction", `{"reference":"OA-NEVER"}`, 404, "transaction_not_found")
	fails("/cashless/v1/transaction", `{"transactionId":"tpay_01HZ5QA7BK0000000000000000"}`, 404, "transaction_not_found")
	fails("/cashless/v1/preauth", `{"amount":2500,"currency":"USD","reference":"OA-SALE-1"}`, 409, "duplicate_reference")
	ok("/cashless/v1/receipt/last", `{"reference":"OA-SALE-1"}`)
	fails("/cashless/v1/receipt/last", `{"reference":"OA-NEVER"}`, 404, "transaction_not_found")

	// Pre-auths and their completion.
	ok("/cashless/v1/preauth", `{"amount":10000,"currency":"USD","reference":"OA-PRE-1","printReceipt":true}`)
	capture := `{"originalReference":"OA-PRE-1","captureAmount":8750,"currency":"USD","reference":"OA-CAP-1"}`
	ok("/cashless/v1/preauth/complete", capture)
	ok("/cashless/v1/preauth/complete", capture)
	fails("/cashless/v1/preauth/complete", `{"originalReference":"OA-PRE-1","captureAmount":100,"currency":"USD","reference":"OA-CAP-2"}`, 422, "preauth_already_completed")
	ok("/cashless/v1/preauth", `{"amount":1000,"currency":"USD","reference":"OA-PRE-2"}`)
	fails("/cashless/v1/preauth/complete", `{"originalReference":"OA-PRE-2","captureAmount":2000,"currency":"USD","reference":"OA-CAP-3"}`, 422, "amount_exceeds_original")
	fails("/cashless/v1/preauth/complete", `{"originalReference":"OA-NONE","captureAmount":2000,"currency":"USD","reference":"OA-CAP-4"}`, 404, "transaction_not_found")

	// A pre-auth's hold raised, declined, listed and released.
	ok("/cashless/v1/preauth", `{"amount":4000,"currency":"USD","reference":"OA-PRE-4"}`)
	raise := `{"originalReference":"OA-PRE-4","amount":1000,"reference":"OA-INC-1"}`
	ok("/cashless/v1/preauth/increment", raise)
	if r := ok("/cashless/v1/preauth/increment", raise); r.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replayed increment without Idempotent-Replayed: %v", r.header)
	}
	fails("/cashless/v1/preauth/increment", `{"originalReference":"OA-PRE-4","amount":90000,"reference":"OA-INC-2"}`, 402, "card_declined")
	fails("/cashless/v1/preauth/increment", `{"originalReference":"OA-PRE-1","amount":100,"reference":"OA-INC-3"}`, 422, "preauth_already_completed")
	fails("/cashless/v1/preauth/increment", `{"originalReference":"OA-NONE","amount":100,"reference":"OA-INC-4"}`, 404, "transaction_not_found")
	ok("/cashless/v1/preauth/list", "{}")
	ok("/cashless/v1/preauth/release", `{"originalReference":"OA-PRE-4","reference":"OA-REL-1"}`)
	fails("/cashless/v1/preauth/release", `{"originalReference":"OA-PRE-4","reference":"OA-REL-2"}`, 422, "preauth_released")
	fails("/cashless/v1/preauth/complete", `{"originalReference":"OA-PRE-4","captureAmount":100,"currency":"USD","reference":"OA-CAP-6"}`, 422, "preauth_released")
	ok("/cashless/v1/status", "{}")

	// Refunds of a sale and of a completion.
	ok("/cashless/v1/refund", `{"originalReference":"OA-SALE-1","amount":500,"currency":"USD","reference":"OA-REF-1","printReceipt":true}`)
	ok("/cashless/v1/refund", `{"originalReference":"OA-CAP-1","amount":100,"currency":"USD","reference":"OA-REF-2"}`)
	fails("/cashless/v1/refund", `{"originalReference":"OA-SALE-1","amount":999999,"currency":"USD","reference":"OA-REF-3"}`, 422, "amount_exceeds_original")
	fails("/cashless/v1/refund", `{"originalReference":"OA-NONE","amount":1,"currency":"USD","reference":"OA-REF-4"}`, 404, "transaction_not_found")

	// Receipts and the printer.
	ok("/cashless/v1/receipt/last", "")
	ok("/cashless/v1/receipt/reprint", "")
	ok("/cashless/v1/receipt/reprint", `{"type":"merchant"}`)
	ok("/simulator/v1/printer", `{"paper":false}`)
	fails("/cashless/v1/receipt/reprint", `{"type":"customer"}`, 503, "printer_error")
	ok("/cashless/v1/sale", `{"amount":700,"currency":"USD","reference":"OA-SALE-3","printReceipt":true}`)
	ok("/cashless/v1/status", "{}")
	ok("/simulator/v1/printer", `{"paper":true}`)
	ok("/simulator/v1/reader", `{"unplugged":false,"garbleFrames":0,"dropBytes":0}`)

	// Busy: a prompt waiting for a card, refused work, cancel.
	ok("/simulator/v1/card", `{"present":false}`)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.call(d, exchange{path: "/cashless/v1/sale", body: `{"amount":300,"currency":"USD","reference":"OA-CANCEL-1"}`, validAsSent: true},
			409, "transaction_cancelled")
	}()
	d.waitBusy("waiting_for_card")
	ok("/cashless/v1/status", "{}")
	if r := ok("/cashless/v1/transaction", `{"reference":"OA-CANCEL-1"}`); r.str("status") != "pending" || r.str("stage") != "waiting_for_card" {
		t.Errorf("lookup of the running sale: %s", r.raw)
	}
	fails("/cashless/v1/sale", `{"amount":300,"currency":"USD","reference":"OA-BUSY-1"}`, 409, "terminal_busy")
	fails("/cashless/v1/batch/close", `{"reference":"OA-BUSY-EOD"}`, 409, "terminal_busy")
	ok("/cashless/v1/cancel", `{"reference":"OA-CANCEL-1"}`)
	wg.Wait()
	d.waitIdle()

	// A card already presented cannot be cancelled.
	ok("/simulator/v1/card", `{"pan":"4242424242424242","presentAfterMs":0}`)
	ok("/simulator/v1/host", `{"latencyMs":800}`)
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.call(d, exchange{path: "/cashless/v1/sale", body: `{"amount":400,"currency":"USD","reference":"OA-NOCANCEL-1"}`, validAsSent: true}, 200, "")
	}()
	d.waitBusy("authorising")
	ok("/cashless/v1/status", "{}")
	fails("/cashless/v1/cancel", "{}", 422, "cancel_not_allowed")
	wg.Wait()
	ok("/simulator/v1/host", `{"latencyMs":0}`)

	// The host unreachable, or losing its answer: failed, nothing charged.
	ok("/simulator/v1/host", `{"offline":true}`)
	fails("/cashless/v1/sale", `{"amount":500,"currency":"USD","reference":"OA-OFF-1"}`, 503, "communication_error")
	fails("/cashless/v1/preauth", `{"amount":500,"currency":"USD","reference":"OA-OFF-2"}`, 503, "communication_error")
	fails("/cashless/v1/refund", `{"originalReference":"OA-SALE-2","amount":1,"currency":"USD","reference":"OA-OFF-3"}`, 503, "communication_error")
	fails("/cashless/v1/preauth/complete", `{"originalReference":"OA-PRE-2","captureAmount":1,"currency":"USD","reference":"OA-OFF-4"}`, 503, "communication_error")
	fails("/cashless/v1/preauth/increment", `{"originalReference":"OA-PRE-2","amount":1,"reference":"OA-OFF-5"}`, 503, "communication_error")
	fails("/cashless/v1/batch/close", `{"reference":"OA-OFF-EOD"}`, 503, "communication_error")
	ok("/simulator/v1/host", `{"offline":false,"dropResponse":true}`)
	fails("/cashless/v1/sale", `{"amount":600,"currency":"USD","reference":"OA-DROP-1"}`, 503, "communication_error")
	ok("/simulator/v1/host", `{"dropResponse":false}`)
	ok("/cashless/v1/status", "{}")

	// Void inside the open batch: voided, replayed, refused twice; the
	// X-report before the close, printed and not.
	ok("/cashless/v1/sale", `{"amount":1200,"currency":"USD","reference":"OA-SALE-V"}`)
	void := `{"originalReference":"OA-SALE-V","reference":"OA-VOID-1","printReceipt":true}`
	ok("/cashless/v1/void", void)
	if r := ok("/cashless/v1/void", void); r.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replayed void without Idempotent-Replayed: %v", r.header)
	}
	fails("/cashless/v1/void", `{"originalReference":"OA-SALE-2","reference":"OA-VOID-1"}`, 409, "duplicate_reference")
	fails("/cashless/v1/void", `{"originalReference":"OA-SALE-V","reference":"OA-VOID-2"}`, 422, "void_not_allowed")
	fails("/cashless/v1/void", `{"originalReference":"OA-NONE","reference":"OA-VOID-3"}`, 404, "transaction_not_found")
	ok("/cashless/v1/transaction", `{"reference":"OA-SALE-V"}`)
	ok("/cashless/v1/transaction", `{"reference":"OA-VOID-1"}`)
	ok("/cashless/v1/batch/totals", "")
	ok("/cashless/v1/batch/totals", `{"print":true}`)

	// Batches: close, replay, close an empty one.
	eod := `{"reference":"OA-EOD-1"}`
	ok("/cashless/v1/batch/close", eod)
	fails("/cashless/v1/void", `{"originalReference":"OA-SALE-2","reference":"OA-VOID-4"}`, 422, "void_not_allowed")
	ok("/cashless/v1/batch/totals", "{}")
	if r := ok("/cashless/v1/batch/close", eod); r.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replayed batch close without Idempotent-Replayed: %v", r.header)
	}
	ok("/cashless/v1/batch/close", `{"reference":"OA-EOD-2"}`)

	// An expired pre-auth.
	ok("/cashless/v1/preauth", `{"amount":1000,"currency":"USD","reference":"OA-PRE-3"}`)
	ok("/simulator/v1/clock", `{"advanceSeconds":691200}`)
	fails("/cashless/v1/preauth/complete", `{"originalReference":"OA-PRE-3","captureAmount":1000,"currency":"USD","reference":"OA-CAP-5"}`, 422, "preauth_expired")
	ok("/cashless/v1/status", "{}")

	// Bad input: the daemon answers 400 and the spec refuses it too.
	for _, c := range []struct{ path, body string }{
		{"/cashless/v1/sale", `{"amount":100,"currency":"USD","reference":"V","tipAmonut":5}`},
		{"/cashless/v1/sale", `{"amount":"100","currency":"USD","reference":"V"}`},
		{"/cashless/v1/sale", `{"amount":10.5,"currency":"USD","reference":"V"}`},
		{"/cashless/v1/sale", `{"amount":0,"currency":"USD","reference":"V"}`},
		{"/cashless/v1/sale", `{"amount":1000000000000,"currency":"USD","reference":"V"}`},
		{"/cashless/v1/sale", `{"amount":100,"tipAmount":-1,"currency":"USD","reference":"V"}`},
		{"/cashless/v1/sale", `{"currency":"USD","reference":"V"}`},
		{"/cashless/v1/sale", `{"amount":100,"currency":"usd","reference":"V"}`},
		{"/cashless/v1/sale", `{"amount":100,"currency":"USD","reference":""}`},
		{"/cashless/v1/sale", `{"amount":100,"currency":"USD","reference":"` + strings.Repeat("x", 65) + `"}`},
		{"/cashless/v1/sale", `{"amount":100,"currency":"USD","reference":"Bestellung-Ä"}`},
		{"/cashless/v1/sale", `{"amount":100,"currency":"USD","reference":"A\nB"}`},
		{"/cashless/v1/sale", `{"amount":100,"currency":"USD","reference":"V","printReceipt":"yes"}`},
		{"/cashless/v1/sale", `[1,2]`},
		{"/cashless/v1/preauth", `{"amount":100,"currency":"USD","reference":"V","tipAmount":1}`},
		{"/cashless/v1/preauth/complete", `{"originalReference":"A","currency":"USD","reference":"V"}`},
		{"/cashless/v1/preauth/increment", `{"originalReference":"A","amount":0,"reference":"V"}`},
		{"/cashless/v1/preauth/increment", `{"originalReference":"A","amount":1,"currency":"USD","reference":"V"}`},
		{"/cashless/v1/preauth/release", `{"reference":"V"}`},
		{"/cashless/v1/preauth/list", `{"includeExpired":true}`},
		{"/cashless/v1/refund", `{"amount":1,"currency":"USD","reference":"V"}`},
		{"/cashless/v1/status", `{"verbose":true}`},
		{"/cashless/v1/cancel", `{"reference":5}`},
		{"/cashless/v1/batch/close", `{}`},
		{"/cashless/v1/void", `{"reference":"V"}`},
		{"/cashless/v1/void", `{"originalReference":"A","reference":"V","amount":1}`},
		{"/cashless/v1/batch/totals", `{"print":"yes"}`},
		{"/cashless/v1/receipt/last", `{"type":"both"}`},
		{"/cashless/v1/transaction", `{}`},
		{"/cashless/v1/transaction", `{"reference":"A","transactionId":"tpay_01HZ5QA7BK0000000000000000"}`},
		{"/cashless/v1/transaction", `{"reference":""}`},
		{"/cashless/v1/receipt/reprint", `{"type":"all"}`},
		{"/simulator/v1/card", `{"pan":"12ab"}`},
		{"/simulator/v1/card", `{"presentAfterMs":-1}`},
		{"/simulator/v1/host", `{"latencyMs":600001}`},
		{"/simulator/v1/printer", `{}`},
		{"/simulator/v1/reader", `{"garbleFrames":101}`},
		{"/simulator/v1/clock", `{"advanceSeconds":-5}`},
	} {
		s.rejects(d, c.path, c.body)
	}
	// Refused by the daemon for reasons a schema cannot see; the answer
	// still has to match.
	s.call(d, exchange{path: "/cashless/v1/sale", body: `{"amount":100,"currency":"USD","reference":"V"} {}`}, 400, "invalid_request")
	s.call(d, exchange{path: "/cashless/v1/sale", body: `{"amount":100,`}, 400, "invalid_request")
	fails("/cashless/v1/sale", `{"amount":100,"currency":"EUR","reference":"V"}`, 400, "invalid_request")
	fails("/cashless/v1/sale", `{"amount":999999999999,"tipAmount":1,"currency":"USD","reference":"V"}`, 400, "invalid_request")
	fails("/simulator/v1/card", `{"pan":"4242424242424241"}`, 400, "invalid_request")

	// Keys: wrong (the request has the header the spec asks for) and
	// missing (it does not).
	s.call(d, exchange{path: "/cashless/v1/status", body: "{}", key: "ck_live_wrong", validAsSent: true}, 401, "invalid_key")
	s.call(d, exchange{path: "/cashless/v1/sale", body: `{"amount":1,"currency":"USD","reference":"K"}`, noKey: true}, 401, "invalid_key")
	if req, _ := http.NewRequest(http.MethodPost, d.base+"/cashless/v1/status", strings.NewReader("{}")); req != nil {
		if ok, _ := s.check.ValidateHttpRequestSync(req); ok {
			t.Error("the spec accepts a request without X-VINR-Cashless-Key")
		}
	}

	// Pairing: a code made on the terminal, redeemed without a key, once;
	// a payments-only ECR refused a refund; a signing ECR's unsigned call.
	pairBody := func(code, extra string) string { return `{"code":"` + code + `","name":"OpenAPI lane"` + extra + `}` }
	code := d.pairingCode("--scopes", "payments")
	lane := s.call(d, exchange{path: "/cashless/v1/pair", body: pairBody(code, ""), noKey: true, validAsSent: true}, 200, "")
	s.call(d, exchange{path: "/cashless/v1/pair", body: pairBody(code, ""), noKey: true, validAsSent: true}, 401, "invalid_pairing_code")
	s.call(d, exchange{path: "/cashless/v1/refund", body: `{"originalReference":"OA-SALE-1","amount":100,"currency":"USD","reference":"OA-REF-403"}`,
		key: lane.str("key"), validAsSent: true}, 403, "forbidden")
	s.call(d, exchange{path: "/cashless/v1/status", body: "{}", key: lane.str("key"), validAsSent: true}, 200, "")
	signer := s.call(d, exchange{path: "/cashless/v1/pair", body: pairBody(d.pairingCode(), `,"signedRequests":true`), noKey: true,
		validAsSent: true}, 200, "")
	s.call(d, exchange{path: "/cashless/v1/status", body: "{}", key: signer.str("key"), validAsSent: true}, 401, "invalid_signature")
	signed := func(nonce string) map[string]string {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		return map[string]string{wire.TimestampHeader: ts, wire.NonceHeader: nonce,
			wire.SignatureHeader: wire.Sign(wire.SigningKey(signer.str("key")), http.MethodPost, "/cashless/v1/status", ts, nonce, []byte("{}"))}
	}
	s.call(d, exchange{path: "/cashless/v1/status", body: "{}", key: signer.str("key"), headers: signed("openapi-nonce-000001"), validAsSent: true}, 200, "")
	s.call(d, exchange{path: "/cashless/v1/status", body: "{}", key: signer.str("key"), headers: signed("openapi-nonce-000001"), validAsSent: true}, 401, "invalid_signature")

	// A body over 64 KiB.
	s.call(d, exchange{path: "/cashless/v1/sale", body: `{"reference":"` + strings.Repeat("x", 70<<10) + `"}`}, 413, "invalid_request")

	// Answers about the request line rather than an operation.
	r := d.post("/cashless/v1/nothing", "{}").expect(t, 404, "not_found")
	s.conforms("POST /cashless/v1/nothing", r.raw, "Error")
	req, _ := http.NewRequest(http.MethodGet, d.base+"/cashless/v1/status", nil)
	if res, err := d.client.Do(req); err != nil {
		t.Error(err)
	} else {
		raw, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if res.StatusCode != 405 {
			t.Errorf("GET status: %d %s", res.StatusCode, raw)
		}
		s.conforms("GET /cashless/v1/status", raw, "Error")
	}

	// A model without a printer, and failed keys until the daemon refuses
	// the client (on a second daemon: the limit would stop this one).
	d2 := startDaemon(t, t.TempDir(), "--model", "nexgo_n86pro")
	s.call(d2, exchange{path: "/cashless/v1/status", body: "{}", validAsSent: true}, 200, "")
	s.call(d2, exchange{path: "/cashless/v1/receipt/reprint", body: "{}", validAsSent: true}, 422, "printer_unavailable")
	s.call(d2, exchange{path: "/simulator/v1/card", body: `{"presentAfterMs":0}`, validAsSent: true}, 200, "")
	s.call(d2, exchange{path: "/cashless/v1/sale", body: `{"amount":100,"currency":"USD","reference":"N86-1","printReceipt":true}`, validAsSent: true}, 200, "")
	var last response
	for i := 0; i < 12 && last.status != http.StatusTooManyRequests; i++ {
		last = d2.postKey("/cashless/v1/status", "{}", "ck_live_wrong")
	}
	r429 := s.call(d2, exchange{path: "/cashless/v1/status", body: "{}", key: "ck_live_wrong", validAsSent: true}, 429, "too_many_attempts")
	if r429.header.Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After: %v", r429.header)
	}

	s.covered()
}

// TestOpenAPIErrorCodesMatchTheDaemon keeps the spec's ErrorCode enum equal
// to the Code constants of the engine and of the API's wire.
func TestOpenAPIErrorCodesMatchTheDaemon(t *testing.T) {
	t.Parallel()
	s := loadSpec(t)
	var inSpec []string
	for _, v := range s.schema("ErrorCode").Enum {
		inSpec = append(inSpec, v.Value)
	}
	var inDaemon []string
	for _, file := range []string{"../../daemon/errors.go", "../../daemon/api/wire/wire.go"} {
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		inDaemon = append(inDaemon, codeConstants(f)...)
	}
	sort.Strings(inSpec)
	sort.Strings(inDaemon)
	if !slices.Equal(inSpec, inDaemon) {
		t.Errorf("error codes differ:\n spec   %v\n daemon %v", inSpec, inDaemon)
	}
}

// codeConstants is the values of the string constants named Code… in f.
func codeConstants(f *ast.File) []string {
	var codes []string
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, name := range vs.Names {
			if !strings.HasPrefix(name.Name, "Code") || i >= len(vs.Values) {
				continue
			}
			if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				v, _ := strconv.Unquote(lit.Value)
				codes = append(codes, v)
			}
		}
		return true
	})
	return codes
}
