package main

import (
	"encoding/json"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSaleApprovedReplayedAndDeclined(t *testing.T) {
	t.Parallel()
	d := startDaemon(t)
	d.card(t, `{"pan":"4242424242424242","presentAfterMs":0}`)
	sale := []string{"sale", "--amount", "2500", "--currency", "USD", "--reference", "POS-1", "--tip", "300", "--print"}
	r := d.cli(t, sale...).want(t, 0, "25.00 + tip 3.00", "reference POS-1", "receipt printed")
	if !strings.HasPrefix(r.stdout, "APPROVED  USD 28.00  visa ************4242  auth ") || !strings.Contains(r.stdout, "  tpay_") {
		t.Errorf("approved line: %q", r.stdout)
	}
	d.cli(t, sale...).want(t, 0, "APPROVED  USD 28.00", "replayed")
	d.cli(t, "sale", "--amount", "2600", "--currency", "USD", "--reference", "POS-1").
		want(t, exitRefused, "ERROR 409 duplicate_reference")

	d.card(t, `{"pan":"4000000000000002","presentAfterMs":0}`)
	r = d.cli(t, "sale", "--amount", "900", "--currency", "USD", "--reference", "POS-2").want(t, exitNotApproved, "USD 9.00")
	if !strings.HasPrefix(r.stdout, "DECLINED card_declined: Transaction not approved\n") {
		t.Errorf("declined: %q", r.stdout)
	}
	d.card(t, `{"pan":"4000000000009995"}`)
	r = d.cli(t, "sale", "--amount", "900", "--currency", "USD", "--reference", "POS-2").want(t, exitNotApproved)
	if !strings.HasPrefix(r.stdout, "DECLINED insufficient_funds: Insufficient funds\n") {
		t.Errorf("declined: %q", r.stdout)
	}
}

func TestRefund(t *testing.T) {
	t.Parallel()
	d := startDaemon(t)
	d.card(t, `{"presentAfterMs":0}`)
	d.cli(t, "sale", "--amount", "2500", "--currency", "USD", "--reference", "POS-1").want(t, 0)
	d.cli(t, "refund", "--original", "POS-1", "--amount", "500", "--currency", "USD", "--reference", "REF-1").
		want(t, 0, "APPROVED  USD 5.00 refunded", "of POS-1", "reference REF-1")
	d.cli(t, "refund", "--original", "POS-1", "--amount", "2001", "--currency", "USD", "--reference", "REF-2").
		want(t, exitRefused, "ERROR 422 amount_exceeds_original")
	d.cli(t, "refund", "--original", "NOPE", "--amount", "1", "--currency", "USD", "--reference", "REF-3").
		want(t, exitRefused, "ERROR 404 transaction_not_found")
}

func TestPreauthAndComplete(t *testing.T) {
	t.Parallel()
	d := startDaemon(t)
	d.card(t, `{"pan":"5555555555554444","presentAfterMs":0}`)
	d.cli(t, "preauth", "--amount", "10000", "--currency", "USD", "--reference", "HOTEL-1").
		want(t, 0, "APPROVED  USD 100.00 held  mastercard ************4444", "until ")
	d.cli(t, "complete", "--original", "HOTEL-1", "--amount", "8750", "--currency", "USD", "--reference", "HOTEL-1-FINAL").
		want(t, 0, "APPROVED  USD 87.50 captured", "pre-auth HOTEL-1", "reference HOTEL-1-FINAL")
	d.cli(t, "complete", "--original", "HOTEL-1", "--amount", "100", "--currency", "USD", "--reference", "HOTEL-1-AGAIN").
		want(t, exitRefused, "preauth_already_completed")
}

func TestBatchClose(t *testing.T) {
	t.Parallel()
	d := startDaemon(t)
	d.card(t, `{"presentAfterMs":0}`)
	d.cli(t, "sale", "--amount", "2500", "--currency", "USD", "--reference", "POS-1", "--tip", "300").want(t, 0)
	d.cli(t, "refund", "--original", "POS-1", "--amount", "500", "--currency", "USD", "--reference", "REF-1").want(t, 0)
	r := d.cli(t, "batch-close", "--reference", "EOD-1").want(t, 0, "EOD-1", "2 transactions", "USD 23.00", "visa")
	if !strings.HasPrefix(r.stdout, "CLOSED  batch_") {
		t.Errorf("batch: %q", r.stdout)
	}
	for _, row := range []string{"sales            1  USD 28.00", "refunds          1  USD 5.00", "completions      0  USD 0.00"} {
		if !strings.Contains(r.stdout, row) {
			t.Errorf("batch lacks %q:\n%s", row, r.stdout)
		}
	}
	d.cli(t, "batch-close", "--reference", "EOD-1").want(t, 0, "replayed")
}

func TestReceiptLastAndReprint(t *testing.T) {
	t.Parallel()
	d := startDaemon(t)
	d.cli(t, "receipt-last").want(t, exitRefused, "ERROR 404 transaction_not_found")
	d.card(t, `{"presentAfterMs":0}`)
	d.cli(t, "sale", "--amount", "1250", "--currency", "USD", "--reference", "POS-R").want(t, 0)
	r := d.cli(t, "receipt-last").want(t, 0, "APPROVED  POS-R  tpay_", "CUSTOMER COPY", "USD 12.50")
	if strings.Contains(r.stdout, "MERCHANT COPY") {
		t.Errorf("receipt-last shows the merchant copy by default:\n%s", r.stdout)
	}
	d.cli(t, "receipt-last", "--copy", "both").want(t, 0, "CUSTOMER COPY", "MERCHANT COPY")
	d.cli(t, "receipt-last", "--copy", "all").want(t, exitUsage, "--copy")
	d.cli(t, "reprint").want(t, 0, "PRINTED  customer")
	d.cli(t, "reprint", "--type", "both").want(t, 0, "PRINTED  both")
	d.post(t, "/simulator/v1/printer", `{"paper":false}`)
	d.cli(t, "reprint").want(t, exitNotApproved, "ERROR 503 printer_error")
}

func TestStatusAndCancel(t *testing.T) {
	t.Parallel()
	d := startDaemon(t)
	r := d.cli(t, "status").want(t, 0, "term_SIM_0001", "nexgo_ct20", "(simulator)", "open batch", "0 transactions")
	if !strings.HasPrefix(r.stdout, "READY  ") {
		t.Errorf("status: %q", r.stdout)
	}
	d.cli(t, "cancel").want(t, exitRefused, "ERROR 404 transaction_not_found")

	// A prompt nobody answers: status shows it, cancel ends it, and the
	// sale's own answer says cancelled.
	d.card(t, `{"present":false}`)
	done := make(chan result, 1)
	go func() {
		done <- runCLI(t, d.env(), "sale", "--amount", "100", "--currency", "USD", "--reference", "POS-C")
	}()
	d.waitStage(t, "waiting_for_card")
	d.cli(t, "status").want(t, 0, "BUSY", "active", "sale  POS-C  waiting_for_card")
	d.cli(t, "cancel", "--reference", "POS-C").want(t, 0, "CANCELLED  POS-C")
	s := <-done
	s.want(t, exitNotApproved, "CANCELLED transaction_cancelled:", "reference POS-C")
	d.waitReady(t)
	d.cli(t, "status").want(t, 0, "last", "sale  POS-C  cancelled")
}

func TestJSONPrintsTheAnswerAsItCame(t *testing.T) {
	t.Parallel()
	d := startDaemon(t)
	d.card(t, `{"presentAfterMs":0}`)
	r := d.cli(t, "--json", "sale", "--amount", "2500", "--currency", "USD", "--reference", "POS-J", "--tip", "300").want(t, 0)
	var sale map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &sale); err != nil {
		t.Fatalf("--json output is not JSON: %v\n%s", err, r.stdout)
	}
	if sale["status"] != "approved" || sale["totalAmount"] != 2800.0 || sale["reference"] != "POS-J" {
		t.Errorf("sale: %v", sale)
	}
	// The flag works after the command too, and keeps the exit codes.
	d.card(t, `{"pan":"4000000000000002"}`)
	r = d.cli(t, "sale", "--amount", "900", "--currency", "USD", "--reference", "POS-JD", "--json").want(t, exitNotApproved)
	var declined map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &declined); err != nil || declined["declineCode"] != "card_declined" {
		t.Errorf("declined --json: %v %s", err, r.stdout)
	}
	r = d.cli(t, "status", "--json").want(t, 0)
	var st map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st["status"] != "ready" {
		t.Errorf("status --json: %v %s", err, r.stdout)
	}
	r = runCLI(t, map[string]string{"CASHLESS_ADDR": d.addr, "CASHLESS_CA": d.ca, "CASHLESS_KEY": "ck_live_wrong"}, "--json", "status")
	r.want(t, exitRefused)
	if !strings.Contains(r.stdout, `"invalid_key"`) {
		t.Errorf("--json error: %q", r.stdout)
	}
}

