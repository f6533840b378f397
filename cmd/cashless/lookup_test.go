package main

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestTimeoutLooksUpItsOwnAttempt: an earlier sale under the reference was
// declined; the next one's answer is lost while it waits for a card. The
// lookup shows this run's attempt running, never the earlier decline, and
// after the cancel the lookup shows it cancelled with the decline listed
// as an earlier attempt.
func TestTimeoutLooksUpItsOwnAttempt(t *testing.T) {
	t.Parallel()
	d := startDaemon(t)
	sale := []string{"sale", "--amount", "1500", "--currency", "USD", "--reference", "POS-T"}
	d.cli(t, "lookup", "--reference", "POS-T").want(t, exitRefused, "ERROR 404 transaction_not_found")
	d.card(t, `{"pan":"4000000000009995","presentAfterMs":0}`)
	d.cli(t, sale...).want(t, exitNotApproved, "DECLINED insufficient_funds")

	d.card(t, `{"present":false}`)
	r := d.cli(t, append([]string{"--timeout", "1s"}, sale...)...).
		want(t, exitUnknown, "no answer within 1s", "looking up sale POS-T", "IN PROGRESS  sale  POS-T  waiting_for_card",
			"cashless cancel --reference POS-T")
	if !strings.HasPrefix(r.stdout, "IN PROGRESS") || strings.Contains(r.stdout+r.stderr, "DECLINED") {
		t.Errorf("the follow-up showed something else than the running attempt:\n%s%s", r.stdout, r.stderr)
	}
	r = d.cli(t, "lookup", "--reference", "POS-T").want(t, exitUnknown, "IN PROGRESS  sale  POS-T  waiting_for_card",
		"earlier attempt  sale  tpay_", "DECLINED  insufficient_funds")
	d.cli(t, "cancel", "--reference", "POS-T").want(t, 0, "CANCELLED  POS-T")
	d.waitReady(t)
	d.cli(t, "lookup", "--reference", "POS-T").want(t, exitNotApproved, "CANCELLED transaction_cancelled", "earlier attempt  sale")

	// A third attempt is approved; the lookup and receipt-last by
	// reference show it, and a refund under the reference is refused.
	d.card(t, `{"present":true,"pan":"4242424242424242","presentAfterMs":0}`)
	d.cli(t, sale...).want(t, 0, "APPROVED  USD 15.00")
	r = d.cli(t, "lookup", "--reference", "POS-T").want(t, 0, "APPROVED  USD 15.00")
	if n := strings.Count(r.stdout, "earlier attempt"); n != 2 {
		t.Errorf("%d earlier attempts listed:\n%s", n, r.stdout)
	}
	d.cli(t, "receipt-last", "--reference", "POS-T").want(t, 0, "APPROVED  POS-T  tpay_", "CUSTOMER COPY")
	d.cli(t, "receipt-last", "--reference", "POS-NONE").want(t, exitRefused, "ERROR 404 transaction_not_found")
	d.cli(t, "refund", "--original", "POS-T", "--amount", "100", "--currency", "USD", "--reference", "POS-T").
		want(t, exitRefused, "ERROR 409 duplicate_reference")
}

// standIn is a terminal that drops every transaction's connection and
// answers lookups from a script: the first lookup (the one cashless makes
// before it sends) gets before, the later ones after in turn (the last
// repeats).
type standIn struct {
	mu     sync.Mutex
	before string
	after  []string
	n      int
}

func (s *standIn) set(before string, after ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.before, s.after, s.n = before, after, 0
}

func (s *standIn) next() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	if s.n == 1 {
		return s.before
	}
	i := min(s.n-2, len(s.after)-1)
	return s.after[i]
}

func startStandIn(t *testing.T, s *standIn) map[string]string {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/cashless/v1/transaction":
			body := s.next()
			w.Header().Set("Content-Type", "application/json")
			if strings.Contains(body, "transaction_not_found") {
				w.WriteHeader(http.StatusNotFound)
			}
			_, _ = w.Write([]byte(body))
		case "/cashless/v1/status":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"status":"ready","terminalId":"T","model":"nexgo_ct20","softwareVersion":"x","pendingReversals":0,` +
				`"openBatch":{"transactionCount":1,"totalAmount":100},"lastTransaction":null}`))
		default:
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
		}
	}))
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return map[string]string{"CASHLESS_ADDR": srv.URL, "CASHLESS_CA": ca, "CASHLESS_KEY": simKey}
}

// TestLostAnswerLookedUp covers the follow-up's outcomes against a
// stand-in terminal: the attempt runs and is then approved (cashless waits
// for it), an earlier attempt's decline is never shown as this run's, and
// a reference the terminal never saw.
func TestLostAnswerLookedUp(t *testing.T) {
	t.Parallel()
	s := &standIn{}
	env := startStandIn(t, s)
	const notFound = `{"status":"error","error":{"code":"transaction_not_found","message":"never seen"}}`
	const declinedA = `{"status":"declined","reference":"LOST-1","transactionId":"tpay_A","type":"sale","amount":100,"currency":"USD",` +
		`"declineCode":"insufficient_funds","declineMessage":"Insufficient funds","error":{"code":"card_declined","message":"Insufficient funds"},"attempts":[]}`
	const pendingB = `{"status":"pending","stage":"authorising","reference":"LOST-1","transactionId":"tpay_B","type":"sale","amount":100,` +
		`"currency":"USD","attempts":[{"transactionId":"tpay_A","type":"sale","status":"declined","declineCode":"insufficient_funds"}]}`
	const approvedB = `{"status":"approved","reference":"LOST-1","transactionId":"tpay_B","type":"sale","amount":100,"tipAmount":0,` +
		`"totalAmount":100,"currency":"USD","authCode":"A1","cardScheme":"visa","maskedPan":"************4242","entryMethod":"chip",` +
		`"attempts":[{"transactionId":"tpay_A","type":"sale","status":"declined","declineCode":"insufficient_funds"}]}`
	sale := []string{"sale", "--amount", "100", "--currency", "USD", "--reference", "LOST-1"}

	s.set(declinedA, pendingB, pendingB, approvedB)
	r := runCLI(t, env, sale...).want(t, 0, "connection was lost", "still running (authorising, tpay_B)", "APPROVED  USD 1.00",
		"from a lookup of the reference")
	if !strings.HasPrefix(r.stdout, "APPROVED") || strings.Contains(r.stdout, "DECLINED") {
		t.Errorf("stdout: %q", r.stdout)
	}

	s.set(declinedA, declinedA)
	r = runCLI(t, env, sale...).want(t, exitUnknown, "NOT STARTED  sale  LOST-1", "no new attempt", "tpay_A (declined)",
		"repeat the same command")
	if strings.Contains(r.stdout, "DECLINED") {
		t.Errorf("an earlier attempt's decline was shown as this run's: %q", r.stdout)
	}

	s.set(notFound, notFound)
	runCLI(t, env, sale...).want(t, exitUnknown, "ERROR 404 transaction_not_found", "never saw reference LOST-1")

	s.set(notFound, strings.ReplaceAll(declinedA, "tpay_A", "tpay_C"))
	runCLI(t, env, sale...).want(t, exitNotApproved, "DECLINED insufficient_funds")

	// A batch close is not a transaction: status still tells.
	runCLI(t, env, "batch-close", "--reference", "EOD-X").want(t, exitUnknown, "not settled twice")
	runCLI(t, env, "cancel").want(t, exitTransport, "EOF")
}
