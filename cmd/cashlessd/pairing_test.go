package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vinr/cashlessd/client"
	"github.com/vinr/cashlessd/daemon/api/wire"
	"github.com/vinr/cashlessd/daemon/audit"
)

// technician runs a cashlessd subcommand in-process on the daemon's data
// directory and returns its stdout; a failure fails the test.
func (d *daemonUnderTest) technician(args ...string) string {
	d.t.Helper()
	out, err := d.technicianErr(args...)
	if err != nil {
		d.t.Fatalf("cashlessd %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func (d *daemonUnderTest) technicianErr(args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	m := &Main{Stdout: &stdout, Stderr: &stderr, Version: "test"}
	err := m.Run(context.Background(), append(args, "--data-dir", d.dataDir))
	if err != nil {
		return stdout.String(), err
	}
	return stdout.String(), nil
}

var codeLine = regexp.MustCompile(`Pairing code: ([2-9A-Z]{4}-[2-9A-Z]{4})`)

// pairingCode runs `cashlessd pair` and returns the code it printed.
func (d *daemonUnderTest) pairingCode(args ...string) string {
	d.t.Helper()
	out := d.technician(append([]string{"pair"}, args...)...)
	m := codeLine.FindStringSubmatch(out)
	if m == nil {
		d.t.Fatalf("no pairing code in:\n%s", out)
	}
	return m[1]
}

// paired is an ECR's answer to a pairing.
type paired struct {
	ecrID, key, fingerprint string
	scopes                  []string
}

// pairECR redeems code as name and returns the ECR's credential.
func (d *daemonUnderTest) pairECR(code, name string, signed bool) paired {
	d.t.Helper()
	body := map[string]any{"code": code, "name": name}
	if signed {
		body["signedRequests"] = true
	}
	r := d.postKey(wire.PathPair, body, "").expect(d.t, 200, "")
	p := paired{ecrID: r.str("ecrId"), key: r.str("key"), fingerprint: r.str("certificateSha256")}
	for _, s := range r.body["scopes"].([]any) {
		p.scopes = append(p.scopes, s.(string))
	}
	if !strings.HasPrefix(p.ecrID, "ecr_") || !strings.HasPrefix(p.key, "ck_live_") {
		d.t.Fatalf("pairing answer: %s", r.raw)
	}
	return p
}

// servedFingerprint is the hex SHA-256 of the certificate the daemon
// presents.
func (d *daemonUnderTest) servedFingerprint() string {
	d.t.Helper()
	res, err := d.client.Post(d.base+wire.PathStatus, "application/json", strings.NewReader("{}"))
	if err != nil {
		d.t.Fatal(err)
	}
	defer res.Body.Close()
	sum := sha256.Sum256(res.TLS.PeerCertificates[0].Raw)
	return hex.EncodeToString(sum[:])
}

func TestPairByCodeThenUseTheOwnKey(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	code := d.pairingCode()
	// The code is printed on a slip (with its QR code) for the ECR side.
	slips, _ := filepath.Glob(filepath.Join(d.dataDir, "printer", "*.txt"))
	printed := false
	for _, f := range slips {
		if raw, err := os.ReadFile(f); err == nil && strings.Contains(string(raw), code) && strings.Contains(string(raw), "cashless://pair?") {
			printed = true
		}
	}
	if !printed {
		t.Errorf("no slip with the code %s among %v", code, slips)
	}
	p := d.pairECR(code, "Lane 1", false)
	if strings.Join(p.scopes, ",") != "payments,refunds" {
		t.Errorf("scopes %v, want payments,refunds", p.scopes)
	}
	if p.fingerprint != d.servedFingerprint() {
		t.Errorf("fingerprint %s, the daemon serves %s", p.fingerprint, d.servedFingerprint())
	}
	// The code was used once: never again.
	d.postKey(wire.PathPair, map[string]any{"code": code, "name": "Lane 2"}, "").expect(t, 401, "invalid_pairing_code")
	// A code typed in lower case without the hyphen is the same code.
	other := strings.ToLower(strings.ReplaceAll(d.pairingCode(), "-", ""))
	d.pairECR(other, "Lane 2", false)

	d.card(map[string]any{"presentAfterMs": 0})
	d.postKey(wire.PathSale, map[string]any{"amount": 1200, "currency": "USD", "reference": "PAIR-1"}, p.key).expect(t, 200, "")
	look := d.postKey(wire.PathTransaction, map[string]any{"reference": "PAIR-1"}, p.key).expect(t, 200, "")
	if look.str("ecrId") != p.ecrID {
		t.Errorf("lookup ecrId %q, want %q: %s", look.str("ecrId"), p.ecrID, look.raw)
	}
	// The shared (simulator) key is still one credential among others.
	d.sale("PAIR-2", 300).expect(t, 200, "")
	if got := d.post(wire.PathTransaction, map[string]any{"reference": "PAIR-2"}).str("ecrId"); got != "simulator" {
		t.Errorf("lookup ecrId %q, want simulator", got)
	}

	// Status names the ECR that holds the terminal.
	d.card(map[string]any{"present": false})
	done := make(chan response, 1)
	go func() {
		done <- d.postKey(wire.PathSale, map[string]any{"amount": 500, "currency": "USD", "reference": "PAIR-3"}, p.key)
	}()
	busy := d.waitBusy("waiting_for_card")
	if got := busy.obj("activeTransaction")["ecrId"]; got != p.ecrID {
		t.Errorf("status activeTransaction.ecrId %v, want %s: %s", got, p.ecrID, busy.raw)
	}
	d.postKey(wire.PathCancel, map[string]any{}, p.key).expect(t, 200, "")
	(<-done).expect(t, 409, "transaction_cancelled")

	list := d.technician("ecr", "list")
	if !strings.Contains(list, p.ecrID) || !strings.Contains(list, "Lane 1") || !strings.Contains(list, "Lane 2") {
		t.Errorf("ecr list:\n%s", list)
	}
	// The audit log says who did what, and holds no key or code.
	raw, err := os.ReadFile(filepath.Join(d.dataDir, audit.FileName))
	if err != nil {
		t.Fatal(err)
	}
	log := string(raw)
	for _, want := range []string{`"event":"ecr_paired","ecrId":"` + p.ecrID, `"ecrId":"` + p.ecrID + `","path":"/cashless/v1/sale","reference":"PAIR-1"`} {
		if !strings.Contains(log, want) {
			t.Errorf("audit log lacks %s:\n%s", want, log)
		}
	}
	for _, secret := range []string{p.key, code, strings.ReplaceAll(code, "-", ""), simKey} {
		if strings.Contains(log, secret) || strings.Contains(d.logs.String(), secret) && secret != simKey {
			t.Errorf("a secret reached the audit or daemon log: %s", secret)
		}
	}
	if st, _ := os.Stat(filepath.Join(d.dataDir, audit.FileName)); st.Mode().Perm() != 0o600 {
		t.Errorf("audit log mode %v", st.Mode().Perm())
	}
}

func TestPairingCodeExpiresAndWrongCodesAreRefused(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	code := d.pairingCode("--ttl", "2m")
	d.postKey(wire.PathPair, map[string]any{"code": "ZZZZ-ZZZZ", "name": "Guess"}, "").expect(t, 401, "invalid_pairing_code")
	d.post("/simulator/v1/clock", map[string]any{"advanceSeconds": 121}).expect(t, 200, "")
	d.postKey(wire.PathPair, map[string]any{"code": code, "name": "Late"}, "").expect(t, 401, "invalid_pairing_code")
	d.postKey(wire.PathPair, map[string]any{"code": "ABCD-EFGH"}, "").expect(t, 400, "invalid_request")
	if out := d.technician("ecr", "list"); !strings.Contains(out, "No ECR is paired") {
		t.Errorf("ecr list after refused pairings:\n%s", out)
	}
}

func TestPairingAttemptsAreRateLimited(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	code := d.pairingCode()
	limited := false
	for i := 0; i < 12 && !limited; i++ {
		r := d.postKey(wire.PathPair, map[string]any{"code": "ZZZZ-ZZZ" + strconv.Itoa(2+i%8), "name": "Guess"}, "")
		switch r.status {
		case 401:
		case 429:
			limited = true
			r.expect(t, 429, "too_many_attempts")
			if r.header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
		default:
			t.Fatalf("attempt %d: %d %s", i, r.status, r.raw)
		}
	}
	if !limited {
		t.Fatal("12 wrong pairing codes from one address were all looked at")
	}
	// Even the right code waits now: a limited address learns nothing.
	d.postKey(wire.PathPair, map[string]any{"code": code, "name": "Lane"}, "").expect(t, 429, "too_many_attempts")
	// Keyed clients are served as ever.
	d.post(wire.PathStatus, map[string]any{}).expect(t, 200, "")
}

func TestScopesAreEnforced(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	p := d.pairECR(d.pairingCode("--scopes", "payments"), "Kiosk", false)
	d.card(map[string]any{"presentAfterMs": 0})
	d.postKey(wire.PathSale, map[string]any{"amount": 900, "currency": "USD", "reference": "SC-1"}, p.key).expect(t, 200, "")
	d.postKey(wire.PathRefund, map[string]any{"originalReference": "SC-1", "amount": 900, "currency": "USD", "reference": "SC-2"}, p.key).
		expect(t, 403, "forbidden")
	d.postKey(wire.PathVoid, map[string]any{"originalReference": "SC-1", "reference": "SC-3"}, p.key).expect(t, 403, "forbidden")
	d.postKey(wire.PathBatchClose, map[string]any{"reference": "SC-B"}, p.key).expect(t, 403, "forbidden")
	// Nothing was refunded: the refund reference is free for a holder of
	// the scope.
	d.technician("ecr", "scope", p.ecrID, "--scopes", "payments,refunds")
	d.postKey(wire.PathRefund, map[string]any{"originalReference": "SC-1", "amount": 900, "currency": "USD", "reference": "SC-2"}, p.key).
		expect(t, 200, "")
	d.postKey(wire.PathBatchClose, map[string]any{"reference": "SC-B"}, p.key).expect(t, 403, "forbidden")
	d.post(wire.PathBatchClose, map[string]any{"reference": "SC-B"}).expect(t, 200, "")
}

func TestRevokingOneECRLeavesTheOthers(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	a := d.pairECR(d.pairingCode(), "Lane A", false)
	b := d.pairECR(d.pairingCode(), "Lane B", false)
	d.postKey(wire.PathStatus, map[string]any{}, a.key).expect(t, 200, "")
	out := d.technician("ecr", "revoke", a.ecrID)
	if !strings.Contains(out, "revoked") {
		t.Errorf("revoke said: %s", out)
	}
	d.postKey(wire.PathStatus, map[string]any{}, a.key).expect(t, 401, "invalid_key")
	d.postKey(wire.PathStatus, map[string]any{}, b.key).expect(t, 200, "")
	d.post(wire.PathStatus, map[string]any{}).expect(t, 200, "")
	if _, err := d.technicianErr("ecr", "scope", a.ecrID, "--scopes", "payments"); err == nil {
		t.Error("a revoked ECR was re-scoped")
	}
	if _, err := d.technicianErr("ecr", "revoke", "ecr_000000000000"); err == nil {
		t.Error("an unknown ECR was revoked")
	}
	// Revocation survives a restart.
	d.stop()
	d2 := startDaemon(t, d.dataDir)
	d2.postKey(wire.PathStatus, map[string]any{}, a.key).expect(t, 401, "invalid_key")
	d2.postKey(wire.PathStatus, map[string]any{}, b.key).expect(t, 200, "")
}

func TestRotationWithGraceKeepsBothKeysForAWhile(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	p := d.pairECR(d.pairingCode(), "Lane", false)
	newKey := strings.TrimSpace(d.technician("ecr", "rotate", p.ecrID, "--grace", "5m"))
	if !strings.HasPrefix(newKey, "ck_live_") || newKey == p.key {
		t.Fatalf("rotate printed %q", newKey)
	}
	d.postKey(wire.PathStatus, map[string]any{}, p.key).expect(t, 200, "")
	d.postKey(wire.PathStatus, map[string]any{}, newKey).expect(t, 200, "")
	d.post("/simulator/v1/clock", map[string]any{"advanceSeconds": 301}).expect(t, 200, "")
	d.postKey(wire.PathStatus, map[string]any{}, p.key).expect(t, 401, "invalid_key")
	d.postKey(wire.PathStatus, map[string]any{}, newKey).expect(t, 200, "")
	// Without grace the previous key stops at once.
	third := strings.TrimSpace(d.technician("ecr", "rotate", p.ecrID))
	d.postKey(wire.PathStatus, map[string]any{}, newKey).expect(t, 401, "invalid_key")
	d.postKey(wire.PathStatus, map[string]any{}, third).expect(t, 200, "")
}

// signedPost sends body to path with key, signed at ts with nonce; send
// is the body actually sent (tampering when it differs).
func (d *daemonUnderTest) signedPost(path, key string, ts time.Time, nonce, signed, send string) response {
	d.t.Helper()
	return d.signedPostAs(path, path, key, ts, nonce, signed, send)
}

// signedPostAs is signedPost with the signature made for signPath.
func (d *daemonUnderTest) signedPostAs(path, signPath, key string, ts time.Time, nonce, signed, send string) response {
	d.t.Helper()
	stamp := strconv.FormatInt(ts.Unix(), 10)
	req, err := http.NewRequest(http.MethodPost, d.base+path, strings.NewReader(send))
	if err != nil {
		d.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(wire.KeyHeader, key)
	req.Header.Set(wire.TimestampHeader, stamp)
	req.Header.Set(wire.NonceHeader, nonce)
	req.Header.Set(wire.SignatureHeader, wire.Sign(wire.SigningKey(key), http.MethodPost, signPath, stamp, nonce, []byte(signed)))
	res, err := d.client.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := response{status: res.StatusCode, header: res.Header, raw: raw}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

func TestSignedRequests(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	p := d.pairECR(d.pairingCode(), "Signed lane", true)
	d.card(map[string]any{"presentAfterMs": 0})
	sale := `{"amount":700,"currency":"USD","reference":"SIG-1"}`
	now := time.Now()
	// Unsigned requests of a signing ECR are refused.
	d.postKey(wire.PathStatus, map[string]any{}, p.key).expect(t, 401, "invalid_signature")
	// Good.
	d.signedPost(wire.PathSale, p.key, now, "nonce-0000000000000001", sale, sale).expect(t, 200, "")
	// The same nonce again: refused, nothing charged twice.
	d.signedPost(wire.PathSale, p.key, now, "nonce-0000000000000001", sale, sale).expect(t, 401, "invalid_signature")
	// Stale: six minutes old; and six minutes ahead.
	d.signedPost(wire.PathStatus, p.key, now.Add(-6*time.Minute), "nonce-0000000000000002", "{}", "{}").expect(t, 401, "invalid_signature")
	d.signedPost(wire.PathStatus, p.key, now.Add(6*time.Minute), "nonce-0000000000000003", "{}", "{}").expect(t, 401, "invalid_signature")
	// Tampered: the amount changed after signing; two values swapped.
	d.signedPost(wire.PathSale, p.key, now, "nonce-0000000000000004", sale,
		`{"amount":7000,"currency":"USD","reference":"SIG-2"}`).expect(t, 401, "invalid_signature")
	// Signed for another path.
	d.signedPostAs(wire.PathPreauth, wire.PathSale, p.key, now, "nonce-0000000000000005", sale, sale).expect(t, 401, "invalid_signature")
	// A refused signature does not burn its nonce.
	d.signedPost(wire.PathStatus, p.key, now, "nonce-0000000000000004", "{}", "{}").expect(t, 200, "")
	look := d.post(wire.PathTransaction, map[string]any{"reference": "SIG-2"})
	look.expect(t, 404, "transaction_not_found")
	// An ECR that need not sign may still sign, and a wrong signature is
	// refused all the same.
	q := d.pairECR(d.pairingCode(), "Plain lane", false)
	d.postKey(wire.PathStatus, map[string]any{}, q.key).expect(t, 200, "")
	d.signedPost(wire.PathStatus, q.key, now, "nonce-0000000000000006", "{}", `{ }`).expect(t, 401, "invalid_signature")
	d.technician("ecr", "signing", q.ecrID)
	d.postKey(wire.PathStatus, map[string]any{}, q.key).expect(t, 401, "invalid_signature")
}

func TestRevokingEndsTheECRsOpenEventStream(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	p := d.pairECR(d.pairingCode(), "Screen", false)
	other := d.pairECR(d.pairingCode(), "Other screen", false)
	open := func(key string) *client.EventStream {
		t.Helper()
		api := client.New(client.Config{BaseURL: d.base, Key: key, HTTPClient: d.client})
		s, err := api.Events(context.Background(), 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	revoked, kept := open(p.key), open(other.key)
	d.technician("ecr", "revoke", p.ecrID)
	d.card(map[string]any{"presentAfterMs": 0})
	d.sale("EV-1", 100).expect(t, 200, "")
	// Events from before the revocation may still be on their way; none
	// about the sale made after it.
	for {
		ev, err := revoked.Next()
		if err != nil {
			break
		}
		if strings.Contains(string(ev.Data), "EV-1") {
			t.Fatalf("the revoked ECR still got an event: %s %s", ev.Type, ev.Data)
		}
	}
	for {
		ev, err := kept.Next()
		if err != nil {
			t.Fatalf("the other ECR's stream ended: %v", err)
		}
		if strings.Contains(string(ev.Data), "EV-1") {
			break
		}
	}
}