func TestWrongKey(t *testing.T) {
	t.Parallel()
	d := startDaemon(t)
	env := d.env()
	env["CASHLESS_KEY"] = "ck_live_wrong"
	r := runCLI(t, env, "status").want(t, exitRefused, "ERROR 401 invalid_key")
	if r.stdout != "" {
		t.Errorf("a refusal went to stdout: %q", r.stdout)
	}
	// Flags beat the environment, before or after the command.
	runCLI(t, env, "status", "--key", simKey).want(t, 0, "READY")
	runCLI(t, nil, "--addr", d.addr, "--ca", d.ca, "--key", simKey, "status").want(t, 0, "READY")
}

func TestAddress(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]string{
		"192.168.1.51":               "https://192.168.1.51:8443",
		"https://terminal.lan":       "https://terminal.lan:8443",
		"https://[fe80::1]":          "https://[fe80::1]:8443",
		"https://192.168.1.51:9443/": "https://192.168.1.51:9443",
	} {
		c, err := newClient(addr, "", simKey, "test", time.Second, "", false)
		if err != nil {
			t.Errorf("%s: %v", addr, err)
			continue
		}
		if c.base != want {
			t.Errorf("%s: base %s, want %s", addr, c.base, want)
		}
	}
}

func TestTransportErrors(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "https://" + l.Addr().String()
	_ = l.Close()
	r := runCLI(t, map[string]string{"CASHLESS_ADDR": closed, "CASHLESS_KEY": simKey},
		"sale", "--amount", "1", "--currency", "USD", "--reference", "X").want(t, exitTransport, "connection refused")
	if strings.Contains(r.stderr, "asking") {
		t.Errorf("a request that never left asked status: %s", r.stderr)
	}

	// A terminal whose certificate the CA bundle does not vouch for.
	d := startDaemon(t)
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	other := filepath.Join(t.TempDir(), "other.pem")
	if err := os.WriteFile(other, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	env := d.env()
	env["CASHLESS_CA"] = other
	r = runCLI(t, env, "sale", "--amount", "1", "--currency", "USD", "--reference", "X").want(t, exitTransport, "certificate")
	if strings.Contains(r.stderr, "asking") {
		t.Errorf("a refused TLS handshake asked status: %s", r.stderr)
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	env := map[string]string{"CASHLESS_KEY": simKey}
	for _, c := range []struct {
		args []string
		code int
		text string
	}{
		{nil, exitUsage, "usage: cashless"},
		{[]string{"help"}, exitOK, "exit codes:"},
		{[]string{"--help"}, exitOK, "exit codes:"},
		{[]string{"sale", "-h"}, exitOK, "tipAmount"},
		{[]string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{[]string{"sale", "--currency", "USD", "--reference", "X"}, exitUsage, "missing --amount"},
		{[]string{"sale", "--amount", "25.00", "--currency", "USD", "--reference", "X"}, exitUsage, "minor units"},
		{[]string{"sale", "--amount", "2500"}, exitUsage, "missing --currency, --reference"},
		{[]string{"complete", "--amount", "1", "--currency", "USD", "--reference", "X"}, exitUsage, "missing --original"},
		{[]string{"batch-close"}, exitUsage, "missing --reference"},
		{[]string{"status", "extra"}, exitUsage, "unexpected argument"},
		{[]string{"--addr", "http://127.0.0.1:8443", "status"}, exitUsage, "HTTPS only"},
		{[]string{"--addr", "https://h:8443/cashless/v1", "status"}, exitUsage, "without a path"},
		{[]string{"--timeout", "soon", "status"}, exitUsage, "timeout"},
		{[]string{"--ca", "/nonexistent/ca.pem", "status"}, exitUsage, "--ca"},
		{[]string{"version"}, exitOK, "test"},
	} {
		r := runCLI(t, env, c.args...)
		r.want(t, c.code, c.text)
	}
	runCLI(t, nil, "status").want(t, exitUsage, "CASHLESS_KEY")
	// The currency may come from the environment.
	runCLI(t, map[string]string{"CASHLESS_KEY": simKey, "CASHLESS_CURRENCY": "USD"}, "sale", "--amount", "1").
		want(t, exitUsage, "missing --reference")
}

func TestMoney(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		minor int64
		cur   string
		want  string
	}{
		{2800, "USD", "USD 28.00"},
		{5, "USD", "USD 0.05"},
		{-150, "EUR", "EUR -1.50"},
		{500, "JPY", "JPY 500"},
		{1234, "KWD", "KWD 1.234"},
		{42, "", "42 (minor units)"},
	} {
		if got := money(c.minor, c.cur); got != c.want {
			t.Errorf("money(%d, %q) = %q, want %q", c.minor, c.cur, got, c.want)
		}
	}
}
