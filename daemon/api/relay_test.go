package api

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/client"
	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/api/wire"
)

// outcomes remembers what the API reported.
type outcomes struct {
	mu   sync.Mutex
	seen []Outcome
}

func (o *outcomes) Outcome(x Outcome) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seen = append(o.seen, x)
}

func (o *outcomes) all() []Outcome {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]Outcome(nil), o.seen...)
}

func TestRelayedCallsRunTheLANRoutesWithoutTheKey(t *testing.T) {
	t.Parallel()
	f := &fakeEngine{}
	f.answer(&daemon.Result{Tx: approvedSale()})
	sink := &outcomes{}
	s := New(Options{Engine: f, Keys: sharedKey(testKey), Log: zerolog.Nop(), Outcomes: sink})
	ts := httptest.NewTLSServer(s.Handler())
	t.Cleanup(ts.Close)
	lan := client.New(client.Config{BaseURL: ts.URL, Key: testKey, HTTPClient: ts.Client()})
	sale := `{"amount":2500,"currency":"USD","reference":"POS-1"}`

	relayed := s.ServeRelayed(context.Background(), "sale", []byte(sale), "merchant-1")
	direct, err := lan.Post(context.Background(), wire.PathSale, sale)
	if err != nil {
		t.Fatal(err)
	}
	if relayed.Status != direct.StatusCode || !bytes.Equal(relayed.Body, direct.Body) || relayed.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("relayed %d %s\nLAN %d %s", relayed.Status, relayed.Body, direct.StatusCode, direct.Body)
	}
	if got := sink.all(); len(got) != 2 || got[0].Endpoint != "sale" || got[0].Reference != "POS-1" || got[0].TransactionID != "tpay_1" ||
		got[0].Status != 200 || !bytes.Equal(got[0].Body, direct.Body) {
		t.Fatalf("outcomes %+v", got)
	}

	// A replay is answered with its header but is no new outcome.
	f.answer(&daemon.Result{Tx: approvedSale(), Replayed: true})
	replay := s.ServeRelayed(context.Background(), "sale", []byte(sale), "merchant-1")
	if replay.Header.Get(ReplayHeader) != "true" || len(sink.all()) != 2 {
		t.Fatalf("replay %v, %d outcomes", replay.Header, len(sink.all()))
	}

	// The same refusals as the LAN's.
	for _, tc := range []struct{ endpoint, body string }{
		{"sale", `{"amount":"1"}`}, {"sale", `{"amount":1,"amount":2}`}, {"nope", `{}`}, {"../simulator/v1/card", `{}`},
		{"events", ``}, {"status?x=1", `{}`},
	} {
		r := s.ServeRelayed(context.Background(), tc.endpoint, []byte(tc.body), "")
		d, err := lan.Post(context.Background(), "/cashless/v1/"+tc.endpoint, tc.body)
		if err != nil {
			t.Fatalf("%s: %v", tc.endpoint, err)
		}
		if tc.endpoint == "status?x=1" {
			if r.Status != http.StatusNotFound {
				t.Fatalf("an endpoint with a query: %d %s", r.Status, r.Body)
			}
			continue
		}
		if d == nil || r.Status != d.StatusCode || !bytes.Equal(r.Body, d.Body) {
			t.Fatalf("%s %s: relayed %d %s, LAN %v", tc.endpoint, tc.body, r.Status, r.Body, d)
		}
	}

	// Only /cashless/v1 routes are reachable: a path that climbs out of it
	// names no route, and the simulator controls are never reached.
	sim := &fakeSimulator{}
	withSim := New(Options{Engine: f, Keys: sharedKey(testKey), Simulator: sim, Log: zerolog.Nop()})
	for _, endpoint := range []string{"../../simulator/v1/card", "..%2F..%2Fsimulator%2Fv1%2Fcard", "/../../simulator/v1/card"} {
		if r := withSim.ServeRelayed(context.Background(), endpoint, []byte(`{"present":false}`), ""); r.Status != http.StatusNotFound {
			t.Fatalf("%s: %d %s", endpoint, r.Status, r.Body)
		}
	}
	if got := sim.controls(); len(got) != 0 {
		t.Fatalf("a relayed call reached the simulator: %v", got)
	}

	// The LAN still needs its key: nothing it sends makes it relayed.
	keyless := client.New(client.Config{BaseURL: ts.URL, HTTPClient: ts.Client()})
	if res, err := keyless.Post(context.Background(), wire.PathStatus, `{}`); err != nil || res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a LAN call without the key: %v %v", res, err)
	}
}
