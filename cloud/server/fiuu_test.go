package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image/png"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/vinr/cashlessd/cloud/fiuu"
	"github.com/vinr/cashlessd/cloud/relay"
	"github.com/vinr/cashlessd/cloud/server"
	"github.com/vinr/cashlessd/cloud/store"
	"github.com/vinr/cashlessd/relaylink"
)

const (
	simPos    = server.SimulatorPosID
	simPw     = server.SimulatorPassword
	simMer    = server.SimulatorMerchantID
	simSecret = server.SimulatorSecret
)

func sale(device, ref, amount string) map[string]any {
	return map[string]any{"transType": "sale", "posId": simPos, "merchantId": simMer, "deviceId": device, "referenceId": ref,
		"transData": map[string]any{"transAmt": amount, "paymentMethod": "bankCard"}}
}

// The whole cloudECR flow against fake terminals: login (JSON and form),
// refresh, signed sale, replay, getLast, void, and every refusal.
func TestFiuuTransfersWithAFakeTerminal(t *testing.T) {
	t.Parallel()
	p := startRelay(t, 80*time.Second)
	card := newCardTerminal()
	term := connectFake(t, p, "term_SIM_0001", true, card.handle)
	waitConnected(t, p, term.ID)

	e := newECR(t, p, "127.0.0.1")
	status, raw, _ := e.do("POST", "/auth/login", "application/x-www-form-urlencoded",
		[]byte(url.Values{"posId": {simPos}, "password": {simPw}}.Encode()))
	if status != 200 {
		t.Fatalf("form login: %d %s", status, raw)
	}
	tok := e.login(simPos, simPw)
	if tok.Access.ExpiresAt == "" || tok.Refresh.Token == "" {
		t.Fatalf("login answer %+v", tok)
	}

	// The terminal list says the simulator terminal is there and live.
	status, list := e.json("GET", "/api/terminals", nil)
	data, _ := list["data"].([]any)
	if status != 200 || len(data) != 1 || data[0].(map[string]any)["terminalId"] != term.ID || data[0].(map[string]any)["connected"] != true {
		t.Fatalf("terminals: %d %v", status, list)
	}
	if status, m := e.json("GET", "/api/ewallet-channels?currency=MYR", nil); status != 200 || len(m["data"].([]any)) != 0 {
		t.Fatalf("ewallet channels: %d %v", status, m)
	}

	// A signed sale: 12.34 → 1234 minor units, a signed answer.
	status, ans := e.transfer(simSecret, sale(term.ID, "REF1", "12.34"))
	if status != 200 || ans["statusCode"] != "00" || ans["responseCode"] != "00" {
		t.Fatalf("sale: %d %v", status, ans)
	}
	td := ans["transData"].(map[string]any)
	if td["transAmt"] != "12.34" || td["currency"] != "MYR" || td["transId"] != "tx-1" || td["cardNo"] != "************1111" {
		t.Fatalf("sale transData %v", td)
	}
	if !fiuu.Verify(ans, []byte(simSecret), ans["signature"].(string)) {
		t.Fatal("the answer's signature does not verify")
	}

	// The same referenceId and parameters: the stored answer, no second charge.
	status, again := e.transfer(simSecret, sale(term.ID, "REF1", "12.34"))
	if status != 200 || again["transData"].(map[string]any)["transId"] != "tx-1" || term.Calls("sale") != 1 {
		t.Fatalf("replay: %d %v, %d sales", status, again, term.Calls("sale"))
	}
	// The same referenceId with another amount is refused.
	if status, m := e.transfer(simSecret, sale(term.ID, "REF1", "99.00")); status != 429 || code(m) != 42920 {
		t.Fatalf("reused referenceId: %d %v", status, m)
	}

	// A decline is a signed answer with statusCode 11 and the issuer's code.
	if status, m := e.transfer(simSecret, sale(term.ID, "REF2", "51.00")); status != 200 || m["statusCode"] != "11" || m["responseCode"] != "51" {
		t.Fatalf("decline: %d %v", status, m)
	}

	// getLast answers the last transfer's result.
	status, last := e.transfer(simSecret, map[string]any{"transType": "getLast", "posId": simPos, "merchantId": simMer,
		"deviceId": term.ID, "referenceId": "GL1"})
	if status != 200 || last["referenceId"] != "REF2" || last["statusCode"] != "11" {
		t.Fatalf("getLast: %d %v", status, last)
	}

	// A void by transId (reusing the sale's referenceId, as the docs' example does).
	status, v := e.transfer(simSecret, map[string]any{"transType": "void", "posId": simPos, "merchantId": simMer,
		"deviceId": term.ID, "referenceId": "REF1", "transData": map[string]any{"transId": "tx-1"}})
	if status != 200 || v["statusCode"] != "00" || v["transData"].(map[string]any)["transId"] != "void-tx-1" {
		t.Fatalf("void: %d %v", status, v)
	}
	if status, m := e.transfer(simSecret, map[string]any{"transType": "void", "posId": simPos, "merchantId": simMer,
		"deviceId": term.ID, "referenceId": "REF9", "transData": map[string]any{"transId": "tx-404"}}); status != 404 || code(m) != 40410 {
		t.Fatalf("void of an unknown transaction: %d %v", status, m)
	}

	// Refusals.
	bad := sale(term.ID, "REF3", "1.00")
	bad["datetime"] = time.Now().UTC().Format("20060102150405")
	bad["apiVersion"] = "v1"
	bad["signature"] = fiuu.Sign(bad, []byte(simSecret))
	bad["referenceId"] = "REF4" // changed after signing
	if status, m := e.json("POST", "/api/transfer", bad); status != 400 || code(m) != 40026 {
		t.Fatalf("bad signature: %d %v", status, m)
	}
	stale := sale(term.ID, "REF5", "1.00")
	stale["datetime"] = time.Now().Add(-time.Hour).UTC().Format("20060102150405")
	if status, m := e.transfer(simSecret, stale); status != 400 || code(m) != 40027 {
		t.Fatalf("stale datetime: %d %v", status, m)
	}
	for _, amt := range []string{"12.3", "12", "1,00", "-1.00", "01.00", "1.001"} {
		if status, m := e.transfer(simSecret, sale(term.ID, "REF6", amt)); status != 400 || code(m) != 40031 {
			t.Fatalf("transAmt %q: %d %v", amt, status, m)
		}
	}
	cash := sale(term.ID, "REF7", "1.00")
	cash["transType"] = "cashOut"
	if status, m := e.transfer(simSecret, cash); status != 400 || code(m) != 40030 {
		t.Fatalf("cashOut: %d %v", status, m)
	}
	other := sale(term.ID, "REF8", "1.00")
	other["posId"] = "someoneElse"
	if status, m := e.transfer(simSecret, other); status != 400 || code(m) != 40021 {
		t.Fatalf("other posId: %d %v", status, m)
	}
	if status, m := e.transfer(simSecret, sale("term_NOBODY", "REF8", "1.00")); status != 403 || code(m) != 40317 {
		t.Fatalf("unknown terminal: %d %v", status, m)
	}
	if term.Calls("sale") != 2 {
		t.Fatalf("refused transfers reached the terminal: %d sales", term.Calls("sale"))
	}

	// A terminal that is bound but not connected.
	term.Close()
	eventually(t, "the server dropped the terminal's connection", func() bool {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		_, err := p.Relay.Call(ctx, term.ID, "status", []byte("{}"), "")
		return errors.Is(err, relay.ErrNotConnected)
	})
	if status, m := e.transfer(simSecret, sale(term.ID, "REF10", "1.00")); status != 503 || code(m) != 50310 {
		t.Fatalf("terminal not connected: %d %v", status, m)
	}

	// Refresh: new tokens, and the old access token still works.
	old := e.token
	e.token = tok.Refresh.Token
	status, refreshed := e.json("POST", "/auth/refresh", nil)
	if status != 200 || refreshed["access"].(map[string]any)["token"] == old {
		t.Fatalf("refresh: %d %v", status, refreshed)
	}
	e.token = old
	if status, _ := e.json("GET", "/api/terminals", nil); status != 200 {
		t.Fatalf("the old access token stopped working after a refresh: %d", status)
	}
	// Logout ends the session: every token of it stops.
	if status, m := e.json("POST", "/auth/logout", nil); status != 200 || code(m) != 20000 {
		t.Fatalf("logout: %d %v", status, m)
	}
	if status, m := e.json("GET", "/api/terminals", nil); status != 401 || code(m) != 40122 {
		t.Fatalf("after logout: %d %v", status, m)
	}
}

