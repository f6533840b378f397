package api

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/api/wire"
	"github.com/vinr/cashlessd/emv/card"
)

// member is one key and its JSON value, in body order.
type member struct{ key, value string }

// object writes members as a JSON object, in order, repeats included.
func object(members ...member) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, m := range members {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.key)
		b.Write(k)
		b.WriteByte(':')
		b.WriteString(m.value)
	}
	b.WriteByte('}')
	return b.String()
}

// endpointShapes is every endpoint that takes fields, its request type and
// a valid value for each of its fields.
var endpointShapes = []struct {
	path    string
	request any
	fields  []member
}{
	{wire.PathSale, wire.SaleRequest{}, []member{{"amount", "100"}, {"currency", `"USD"`}, {"reference", `"A"`},
		{"tipAmount", "0"}, {"printReceipt", "true"}}},
	{wire.PathPreauth, wire.PreauthRequest{}, []member{{"amount", "100"}, {"currency", `"USD"`}, {"reference", `"A"`},
		{"printReceipt", "false"}}},
	{wire.PathComplete, wire.CompleteRequest{}, []member{{"originalReference", `"A"`}, {"captureAmount", "100"},
		{"currency", `"USD"`}, {"reference", `"B"`}, {"printReceipt", "true"}}},
	{wire.PathRefund, wire.RefundRequest{}, []member{{"originalReference", `"A"`}, {"amount", "100"}, {"currency", `"USD"`},
		{"reference", `"B"`}, {"printReceipt", "true"}}},
	{wire.PathCancel, wire.CancelRequest{}, []member{{"reference", `"A"`}}},
	{wire.PathBatchClose, wire.BatchCloseRequest{}, []member{{"reference", `"EOD-1"`}}},
	{wire.PathReceiptReprint, wire.ReprintRequest{}, []member{{"type", `"both"`}}},
	{wire.PathSimCard, wire.SimCardRequest{}, []member{{"pan", `"4242424242424242"`}, {"entryMethod", `"chip"`},
		{"presentAfterMs", "0"}, {"present", "true"}, {"pin", `"1234"`}, {"image", `{"name":"x"}`}}},
	{wire.PathSimHost, wire.SimHostRequest{}, []member{{"latencyMs", "0"}, {"offline", "false"}, {"dropResponse", "false"},
		{"forgetTransaction", `"A"`}}},
	{wire.PathSimPrinter, wire.SimPrinterRequest{}, []member{{"paper", "true"}}},
	{wire.PathSimReader, wire.SimReaderRequest{}, []member{{"unplugged", "false"}, {"garbleFrames", "0"}, {"dropBytes", "0"},
		{"removeCard", "false"}}},
	{wire.PathSimClock, wire.SimClockRequest{}, []member{{"advanceSeconds", "0"}}},
}

// TestTheAttackTablesCoverEveryField keeps endpointShapes complete: a field
// added to a request type gets its attacks too.
func TestTheAttackTablesCoverEveryField(t *testing.T) {
	t.Parallel()
	for _, ep := range endpointShapes {
		rt := reflect.TypeOf(ep.request)
		var want []string
		for i := 0; i < rt.NumField(); i++ {
			name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
			want = append(want, name)
		}
		var got []string
		for _, m := range ep.fields {
			got = append(got, m.key)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: table has %v, %s has %v", ep.path, got, rt.Name(), want)
		}
	}
}

// refused posts body to path and checks that it is a 400 invalid_request
// whose message contains want, and that neither the engine nor the
// simulator was called.
func refused(t *testing.T, path, body, want string) {
	t.Helper()
	f, sim := &fakeEngine{}, &fakeSimulator{}
	res, err := serve(t, f, sim).Post(context.Background(), path, body)
	if err != nil {
		t.Fatal(err)
	}
	e := apiError(t, res.Err())
	if e.HTTPStatus != http.StatusBadRequest || e.Code != daemon.CodeInvalidRequest || !strings.Contains(e.Message, want) {
		t.Fatalf("%s %s: got %d %s %q, want 400 invalid_request naming %q", path, body, e.HTTPStatus, e.Code, e.Message, want)
	}
	if reqs, ctl := f.seen(), sim.controls(); len(reqs) != 0 || len(ctl) != 0 {
		t.Fatalf("%s %s: the request went through: engine %v, simulator %v", path, body, reqs, ctl)
	}
}

