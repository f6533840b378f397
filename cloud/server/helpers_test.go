package server_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/certs"
	"github.com/vinr/cashlessd/cloud/faketerm"
	"github.com/vinr/cashlessd/cloud/fiuu"
	"github.com/vinr/cashlessd/cloud/server"
)

func startRelay(t *testing.T, wait time.Duration) *server.Process {
	t.Helper()
	p, err := server.Start(t.Context(), server.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), NATSListen: "127.0.0.1:0",
		NATSName: "relay-test", Simulator: true, TransferWait: wait, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func natsURL(p *server.Process) string { return "tls://" + p.NATSAddr.String() }

// ecr is an HTTPS client of the relay, from one local address.
type ecr struct {
	t      *testing.T
	base   string
	client *http.Client
	token  string
	// skew is how far the relay's simulator clock was advanced.
	skew time.Duration
}

func newECR(t *testing.T, p *server.Process, localIP string) *ecr {
	pool, err := certs.Pool(p.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(localIP)}}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &ecr{t: t, base: "https://" + p.HTTPAddr.String(), client: &http.Client{Transport: tr, Timeout: 2 * time.Minute}}
}

func (e *ecr) do(method, path, contentType string, body []byte, headers ...string) (int, []byte, http.Header) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.base+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

func (e *ecr) json(method, path string, body any, headers ...string) (int, map[string]any) {
	e.t.Helper()
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	status, raw, _ := e.do(method, path, "application/json", b, headers...)
	var m map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			e.t.Fatalf("%s %s: answer not a JSON object: %s", method, path, raw)
		}
	}
	return status, m
}

func (e *ecr) login(posID, password string) fiuu.TokensAnswer {
	e.t.Helper()
	status, raw, _ := e.do("POST", "/auth/login", "application/json", []byte(fmt.Sprintf(`{"posId":%q,"password":%q}`, posID, password)))
	if status != 200 {
		e.t.Fatalf("login %s: %d %s", posID, status, raw)
	}
	var tok fiuu.TokensAnswer
	if err := json.Unmarshal(raw, &tok); err != nil {
		e.t.Fatal(err)
	}
	e.token = tok.Access.Token
	return tok
}

// transfer signs and sends a transfer; datetime "" is now.
func (e *ecr) transfer(secret string, body map[string]any) (int, map[string]any) {
	e.t.Helper()
	if _, set := body["datetime"]; !set {
		body["datetime"] = time.Now().Add(e.skew).UTC().Format("20060102150405")
	}
	if _, set := body["apiVersion"]; !set {
		body["apiVersion"] = "v1"
	}
	body["signature"] = fiuu.Sign(body, []byte(secret))
	return e.json("POST", "/api/transfer", body)
}

func code(m map[string]any) int {
	c, _ := m["code"].(float64)
	return int(c)
}

// eventually polls cond until it holds (or the test's context ends).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("never: %s", what)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// cardTerminal is the behaviour of a fake terminal with an approving card:
// it remembers its transactions so a lookup or void finds them.
type cardTerminal struct {
	mu       sync.Mutex
	n        int
	byID     map[string]string // transactionId → reference
	silent   map[string]bool   // endpoints that never answer
	running  map[string]bool   // references of silent calls: still running
	currency string
}

func newCardTerminal() *cardTerminal {
	return &cardTerminal{byID: map[string]string{}, silent: map[string]bool{}, running: map[string]bool{}, currency: "MYR"}
}

func (c *cardTerminal) handle(endpoint string, body []byte) (int, []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var req map[string]any
	_ = json.Unmarshal(body, &req)
	ref, _ := req["reference"].(string)
	if c.silent[endpoint] {
		c.running[ref] = true
		return 0, nil
	}
	answer := func(status int, v any) (int, []byte) {
		b, _ := json.Marshal(v)
		return status, b
	}
	switch endpoint {
	case "status":
		return answer(200, map[string]any{"status": "ready", "openBatch": map[string]any{"currency": c.currency}})
	case "sale":
		amount, _ := req["amount"].(float64)
		if amount == 5100 {
			return answer(402, map[string]any{"status": "declined", "reference": ref, "transactionId": "tx-declined",
				"declineCode": "51", "declineMessage": "Insufficient funds", "error": map[string]string{"code": "card_declined", "message": "Declined"}})
		}
		c.n++
		id := fmt.Sprintf("tx-%d", c.n)
		c.byID[id] = ref
		return answer(200, map[string]any{"status": "approved", "reference": ref, "transactionId": id, "amount": int64(amount),
			"currency": req["currency"], "cardScheme": "VISA", "maskedPan": "************1111", "authCode": "A1B2C3",
			"entryMethod": "chip", "completedAt": time.Now().UTC().Format(time.RFC3339)})
	case "void":
		orig, _ := req["originalReference"].(string)
		for id, r := range c.byID {
			if r == orig {
				return answer(200, map[string]any{"status": "approved", "reference": ref, "transactionId": "void-" + id,
					"originalReference": orig, "originalTransactionId": id, "amount": 1234, "currency": c.currency})
			}
		}
		return answer(404, map[string]any{"error": map[string]string{"code": "transaction_not_found", "message": "no such transaction"}})
	case "transaction":
		id, _ := req["transactionId"].(string)
		if r, found := c.byID[id]; found {
			return answer(200, map[string]any{"status": "approved", "reference": r, "transactionId": id, "type": "sale"})
		}
		if c.running[ref] {
			return answer(200, map[string]any{"status": "pending", "reference": ref, "type": "sale", "stage": "card"})
		}
		if ref != "" {
			for id, r := range c.byID {
				if r == ref {
					return answer(200, map[string]any{"status": "approved", "reference": r, "transactionId": id, "type": "sale",
						"amount": 1234, "currency": c.currency})
				}
			}
		}
		return answer(404, map[string]any{"error": map[string]string{"code": "transaction_not_found", "message": "no such transaction"}})
	case "receipt/reprint":
		return answer(200, map[string]any{"status": "printed"})
	}
	return answer(404, map[string]any{"error": map[string]string{"code": "not_found", "message": "no such endpoint " + strings.TrimSpace(endpoint)}})
}

func connectFake(t *testing.T, p *server.Process, id string, simulator bool, h faketerm.Handler) *faketerm.Terminal {
	t.Helper()
	ft, err := faketerm.Connect(id, faketerm.Options{URL: natsURL(p), CAFile: p.CAFile, Simulator: simulator, Handler: h})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ft.Close)
	return ft
}

func waitConnected(t *testing.T, p *server.Process, id string) {
	t.Helper()
	eventually(t, id+" connected", func() bool {
		_, live := p.Relay.Presence(id)
		return live
	})
}