// A terminal that does not answer within the wait: statusCode 22, and the
// outcome it publishes later becomes the referenceId's stored answer.
func TestPendingTransferResolvedByTheOutcomeStream(t *testing.T) {
	t.Parallel()
	p := startRelay(t, time.Second)
	card := newCardTerminal()
	card.silent["sale"] = true
	term := connectFake(t, p, "term_SIM_0002", true, card.handle)
	waitConnected(t, p, term.ID)
	e := newECR(t, p, "127.0.0.1")
	e.login(simPos, simPw)

	status, m := e.transfer(simSecret, sale(term.ID, "SLOW1", "12.34"))
	if status != 200 || m["statusCode"] != "22" {
		t.Fatalf("pending: %d %v", status, m)
	}
	body, _ := json.Marshal(map[string]any{"status": "approved", "reference": "SLOW1", "transactionId": "tx-late",
		"amount": 1234, "currency": "MYR", "cardScheme": "MASTERCARD"})
	if err := term.PublishOutcome(t.Context(), relaylink.OutcomeMessage{Endpoint: "sale", Reference: "SLOW1", TransactionID: "tx-late",
		HTTPStatus: 200, Body: body, FinishedAt: time.Now().UTC().Format(time.RFC3339)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the outcome is the stored answer", func() bool {
		_, m := e.transfer(simSecret, sale(term.ID, "SLOW1", "12.34"))
		td, _ := m["transData"].(map[string]any)
		return m["statusCode"] == "00" && td["transId"] == "tx-late"
	})
	if term.Calls("sale") != 1 {
		t.Fatalf("the replay charged again: %d sales", term.Calls("sale"))
	}
}

