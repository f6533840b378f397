package faults

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/vinr/cashlessd/certs"
)

// SimKey is the simulator's shared key.
const SimKey = "ck_test_simulator"

// ECR is the register's side of the Cashless API.
type ECR struct {
	Base string
	Key  string
	hc   *http.Client
}

// NewECR makes a client that trusts the daemon's development CA.
func NewECR(base, caFile string) (*ECR, error) {
	pool, err := certs.Pool(caFile)
	if err != nil {
		return nil, err
	}
	return &ECR{Base: base, Key: SimKey, hc: &http.Client{Timeout: 120 * time.Second, Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: 16,
	}}}, nil
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

// Post sends body (a string is sent as is) to path.
func (e *ECR) Post(ctx context.Context, path string, body any) Answer {
	var raw []byte
	switch b := body.(type) {
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	case nil:
	default:
		raw, _ = json.Marshal(b)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.Base+path, bytes.NewReader(raw))
	if err != nil {
		return Answer{Err: err, At: time.Now()}
	}
	req.Header.Set("Content-Type", "application/json")
	if e.Key != "" {
		req.Header.Set("X-VINR-Cashless-Key", e.Key)
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		return Answer{Err: err, At: time.Now()}
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	a := Answer{Status: resp.StatusCode, Raw: out, Header: resp.Header, Replayed: resp.Header.Get("Idempotent-Replayed") == "true", Err: err, At: time.Now()}
	if len(out) > 0 {
		_ = json.Unmarshal(out, &a.Body)
	}
	return a
}
