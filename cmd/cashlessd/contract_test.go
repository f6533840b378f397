package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vinr/cashlessd/certs"
)

func TestBadInputIsRefusedNamingTheField(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	d.card(map[string]any{"presentAfterMs": 0})
	cases := []struct {
		name, path, body, mention string
	}{
		{"unknown field", "/cashless/v1/sale", `{"amount":100,"currency":"USD","reference":"V","tipAmonut":5}`, "tipAmonut"},
		{"wrong type", "/cashless/v1/sale", `{"amount":"100","currency":"USD","reference":"V"}`, "amount"},
		{"fraction", "/cashless/v1/sale", `{"amount":10.5,"currency":"USD","reference":"V"}`, "amount"},
		{"malformed", "/cashless/v1/sale", `{"amount":100,`, "malformed"},
		{"trailing", "/cashless/v1/sale", `{"amount":100,"currency":"USD","reference":"V"} {}`, "one JSON object"},
		{"array", "/cashless/v1/sale", `[1,2]`, "object"},
		{"zero amount", "/cashless/v1/sale", `{"amount":0,"currency":"USD","reference":"V"}`, "amount"},
		{"negative amount", "/cashless/v1/sale", `{"amount":-5,"currency":"USD","reference":"V"}`, "amount"},
		{"huge amount", "/cashless/v1/sale", `{"amount":1000000000000,"currency":"USD","reference":"V"}`, "amount"},
		{"missing amount", "/cashless/v1/sale", `{"currency":"USD","reference":"V"}`, "amount"},
		{"negative tip", "/cashless/v1/sale", `{"amount":100,"tipAmount":-1,"currency":"USD","reference":"V"}`, "tipAmount"},
		{"missing currency", "/cashless/v1/sale", `{"amount":100,"reference":"V"}`, "currency"},
		{"lower-case currency", "/cashless/v1/sale", `{"amount":100,"currency":"usd","reference":"V"}`, "currency"},
		{"unconfigured currency", "/cashless/v1/sale", `{"amount":100,"currency":"EUR","reference":"V"}`, "currency"},
		{"missing reference", "/cashless/v1/sale", `{"amount":100,"currency":"USD"}`, "reference"},
		{"empty reference", "/cashless/v1/sale", `{"amount":100,"currency":"USD","reference":""}`, "reference"},
		{"long reference", "/cashless/v1/sale", `{"amount":100,"currency":"USD","reference":"` + strings.Repeat("x", 65) + `"}`, "reference"},
		{"non-ASCII reference", "/cashless/v1/sale", `{"amount":100,"currency":"USD","reference":"Bestellung-Ä"}`, "reference"},
		{"control character", "/cashless/v1/sale", `{"amount":100,"currency":"USD","reference":"A\nB"}`, "reference"},
		{"printReceipt type", "/cashless/v1/sale", `{"amount":100,"currency":"USD","reference":"V","printReceipt":"yes"}`, "printReceipt"},
		{"preauth tip", "/cashless/v1/preauth", `{"amount":100,"currency":"USD","reference":"V","tipAmount":1}`, "tipAmount"},
		{"complete no amount", "/cashless/v1/preauth/complete", `{"originalReference":"A","currency":"USD","reference":"V"}`, "captureAmount"},
		{"refund no original", "/cashless/v1/refund", `{"amount":1,"currency":"USD","reference":"V"}`, "originalReference"},
		{"status with field", "/cashless/v1/status", `{"verbose":true}`, "verbose"},
		{"cancel bad ref", "/cashless/v1/cancel", `{"reference":5}`, "reference"},
		{"reprint type", "/cashless/v1/receipt/reprint", `{"type":"all"}`, "type"},
		{"batch close no reference", "/cashless/v1/batch/close", `{}`, "reference"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := d.post(c.path, c.body).expect(t, 400, "invalid_request")
			if msg := r.obj("error")["message"].(string); !strings.Contains(msg, c.mention) {
				t.Errorf("message %q does not mention %q", msg, c.mention)
			}
		})
	}
	// Nothing of that reached the terminal.
	st := d.post("/cashless/v1/status", map[string]any{})
	if st.obj("lastTransaction") != nil {
		t.Fatalf("bad input changed state: %s", st.raw)
	}
	big := `{"amount":100,"currency":"USD","reference":"V","x":"` + strings.Repeat("a", 70<<10) + `"}`
	d.post("/cashless/v1/sale", big).expect(t, 413, "invalid_request")
}