// Binding by key and QR, express binding by prebind list, unbinding, and
// what an unbound terminal may not do.
func TestBinding(t *testing.T) {
	t.Parallel()
	p := startRelay(t, 80*time.Second)
	e := newECR(t, p, "127.0.0.1")
	e.login(simPos, simPw)
	ctx := t.Context()

	status, k := e.json("GET", "/api/bind-terminal-key", nil)
	key, _ := k["key"].(string)
	if status != 200 || key == "" || k["expiresAt"] == "" {
		t.Fatalf("bind key: %d %v", status, k)
	}
	status, img, h := e.do("GET", "/api/bind-terminal-key?option=image", "", nil)
	if status != 200 || h.Get("Content-Type") != "image/png" {
		t.Fatalf("QR: %d %s", status, h.Get("Content-Type"))
	}
	if _, err := png.Decode(bytes.NewReader(img)); err != nil {
		t.Fatalf("QR is not a PNG: %v", err)
	}

	card := newCardTerminal()
	term := connectFake(t, p, "term_KEY_0001", false, card.handle)
	// Unbound, it cannot publish presence: the relay does not see it.
	term.Hello()
	if _, live := p.Relay.Presence(term.ID); live {
		t.Fatal("an unbound terminal published its presence")
	}
	if a, err := term.Bind(ctx, "NOSUCHKEY"); err != nil || a.Bound || a.Error != "key_unknown" {
		t.Fatalf("unknown key: %+v %v", a, err)
	}
	a, err := term.Bind(ctx, key)
	if err != nil || !a.Bound || a.MerchantID != simMer {
		t.Fatalf("bind: %+v %v", a, err)
	}
	waitConnected(t, p, term.ID) // the relay closed its connection; the reconnect has the new permissions
	if status, m := e.transfer(simSecret, sale(term.ID, "B1", "1.00")); status != 200 || m["statusCode"] != "00" {
		t.Fatalf("sale on the bound terminal: %d %v", status, m)
	}
	other := connectFake(t, p, "term_KEY_0002", false, card.handle)
	if a, _ := other.Bind(ctx, key); a.Error != "key_used" {
		t.Fatalf("a used key: %+v", a)
	}
	// Keys expire after 3 days.
	_, k2 := e.json("GET", "/api/bind-terminal-key", nil)
	if status, _ := e.json("POST", "/simulator/v1/clock", map[string]any{"advanceSeconds": 3*24*3600 + 1}); status != 200 {
		t.Fatal("clock")
	}
	if a, _ := other.Bind(ctx, k2["key"].(string)); a.Error != "key_expired" {
		t.Fatalf("an expired key: %+v", a)
	}
	e.skew = 3*24*time.Hour + time.Second
	e.login(simPos, simPw) // the clock moved past the token's life

	// Express binding: prebound IDs bind without a key; others do not.
	if status, m := e.json("POST", "/api/prebind-terminals", map[string]any{"uniqueIds": []string{"term_EXP_0001", "term_EXP_0001", "term_EXP_0002"}}); status != 200 || code(m) != 20000 {
		t.Fatalf("prebind: %d %v", status, m)
	}
	if status, m := e.json("GET", "/api/prebind-terminals", nil); status != 200 || len(m["data"].([]any)) != 2 {
		t.Fatalf("prebind list: %d %v", status, m)
	}
	if a, _ := other.Bind(ctx, ""); a.Error != "not_prebound" {
		t.Fatalf("express bind without prebind: %+v", a)
	}
	// A prebound terminal that connects is bound; its express bind request
	// then confirms it.
	exp := connectFake(t, p, "term_EXP_0001", false, card.handle)
	waitConnected(t, p, exp.ID)
	if b, err := p.Store.Binding(ctx, exp.ID); err != nil || b.MerchantID != simMer || b.PublicKey != exp.PublicKey {
		t.Fatalf("bound on connect: %+v %v", b, err)
	}
	if a, err := exp.Bind(ctx, ""); err != nil || !a.Bound || a.MerchantID != simMer {
		t.Fatalf("express bind: %+v %v", a, err)
	}
	if status, m := e.json("GET", "/api/prebind-terminals", nil); status != 200 || len(m["data"].([]any)) != 1 {
		t.Fatalf("a bound terminal stays on the prebind list: %d %v", status, m)
	}

	// The terminal unbinds itself; it is gone from the list and cannot be driven.
	if a, err := term.Unbind(ctx); err != nil || a.Bound {
		t.Fatalf("unbind: %+v %v", a, err)
	}
	if status, m := e.transfer(simSecret, sale(term.ID, "B2", "1.00")); status != 403 || code(m) != 40317 {
		t.Fatalf("sale on an unbound terminal: %d %v", status, m)
	}
	// The relay unbinds the express one and tells it.
	if err := p.Relay.Unbind(ctx, exp.ID, "operator"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the terminal heard of its unbinding", func() bool {
		c := exp.Control()
		return len(c) > 0 && c[0].Action == relaylink.ActionUnbound
	})
	_, list := e.json("GET", "/api/terminals", nil)
	if n := len(list["data"].([]any)); n != 0 {
		t.Fatalf("unbound terminals still listed: %v", list)
	}
}

