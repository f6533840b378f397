package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/client"
	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/api/wire"
	"github.com/vinr/cashlessd/daemon/auth"
)

// scopedKeys authenticates one key as an ECR holding the given scopes.
type scopedKeys struct {
	key    string
	scopes []auth.Scope
}

func (k scopedKeys) Verify(key string) bool { _, ok := k.Authenticate(key); return ok }

func (k scopedKeys) Authenticate(key string) (auth.Principal, bool) {
	if key != k.key {
		return auth.Principal{}, false
	}
	return auth.Principal{ECRID: "ecr_0123456789ab", Scopes: k.scopes}, true
}

// ecrEngine records the ecrId each transaction's context carried.
type ecrEngine struct {
	fakeEngine
	ecr chan string
}

func (e *ecrEngine) Sale(ctx context.Context, r daemon.SaleRequest) (*daemon.Result, error) {
	e.ecr <- daemon.ECRFrom(ctx)
	return e.fakeEngine.Sale(ctx, r)
}

func TestScopesDecideWhatAKeyMayCall(t *testing.T) {
	t.Parallel()
	e := &ecrEngine{ecr: make(chan string, 1)}
	e.answer(&daemon.Result{Tx: approvedSale()})
	s := New(Options{Engine: e, Keys: scopedKeys{key: testKey, scopes: []auth.Scope{auth.ScopePayments}}, Log: zerolog.Nop()})
	ts := httptest.NewTLSServer(s.Handler())
	t.Cleanup(ts.Close)
	c := client.New(client.Config{BaseURL: ts.URL, Key: testKey, HTTPClient: ts.Client()})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	for _, path := range []string{wire.PathRefund, wire.PathVoid, wire.PathBatchClose} {
		res, err := c.Post(ctx, path, `{}`)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != http.StatusForbidden || apiError(t, res.Err()).Code != wire.CodeForbidden {
			t.Errorf("%s: %d %s", path, res.StatusCode, res.Body)
		}
	}
	if len(e.seen()) != 0 {
		t.Fatalf("a refused call reached the engine: %v", e.seen())
	}
	res, err := c.Post(ctx, wire.PathSale, `{"amount":2500,"currency":"USD","reference":"POS-1"}`)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("sale: %v %v", err, res)
	}
	if got := <-e.ecr; got != "ecr_0123456789ab" {
		t.Errorf("the engine saw ecrId %q", got)
	}
}

func TestRouteScopes(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]auth.Scope{
		wire.PathSale: auth.ScopePayments, wire.PathPreauth: auth.ScopePayments, wire.PathComplete: auth.ScopePayments,
		wire.PathCancel: auth.ScopePayments, wire.PathStatus: auth.ScopePayments, wire.PathReceiptLast: auth.ScopePayments,
		wire.PathTransaction: auth.ScopePayments, wire.PathEvents: auth.ScopePayments, wire.PathBatchTotals: auth.ScopePayments,
		wire.PathRefund: auth.ScopeRefunds, wire.PathVoid: auth.ScopeRefunds,
		wire.PathBatchClose: auth.ScopeAdmin,
	} {
		if got := routeScope(path); got != want {
			t.Errorf("%s needs %s, want %s", path, got, want)
		}
	}
}

func TestNonceCacheRefusesASecondUse(t *testing.T) {
	t.Parallel()
	var n nonceCache
	now := time.Now()
	if !n.use("ecr_a", "nonce-0000000000000001", now) || n.use("ecr_a", "nonce-0000000000000001", now.Add(time.Minute)) {
		t.Fatal("a nonce was accepted twice")
	}
	if !n.use("ecr_b", "nonce-0000000000000001", now) {
		t.Fatal("another ECR's nonce collided")
	}
	if !validNonce("abcdefghijklmnop") || validNonce("short") || validNonce("has space in it!") || validNonce("ünïcödé-ünïcödé-") {
		t.Error("nonce syntax")
	}
}
