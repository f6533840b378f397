package faults

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"time"

	"github.com/vinr/cashlessd/certs"
	"github.com/vinr/cashlessd/client"
)

// SimKey is the simulator's shared key.
const SimKey = "ck_test_simulator"

// ECR is the register's side of the Cashless API: the API client with the
// key the harness sends (changed to try wrong or live keys) and answers
// kept whole for the checks.
type ECR struct {
	Base string
	Key  string
	hc   *http.Client
	api  *client.Client
}

// NewECR makes a client that trusts the daemon's development CA.
func NewECR(base, caFile string) (*ECR, error) {
	pool, err := certs.Pool(caFile)
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Timeout: 120 * time.Second, Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: 16,
	}}
	return &ECR{Base: base, Key: SimKey, hc: hc, api: client.New(client.Config{BaseURL: base, HTTPClient: hc})}, nil
}

// Close drops idle connections.
func (e *ECR) Close() { e.hc.CloseIdleConnections() }

// Answer is one API answer, or the transport error that replaced it.
type Answer struct {
	Status   int
	Body     map[string]any
	Raw      []byte
	Replayed bool
	Header   http.Header
	Err      error
	At       time.Time
}

// Code is the error code of a failed call ("" for an approval).
func (a Answer) Code() string {
	e, _ := a.Body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// Str reads a string field of the body.
func (a Answer) Str(k string) string {
	v, _ := a.Body[k].(string)
	return v
}

// Num reads a number field of the body (-1 when absent).
func (a Answer) Num(k string) int64 {
	v, ok := a.Body[k].(float64)
	if !ok {
		return -1
	}
	return int64(v)
}

// Obj reads an object field of the body.
func (a Answer) Obj(k string) map[string]any {
	v, _ := a.Body[k].(map[string]any)
	return v
}

// Outcome is a short text for tables: "200", "409 terminal_busy", or
// "no answer".
func (a Answer) Outcome() string {
	if a.Err != nil {
		return "no answer"
	}
	if c := a.Code(); c != "" {
		return itoa(a.Status) + " " + c
	}
	return itoa(a.Status)
}

// Post sends body (a string or []byte is sent as is) to path with the
// ECR's key.
func (e *ECR) Post(ctx context.Context, path string, body any) Answer {
	res, err := e.api.WithKey(e.Key).Post(ctx, path, body)
	if err != nil {
		return Answer{Err: err, At: time.Now()}
	}
	a := Answer{Status: res.StatusCode, Raw: res.Body, Header: res.Header, Replayed: res.Replayed(), At: time.Now()}
	if len(res.Body) > 0 {
		_ = json.Unmarshal(res.Body, &a.Body)
	}
	return a
}