// One merchant cannot see or drive another's terminal, natively or through
// cloudECR; a channel reaches its merchants' terminals; an account key and
// a POS token both work on the native API.
func TestAccountsAndNativePassthrough(t *testing.T) {
	t.Parallel()
	p := startRelay(t, 80*time.Second)
	ctx := t.Context()
	chanKey, err := p.Accounts.AddAccount(ctx, "chan1", store.KindChannel, "", "Integrator")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Accounts.AddAccount(ctx, "merch2", store.KindMerchant, "chan1", "Shop 2"); err != nil {
		t.Fatal(err)
	}
	sec2, err := p.Accounts.AddPOS(ctx, "pos2", "merch2", nil)
	if err != nil {
		t.Fatal(err)
	}
	simTerm := connectFake(t, p, "term_SIM_0003", true, newCardTerminal().handle)
	waitConnected(t, p, simTerm.ID)

	e2 := newECR(t, p, "127.0.0.1")
	e2.login("pos2", sec2.Password)
	_, k := e2.json("GET", "/api/bind-terminal-key", nil)
	t2 := connectFake(t, p, "term_M2_0001", false, newCardTerminal().handle)
	if a, err := t2.Bind(ctx, k["key"].(string)); err != nil || !a.Bound || a.MerchantID != "merch2" {
		t.Fatalf("bind to merch2: %+v %v", a, err)
	}
	waitConnected(t, p, t2.ID)

	// Native passthrough with merch2's POS token: its terminal answers as on the LAN.
	if status, m := e2.json("POST", "/cashless/v1/terminals/"+t2.ID+"/status", map[string]any{}); status != 200 || m["status"] != "ready" {
		t.Fatalf("native status: %d %v", status, m)
	}
	if status, m := e2.json("POST", "/cashless/v1/terminals/"+t2.ID+"/sale", map[string]any{"amount": 500, "currency": "MYR", "reference": "N1"}); status != 200 || m["status"] != "approved" {
		t.Fatalf("native sale: %d %v", status, m)
	}
	// merch2 cannot reach the simulator merchant's terminal, either way.
	if status, m := e2.json("POST", "/cashless/v1/terminals/"+simTerm.ID+"/status", map[string]any{}); status != 403 || m["error"].(map[string]any)["code"] != "terminal_forbidden" {
		t.Fatalf("cross-merchant native: %d %v", status, m)
	}
	s2 := sale(simTerm.ID, "X1", "1.00")
	s2["posId"], s2["merchantId"] = "pos2", "merch2"
	if status, m := e2.transfer(sec2.Secret, s2); status != 403 || code(m) != 40317 {
		t.Fatalf("cross-merchant transfer: %d %v", status, m)
	}
	if simTerm.Calls("status") != 0 {
		t.Fatal("a denied call reached the terminal")
	}
	_, l2 := e2.json("GET", "/cashless/v1/terminals", nil)
	if ts := l2["terminals"].([]any); len(ts) != 1 || ts[0].(map[string]any)["terminalId"] != t2.ID {
		t.Fatalf("merch2's list: %v", l2)
	}

	// The channel's API key reaches merch2's terminal, not the simulator's.
	ch := newECR(t, p, "127.0.0.1")
	if status, _ := ch.json("POST", "/cashless/v1/terminals/"+t2.ID+"/status", map[string]any{}, "X-VINR-Cashless-Key", chanKey); status != 200 {
		t.Fatalf("channel key: %d", status)
	}
	if status, _ := ch.json("POST", "/cashless/v1/terminals/"+simTerm.ID+"/status", map[string]any{}, "X-VINR-Cashless-Key", chanKey); status != 403 {
		t.Fatalf("channel key on another's terminal: %d", status)
	}
	if status, _ := ch.json("POST", "/cashless/v1/terminals/"+t2.ID+"/status", map[string]any{}, "X-VINR-Cashless-Key", "ck_live_wrong"); status != 401 {
		t.Fatalf("wrong key: %d", status)
	}
	// A disabled channel reaches nothing.
	if err := p.Accounts.SetAccountDisabled(ctx, "chan1", true); err != nil {
		t.Fatal(err)
	}
	if status, _ := ch.json("POST", "/cashless/v1/terminals/"+t2.ID+"/status", map[string]any{}, "X-VINR-Cashless-Key", chanKey); status != 401 {
		t.Fatalf("disabled channel: %d", status)
	}
}

