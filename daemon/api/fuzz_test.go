package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/vinr/cashlessd/daemon/api/wire"
)

// FuzzDecode feeds arbitrary bodies to the strict decoder of every request
// type: it must never panic, and whatever it accepts must validate or be
// refused with invalid_request.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{}`, ``, `{"amount":2500,"currency":"USD","reference":"POS-1","tipAmount":300,"printReceipt":true}`,
		`{"amount":"x"}`, `{"amount":1e309}`, `[`, `{"a":1}`, `null`, `{"reference":"\u0000"}`,
		`{"originalReference":"A","captureAmount":-1,"currency":"usd","reference":"B"}`, `{"type":"both"} {}`,
		`{"amount":9223372036854775807,"currency":"USD","reference":"X"}`, "{\"reference\":\"\xff\"}",
	} {
		f.Add(seed)
	}
	e := echo.New()
	f.Fuzz(func(t *testing.T, body string) {
		targets := []any{&wire.EmptyRequest{}, &wire.SaleRequest{}, &wire.PreauthRequest{}, &wire.CompleteRequest{}, &wire.RefundRequest{},
			&wire.CancelRequest{}, &wire.BatchCloseRequest{}, &wire.ReprintRequest{}, &wire.SimCardRequest{}, &wire.SimHostRequest{}}
		for _, v := range targets {
			c := e.NewContext(httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body)), httptest.NewRecorder())
			if err := decode(c, v); err != nil {
				if e, ok := err.(interface{ Error() string }); !ok || !strings.HasPrefix(e.Error(), "invalid_request: ") {
					t.Fatalf("decode error is not invalid_request: %v", err)
				}
				continue
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