// TestAmbiguousJSONIsRefused sends, for every field of every endpoint, a
// duplicate key (first and last value differ), case variants of its name
// and null: each is 400 invalid_request naming the field, and nothing
// reaches the engine or the simulated world.
func TestAmbiguousJSONIsRefused(t *testing.T) {
	t.Parallel()
	for _, ep := range endpointShapes {
		for i, f := range ep.fields {
			others := append(append([]member(nil), ep.fields[:i]...), ep.fields[i+1:]...)
			variants := map[string][]member{
				"duplicate":  append(append([]member{f}, others...), member{f.key, f.value}),
				"duplicate2": append(append([]member{{f.key, `"x"`}}, others...), f),
				"upper":      append(append([]member(nil), others...), member{strings.ToUpper(f.key), f.value}),
				"title":      append(append([]member(nil), others...), member{strings.ToUpper(f.key[:1]) + f.key[1:], f.value}),
				"null":       append(append([]member(nil), others...), member{f.key, "null"}),
				"nullFirst":  append([]member{{f.key, "null"}}, others...),
			}
			for name, members := range variants {
				t.Run(ep.path+" "+f.key+" "+name, func(t *testing.T) {
					t.Parallel()
					want := f.key
					switch name {
					case "upper":
						want = strings.ToUpper(f.key)
					case "title":
						want = strings.ToUpper(f.key[:1]) + f.key[1:]
					}
					refused(t, ep.path, object(members...), want)
				})
			}
		}
	}
}

// TestStrictJSONCases covers the cases the field table does not: the
// issue's own example, escaped keys, nesting (the card image), bodies that
// are null, not UTF-8 or nested too deeply, and the field-less calls.
func TestStrictJSONCases(t *testing.T) {
	t.Parallel()
	image := func(t *testing.T) string {
		img, err := card.Builtin("visa-approved")
		if err != nil {
			t.Fatal(err)
		}
		raw, err := json.Marshal(img)
		if err != nil {
			t.Fatal(err)
		}
		return string(raw)
	}
	for _, tc := range []struct{ name, path, body, want string }{
		{"issue example", wire.PathSale, `{"amount":100,"currency":"USD","reference":"A","amount":7000}`, "amount: appears more than once"},
		{"escaped duplicate", wire.PathSale, `{"amount":100,"currency":"USD","reference":"A","\u0061mount":7000}`, "amount: appears more than once"},
		{"case hint", wire.PathSale, `{"Amount":100,"currency":"USD","reference":"A"}`, `unknown field "Amount" (field names are case-sensitive: did you mean "amount"?)`},
		{"all caps", wire.PathSale, `{"AMOUNT":100,"currency":"USD","reference":"A"}`, `unknown field "AMOUNT"`},
		{"long s", wire.PathSimCard, `{"pre\u017fent":true}`, `unknown field "preſent" (field names are case-sensitive: did you mean "present"?)`},
		{"null body", wire.PathSale, `null`, "the body must be a JSON object"},
		{"null status body", wire.PathStatus, `null`, "the body must be a JSON object"},
		{"status duplicate unknown", wire.PathStatus, `{"x":1,"x":2}`, `unknown field "x"`},
		{"receipt unknown", wire.PathReceiptLast, `{"X":null}`, `unknown field "X"`},
		{"not UTF-8", wire.PathSale, "{\"amount\":100,\"currency\":\"USD\",\"reference\":\"A\xff\"}", "UTF-8"},
		{"trailing", wire.PathSale, `{"amount":100,"currency":"USD","reference":"A"}{"amount":7000}`, "one JSON object"},
		{"array image", wire.PathSimCard, `{"image":[` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `]}`, "image[0]"},
		{"deep image", wire.PathSimCard, `{"image":` + strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40) + `}`, "image"},
		{"image field case", wire.PathSimCard, `{"image":{"Name":"x","files":{}}}`, `unknown field "image.Name"`},
		{"image nested case", wire.PathSimCard, `{"image":{"files":{"A0000000031010":{"FCI":"6F00"}}}}`, `unknown field "image.files.A0000000031010.FCI"`},
		{"image duplicate file", wire.PathSimCard, `{"image":{"files":{"A0":{"fci":"6F00"},"A0":{"fci":"6F01"}}}}`, "image.files.A0: appears more than once"},
		{"image duplicate deep", wire.PathSimCard, `{"image":{"files":{"A0":{"fci":"6F00","data":{"82":"3C00","82":"0000"}}}}}`, "image.files.A0.data.82: appears more than once"},
		{"image null record", wire.PathSimCard, `{"image":{"files":{"A0":{"fci":"6F00","records":{"1":["7000",null]}}}}}`, "image.files.A0.records.1[1]: must not be null"},
		{"image null hex", wire.PathSimCard, `{"image":{"atr":null}}`, "image.atr: must not be null"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			refused(t, tc.path, tc.body, tc.want)
		})
	}
	// A whole built-in card image, as a technician sends it, still goes
	// through: the strict reading refuses only ambiguity.
	sim := &fakeSimulator{}
	c := serve(t, &fakeEngine{}, sim)
	res, err := c.Post(context.Background(), wire.PathSimCard, `{"image":`+image(t)+`,"presentAfterMs":0}`)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("a built-in image was refused: %v %+v", err, res)
	}
	if got := sim.controls(); len(got) != 1 || len(got[0].(daemon.SimCard).Image) == 0 {
		t.Fatalf("%+v", got)
	}
}