// Failed logins lock one client out of one account, not the others.
func TestLoginLockoutIsPerClient(t *testing.T) {
	t.Parallel()
	p := startRelay(t, 80*time.Second)
	attacker := newECR(t, p, "127.0.0.2")
	for i := range 5 {
		status, m := attacker.json("POST", "/auth/login", map[string]string{"posId": simPos, "password": "guess"})
		want := 40125
		if i == 4 {
			want = 42930
		}
		if code(m) != want {
			t.Fatalf("failure %d: %d %v", i+1, status, m)
		}
	}
	if status, m := attacker.json("POST", "/auth/login", map[string]string{"posId": simPos, "password": simPw}); status != 429 || code(m) != 42930 {
		t.Fatalf("locked client with the right password: %d %v", status, m)
	}
	owner := newECR(t, p, "127.0.0.1")
	owner.login(simPos, simPw)

	// Access tokens last 15 minutes; the refresh token outlives them.
	tok := owner.login(simPos, simPw)
	owner.json("POST", "/simulator/v1/clock", map[string]any{"advanceSeconds": 16 * 60})
	if status, m := owner.json("GET", "/api/terminals", nil); status != 401 || code(m) != 40123 {
		t.Fatalf("expired access token: %d %v", status, m)
	}
	owner.token = tok.Refresh.Token
	if status, _ := owner.json("POST", "/auth/refresh", nil); status != 200 {
		t.Fatalf("refresh after the access token expired: %d", status)
	}
}