func TestRoutesAndMethods(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	req, _ := http.NewRequest(http.MethodGet, d.base+"/cashless/v1/status", nil)
	req.Header.Set("X-VINR-Cashless-Key", simKey)
	resp, err := d.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET status: %d", resp.StatusCode)
	}
	d.post("/cashless/v1/nothing", "{}").expect(t, 404, "not_found")
}

func TestKeyIsRequired(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	d.postKey("/cashless/v1/status", "{}", "").expect(t, 401, "invalid_key")
	d.postKey("/cashless/v1/status", "{}", "ck_test_simulatoR").expect(t, 401, "invalid_key")
	d.postKey("/cashless/v1/sale", `{"amount":1,"currency":"USD","reference":"K"}`, "wrong").expect(t, 401, "invalid_key")
	d.postKey("/simulator/v1/card", `{"present":false}`, "wrong").expect(t, 401, "invalid_key")
	d.postKey("/cashless/v1/status", "{}", simKey).expect(t, 200, "")
}

func TestPlainHTTPAndOldTLSAreRefused(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	addr := strings.TrimPrefix(d.base, "https://")
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = conn.Write([]byte("POST /cashless/v1/status HTTP/1.1\r\nHost: x\r\nX-VINR-Cashless-Key: ck_test_simulator\r\nContent-Length: 2\r\n\r\n{}"))
	line, _ := bufio.NewReader(conn).ReadString('\n')
	if !strings.Contains(line, "400") {
		t.Fatalf("plain HTTP answered %q", line)
	}
	old := &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11, MinVersion: tls.VersionTLS10} //nolint:gosec // the point of the test
	if c, err := tls.Dial("tcp", addr, old); err == nil {
		c.Close()
		t.Fatal("TLS 1.1 handshake succeeded")
	}
	tc, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}) //nolint:gosec // inspecting the certificate
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	cert := tc.ConnectionState().PeerCertificates[0]
	if cert.PublicKeyAlgorithm.String() != "ECDSA" || cert.VerifyHostname("localhost") != nil || cert.VerifyHostname("127.0.0.1") != nil {
		t.Fatalf("certificate: %v %v", cert.PublicKeyAlgorithm, cert.DNSNames)
	}
}

func TestVersionCommand(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &out, Version: "9.8.7"}
	if err := m.Run(t.Context(), []string{"version"}); err != nil || strings.TrimSpace(out.String()) != "9.8.7" {
		t.Fatalf("%v %q", err, out.String())
	}
	if err := m.Run(t.Context(), []string{"frobnicate"}); err == nil {
		t.Fatal("unknown command accepted")
	}
	if err := m.Run(t.Context(), []string{"serve", "--model", "nokia_3310", "--simulator", "--data-dir", t.TempDir()}); err == nil ||
		!strings.Contains(err.Error(), "model") {
		t.Fatalf("bad model: %v", err)
	}
	cfg := writeConfig(t, "terminal_idd = \"x\"\n")
	if err := m.Run(t.Context(), []string{"serve", "--config", cfg, "--simulator", "--data-dir", t.TempDir()}); err == nil ||
		!strings.Contains(err.Error(), "terminal_idd") {
		t.Fatalf("config typo: %v", err)
	}
}

func TestKeyGuessingIsRateLimited(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir())
	for i := 0; i < 10; i++ {
		d.postKey("/cashless/v1/status", "{}", "ck_live_guess").expect(t, 401, "invalid_key")
	}
	r := d.postKey("/cashless/v1/status", "{}", "ck_live_guess").expect(t, 429, "too_many_attempts")
	if r.header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	// The right key is still served: nobody can lock out the ECR by
	// failing from its address.
	d.postKey("/cashless/v1/status", "{}", simKey).expect(t, 200, "")
}

func TestConfiguredCertificateFilesAreUsed(t *testing.T) {
	t.Parallel()
	issued := t.TempDir()
	f, err := certs.EnsureDev(issued, []string{"term.example"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	cfg := writeConfig(t, "[tls]\ncert_file = \""+f.Cert+"\"\nkey_file = \""+f.Key+"\"\nca_file = \""+f.CA+"\"\n")
	// startDaemon trusts <data-dir>/certs/ca.pem; place the issued CA there.
	if err := os.MkdirAll(filepath.Join(dataDir, "certs"), 0o700); err != nil {
		t.Fatal(err)
	}
	ca, _ := os.ReadFile(f.CA)
	if err := os.WriteFile(filepath.Join(dataDir, "certs", "ca.pem"), ca, 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, dataDir, "--config", cfg)
	d.post("/cashless/v1/status", "{}").expect(t, 200, "")
	if _, err := os.Stat(filepath.Join(dataDir, "certs", certs.CAKeyFile)); err == nil {
		t.Fatal("a development CA was made although certificate files are configured")
	}
}
