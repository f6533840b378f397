package server_test

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/vinr/cashlessd/cloud/store"
)

// docs/openapi-cloud.yaml describes the relay's native API: its answers
// (the list, a relayed call, and every refusal of the relay's own) must
// validate against it.
func TestNativeAnswersMatchTheOpenAPIDescription(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../docs/openapi-cloud.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := libopenapi.NewDocument(raw)
	if err != nil {
		t.Fatal(err)
	}
	check, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("spec: %v", errs)
	}
	p := startRelay(t, 80*time.Second)
	term := connectFake(t, p, "term_SIM_API1", true, newCardTerminal().handle)
	waitConnected(t, p, term.ID)
	key, err := p.Accounts.AddAccount(t.Context(), "chanAPI", store.KindChannel, "", "API")
	if err != nil {
		t.Fatal(err)
	}
	e := newECR(t, p, "127.0.0.1")
	e.login(simPos, simPw)
	token := e.token
	pool := e.client

	calls := []struct {
		method, path, body string
		headers            map[string]string
		want               int
	}{
		{"GET", "/cashless/v1/terminals", "", map[string]string{"Authorization": "Bearer " + token}, 200},
		{"GET", "/cashless/v1/terminals", "", map[string]string{"X-VINR-Cashless-Key": key}, 200},
		{"POST", "/cashless/v1/terminals/" + term.ID + "/status", "{}", map[string]string{"Authorization": "Bearer " + token}, 200},
		{"POST", "/cashless/v1/terminals/" + term.ID + "/status", "{}", nil, 401},
		{"POST", "/cashless/v1/terminals/" + term.ID + "/status", "{}", map[string]string{"X-VINR-Cashless-Key": key}, 403},
		{"POST", "/cashless/v1/terminals/term_NOBODY/sale", "{}", map[string]string{"Authorization": "Bearer " + token}, 403},
	}
	for _, c := range calls {
		req, _ := http.NewRequest(c.method, e.base+c.path, bytes.NewReader([]byte(c.body)))
		if c.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for k, v := range c.headers {
			req.Header.Set(k, v)
		}
		res, err := pool.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != c.want {
			t.Fatalf("%s %s: %d %s, want %d", c.method, c.path, res.StatusCode, body, c.want)
		}
		res.Body = io.NopCloser(bytes.NewReader(body))
		if ok, verrs := check.ValidateHttpResponse(req, res); !ok {
			for _, v := range verrs {
				t.Errorf("%s %s %d: %s: %s", c.method, c.path, res.StatusCode, v.Message, v.Reason)
			}
		}
	}
}