// A bound terminal cannot listen to another terminal's calls or answer for
// it; a connection without a valid NKey signature is refused.
func TestTerminalsAreConfinedToTheirSubjects(t *testing.T) {
	t.Parallel()
	p := startRelay(t, 80*time.Second)
	a := connectFake(t, p, "term_SIM_A", true, newCardTerminal().handle)
	b := connectFake(t, p, "term_SIM_B", true, newCardTerminal().handle)
	waitConnected(t, p, a.ID)
	waitConnected(t, p, b.ID)
	errs := make(chan error, 4)
	a.Conn().SetErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { errs <- err })
	if _, err := a.Conn().Subscribe(relaylink.Request(b.ID), func(*nats.Msg) { t.Error("terminal A received B's call") }); err != nil {
		t.Fatal(err)
	}
	if err := a.Conn().Publish(relaylink.Hello(b.ID), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	_ = a.Conn().Flush()
	for range 2 {
		select {
		case err := <-errs:
			if !strings.Contains(err.Error(), "Permissions Violation") {
				t.Fatalf("want a permissions violation, got %v", err)
			}
		case <-t.Context().Done():
			t.Fatal("no permissions violation")
		}
	}
	e := newECR(t, p, "127.0.0.1")
	e.login(simPos, simPw)
	if status, m := e.transfer(simSecret, sale(b.ID, "C1", "1.00")); status != 200 || m["statusCode"] != "00" {
		t.Fatalf("sale on B: %d %v", status, m)
	}
	if a.Calls("sale") != 0 || b.Calls("sale") != 1 {
		t.Fatalf("sales A %d B %d", a.Calls("sale"), b.Calls("sale"))
	}
	// A key that signs the wrong nonce is refused.
	kp, _ := nkeys.CreateUser()
	other, _ := nkeys.CreateUser()
	pub, _ := kp.PublicKey()
	if nc, err := nats.Connect(natsURL(p), nats.RootCAs(p.CAFile), nats.Name("term_FORGED"), nats.Nkey(pub, other.Sign)); err == nil {
		nc.Close()
		t.Fatal("a forged NKey signature connected")
	}
}
