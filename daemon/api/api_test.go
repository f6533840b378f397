package api

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/client"
	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/api/wire"
)

// The engine the daemon wires in is the one the API asks for.
var _ Engine = (*daemon.Engine)(nil)

const testKey = "ck_test_api"

// sharedKey is the one key the test server takes.
type sharedKey string

func (k sharedKey) Verify(key string) bool {
	return subtle.ConstantTimeCompare([]byte(k), []byte(key)) == 1
}

// fakeEngine answers the API with what a test set and remembers the
// requests it was given.
type fakeEngine struct {
	mu       sync.Mutex
	requests []any
	status   daemon.StatusInfo
	result   *daemon.Result
	batch    *daemon.BatchResult
	last     *daemon.Transaction
	err      error
}

var testConfig = daemon.Config{TerminalID: "term_TEST_0001", Model: "VT-1", SoftwareVersion: "9.9.9", Currency: "USD"}

func (f *fakeEngine) got(r any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r)
	return f.err
}

// seen is the requests the engine was given.
func (f *fakeEngine) seen() []any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]any(nil), f.requests...)
}

func (f *fakeEngine) Config() daemon.Config { return testConfig }

func (f *fakeEngine) Status(context.Context) (daemon.StatusInfo, error) {
	return f.status, f.got("status")
}

func (f *fakeEngine) transaction(r any) (*daemon.Result, error) {
	if err := f.got(r); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.result, nil
}

// answer sets the result of the next transactions.
func (f *fakeEngine) answer(r *daemon.Result) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.result = r
}

func (f *fakeEngine) Sale(_ context.Context, r daemon.SaleRequest) (*daemon.Result, error) {
	return f.transaction(r)
}

func (f *fakeEngine) Preauth(_ context.Context, r daemon.PreauthRequest) (*daemon.Result, error) {
	return f.transaction(r)
}

func (f *fakeEngine) Complete(_ context.Context, r daemon.CompletionRequest) (*daemon.Result, error) {
	return f.transaction(r)
}

func (f *fakeEngine) Refund(_ context.Context, r daemon.RefundRequest) (*daemon.Result, error) {
	return f.transaction(r)
}

func (f *fakeEngine) Cancel(reference string) (*daemon.CancelResult, error) {
	if err := f.got("cancel " + reference); err != nil {
		return nil, err
	}
	return &daemon.CancelResult{Reference: reference, CancelledAt: at}, nil
}

func (f *fakeEngine) CloseBatch(_ context.Context, reference string) (*daemon.BatchResult, error) {
	if err := f.got("close " + reference); err != nil {
		return nil, err
	}
	return f.batch, nil
}

func (f *fakeEngine) LastReceipt() (*daemon.Transaction, error) {
	if err := f.got("receipt"); err != nil {
		return nil, err
	}
	return f.last, nil
}

func (f *fakeEngine) Reprint(_ context.Context, which string) error { return f.got("reprint " + which) }

// fakeSimulator remembers the simulator controls it was given.
type fakeSimulator struct {
	mu  sync.Mutex
	got []any
}

func (s *fakeSimulator) note(v any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, v)
	return nil
}

func (s *fakeSimulator) SetCard(c daemon.SimCard) error     { return s.note(c) }
func (s *fakeSimulator) SetHost(h daemon.SimHost) error     { return s.note(h) }
func (s *fakeSimulator) SetPaper(ok bool) error             { return s.note(ok) }
func (s *fakeSimulator) SetReader(r daemon.SimReader) error { return s.note(r) }
func (s *fakeSimulator) AdvanceClock(d time.Duration) error { return s.note(d) }
func (s *fakeSimulator) controls() []any                    { s.mu.Lock(); defer s.mu.Unlock(); return s.got }

// at is the time every fake transaction finished.
var at = time.Date(2026, 6, 11, 14, 30, 5, 0, time.UTC)

// serve runs the API over real TLS on loopback and returns a client with
// the right key.
func serve(t *testing.T, e Engine, sim daemon.Simulator) *client.Client {
	t.Helper()
	s := New(Options{Engine: e, Keys: sharedKey(testKey), Simulator: sim, Log: zerolog.Nop()})
	ts := httptest.NewTLSServer(s.Handler())
	t.Cleanup(ts.Close)
	return client.New(client.Config{BaseURL: ts.URL, Key: testKey, HTTPClient: ts.Client()})
}

// apiError is err as the client's *Error, failing the test otherwise.
func apiError(t *testing.T, err error) *client.Error {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) {
		t.Fatalf("want an API error, got %v", err)
	}
	if e.Message == "" {
		t.Fatalf("error %s without a message", e.Code)
	}
	return e
}

func approvedSale() *daemon.Transaction {
	return &daemon.Transaction{ID: "tpay_1", Kind: daemon.KindSale, Reference: "POS-1", Status: daemon.StatusApproved,
		Amount: 2500, TipAmount: 300, Currency: "USD", AuthCode: "A12345", CompletedAt: at,
		Card: &daemon.CardInfo{MaskedPAN: "************4242", Scheme: "visa", EntryMethod: "chip"}}
}

func TestStatusRendersTheEngineState(t *testing.T) {
	t.Parallel()
	f := &fakeEngine{status: daemon.StatusInfo{
		Busy: true, ActiveKind: "sale", ActiveReference: "POS-2", ActiveStartedAt: at, ActiveStage: daemon.StageWaitingForCard,
		LastTransaction: approvedSale(), Printer: &daemon.PrinterStatus{State: "paper_out", Message: "no paper"},
		PendingReversals: 2, PendingAdvices: 1, OpenBatchCount: 3, OpenBatchAmount: 7500, NextAutoSettle: at.Add(time.Hour),
		Settling: &daemon.Batch{Reference: "EOD-1", Currency: "USD", SaleCount: 1, SaleAmount: 1000},
	}}
	st, err := serve(t, f, nil).Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := wire.Status{Status: "busy", TerminalID: "term_TEST_0001", Model: "VT-1", SoftwareVersion: "9.9.9",
		ActiveTransaction: &wire.ActiveTransaction{Reference: "POS-2", StartedAt: "2026-06-11T14:30:05Z", Type: "sale", Stage: "waiting_for_card"},
		LastTransaction: &wire.LastTransaction{Reference: "POS-1", Status: "approved", CompletedAt: "2026-06-11T14:30:05Z",
			TransactionID: "tpay_1", Type: "sale"},
		Printer:          &wire.Printer{State: "paper_out", Message: "no paper"},
		PendingReversals: 2, PendingAdvices: 1,
		OpenBatch:         wire.OpenBatch{TransactionCount: 3, TotalAmount: 7500, Currency: "USD"},
		PendingSettlement: &wire.PendingSettlement{Reference: "EOD-1", TransactionCount: 1, TotalAmount: 1000, Currency: "USD"},
		NextSettlementAt:  "2026-06-11T15:30:05Z",
	}
	if !equalJSON(t, st, &want) {
		t.Fatalf("status\n got %+v\nwant %+v", st, want)
	}
}

func TestIdleStatusIsReadyWithoutActiveTransaction(t *testing.T) {
	t.Parallel()
	st, err := serve(t, &fakeEngine{}, &fakeSimulator{}).Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != "ready" || st.ActiveTransaction != nil || st.LastTransaction != nil || !st.Simulator || st.NextSettlementAt != "" {
		t.Fatalf("%+v", st)
	}
}

// TestTransactionsReachTheEngine runs each transaction call's happy path:
// the engine gets the request the body says and the answer renders the
// approval.
func TestTransactionsReachTheEngine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		tx   *daemon.Transaction
		call func(*client.Client) (*client.Transaction, error)
		want any
	}{
		{"sale", approvedSale(), func(c *client.Client) (*client.Transaction, error) {
			return c.Sale(context.Background(), wire.SaleRequest{Amount: wire.Ptr[int64](2500), Currency: wire.Ptr("USD"),
				Reference: wire.Ptr("POS-1"), TipAmount: wire.Ptr[int64](300), PrintReceipt: wire.Ptr(true)})
		}, daemon.SaleRequest{Amount: 2500, Currency: "USD", Reference: "POS-1", TipAmount: 300, PrintReceipt: true}},
		{"preauth", &daemon.Transaction{ID: "tpay_2", Kind: daemon.KindPreauth, Reference: "PA-1", Status: daemon.StatusApproved,
			Amount: 9000, Currency: "USD", ExpiresAt: at.Add(7 * 24 * time.Hour), Card: &daemon.CardInfo{Scheme: "visa"}},
			func(c *client.Client) (*client.Transaction, error) {
				return c.Preauth(context.Background(), wire.PreauthRequest{Amount: wire.Ptr[int64](9000), Currency: wire.Ptr("USD"),
					Reference: wire.Ptr("PA-1")})
			}, daemon.PreauthRequest{Amount: 9000, Currency: "USD", Reference: "PA-1"}},
		{"complete", &daemon.Transaction{ID: "tpay_3", Kind: daemon.KindCompletion, Reference: "PC-1", Status: daemon.StatusApproved,
			Amount: 8000, Currency: "USD", OriginalReference: "PA-1", OriginalID: "tpay_2"},
			func(c *client.Client) (*client.Transaction, error) {
				return c.Complete(context.Background(), wire.CompleteRequest{OriginalReference: wire.Ptr("PA-1"),
					CaptureAmount: wire.Ptr[int64](8000), Currency: wire.Ptr("USD"), Reference: wire.Ptr("PC-1")})
			}, daemon.CompletionRequest{OriginalReference: "PA-1", CaptureAmount: 8000, Currency: "USD", Reference: "PC-1"}},
		{"refund", &daemon.Transaction{ID: "tpay_4", Kind: daemon.KindRefund, Reference: "RF-1", Status: daemon.StatusApproved,
			Amount: 500, Currency: "USD", OriginalReference: "POS-1", OriginalID: "tpay_1"},
			func(c *client.Client) (*client.Transaction, error) {
				return c.Refund(context.Background(), wire.RefundRequest{OriginalReference: wire.Ptr("POS-1"),
					Amount: wire.Ptr[int64](500), Currency: wire.Ptr("USD"), Reference: wire.Ptr("RF-1")})
			}, daemon.RefundRequest{OriginalReference: "POS-1", Amount: 500, Currency: "USD", Reference: "RF-1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeEngine{result: &daemon.Result{Tx: tc.tx}}
			got, err := tc.call(serve(t, f, nil))
			if err != nil {
				t.Fatal(err)
			}
			if reqs := f.seen(); len(reqs) != 1 || reqs[0] != tc.want {
				t.Fatalf("engine got %+v, want %+v", reqs, tc.want)
			}
			want, _ := render(tc.tx)
			if !equalJSON(t, &got.Transaction, &want) || got.Replayed {
				t.Fatalf("answer %+v, want %+v", got, want)
			}
			if got.Status != "approved" || got.Reference != tc.tx.Reference || got.TransactionID != tc.tx.ID {
				t.Fatalf("answer %+v", got)
			}
		})
	}
}

func TestSaleAnswerFields(t *testing.T) {
	t.Parallel()
	tx := approvedSale()
	tx.PrintReceipt, tx.ReceiptPrinted = true, true
	got, err := serve(t, &fakeEngine{result: &daemon.Result{Tx: tx}}, nil).Sale(context.Background(),
		wire.SaleRequest{Amount: wire.Ptr[int64](2500), Currency: wire.Ptr("USD"), Reference: wire.Ptr("POS-1"), TipAmount: wire.Ptr[int64](300)})
	if err != nil {
		t.Fatal(err)
	}
	if *got.Amount != 2500 || *got.TipAmount != 300 || *got.TotalAmount != 2800 || got.MaskedPan != "************4242" ||
		got.CardScheme != "visa" || got.EntryMethod != "chip" || got.AuthCode != "A12345" || got.CompletedAt != "2026-06-11T14:30:05Z" ||
		got.ReceiptPrinted == nil || !*got.ReceiptPrinted || got.CardholderName == nil || got.Error != nil {
		t.Fatalf("%+v", got)
	}
}

// TestUnfinishedTransactionsAnswerWithTheirStatus: a decline is 402 with
// the transaction and card_declined, a cancellation 409, a failure the
// status of its code.
func TestUnfinishedTransactionsAnswerWithTheirStatus(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status     daemon.Status
		code, msg  string
		httpStatus int
		wantCode   string
	}{
		{daemon.StatusDeclined, "", "", 402, daemon.CodeCardDeclined},
		{daemon.StatusCancelled, daemon.CodeTransactionCancelled, "Cancelled by the ECR.", 409, daemon.CodeTransactionCancelled},
		{daemon.StatusFailed, daemon.CodeCommunicationError, "The host did not answer.", 503, daemon.CodeCommunicationError},
		{daemon.StatusFailed, "", "", 500, daemon.CodeInternalError},
	} {
		t.Run(string(tc.status)+tc.code, func(t *testing.T) {
			t.Parallel()
			tx := approvedSale()
			tx.Status, tx.ErrorCode, tx.ErrorMessage = tc.status, tc.code, tc.msg
			tx.DeclineCode, tx.DeclineMessage = "51", "Insufficient funds"
			got, err := serve(t, &fakeEngine{result: &daemon.Result{Tx: tx}}, nil).Sale(context.Background(),
				wire.SaleRequest{Amount: wire.Ptr[int64](2500), Currency: wire.Ptr("USD"), Reference: wire.Ptr("POS-1")})
			var e *client.Error
			if !errors.As(err, &e) || e.HTTPStatus != tc.httpStatus || e.Code != tc.wantCode {
				t.Fatalf("error %v, want %d %s", err, tc.httpStatus, tc.wantCode)
			}
			if got == nil || got.Status != string(tc.status) || got.Error == nil || got.Error.Code != tc.wantCode {
				t.Fatalf("transaction %+v", got)
			}
		})
	}
}

func TestReplayedAnswersCarryTheHeader(t *testing.T) {
	t.Parallel()
	f := &fakeEngine{result: &daemon.Result{Tx: approvedSale(), Replayed: true},
		batch: &daemon.BatchResult{Batch: &daemon.Batch{ID: "batch_1", Reference: "EOD-1", Currency: "USD", ClosedAt: at}, Replayed: true}}
	c := serve(t, f, nil)
	sale, err := c.Sale(context.Background(), wire.SaleRequest{Amount: wire.Ptr[int64](2500), Currency: wire.Ptr("USD"), Reference: wire.Ptr("POS-1")})
	if err != nil || !sale.Replayed {
		t.Fatalf("sale %+v %v", sale, err)
	}
	batch, err := c.CloseBatch(context.Background(), wire.BatchCloseRequest{Reference: wire.Ptr("EOD-1")})
	if err != nil || !batch.Replayed {
		t.Fatalf("batch %+v %v", batch, err)
	}
	res, err := c.Post(context.Background(), wire.PathSale, `{"amount":2500,"currency":"USD","reference":"POS-1"}`)
	if err != nil || res.Header.Get(ReplayHeader) != "true" {
		t.Fatalf("%v %v", res, err)
	}
	f.answer(&daemon.Result{Tx: approvedSale()})
	if fresh, err := c.Sale(context.Background(), wire.SaleRequest{Amount: wire.Ptr[int64](2500), Currency: wire.Ptr("USD"),
		Reference: wire.Ptr("POS-1")}); err != nil || fresh.Replayed {
		t.Fatalf("fresh sale %+v %v", fresh, err)
	}
}

// TestInvalidRequestsNeverReachTheEngine covers the validation of each
// call and the strict decoder: every refusal is 400 invalid_request naming
// the field.
func TestInvalidRequestsNeverReachTheEngine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		path, body, want string
	}{
		{wire.PathSale, `{"currency":"USD","reference":"A"}`, "amount: is required"},
		{wire.PathSale, `{"amount":0,"currency":"USD","reference":"A"}`, "amount: must be greater than 0"},
		{wire.PathSale, `{"amount":1000000000000,"currency":"USD","reference":"A"}`, "amount: must be at most 999999999999"},
		{wire.PathSale, `{"amount":999999999999,"tipAmount":1,"currency":"USD","reference":"A"}`, "tipAmount: amount plus tip"},
		{wire.PathSale, `{"amount":100,"tipAmount":-1,"currency":"USD","reference":"A"}`, "tipAmount: must not be negative"},
		{wire.PathSale, `{"amount":100,"reference":"A"}`, "currency: is required"},
		{wire.PathSale, `{"amount":100,"currency":"XXQ","reference":"A"}`, "currency:"},
		{wire.PathSale, `{"amount":100,"currency":"USD"}`, "reference: is required"},
		{wire.PathSale, `{"amount":100,"currency":"USD","reference":""}`, "reference: must be 1-64"},
		{wire.PathSale, `{"amount":100,"currency":"USD","reference":"` + strings.Repeat("x", 65) + `"}`, "reference: must be 1-64"},
		{wire.PathSale, `{"amount":100,"currency":"USD","reference":"a\u0007b"}`, "reference: must be printable ASCII (character 2"},
		{wire.PathSale, `{"amount":"100","currency":"USD","reference":"A"}`, "amount: expected an integer, got string"},
		{wire.PathSale, `{"amount":1.5,"currency":"USD","reference":"A"}`, "amount: expected an integer"},
		{wire.PathSale, `{"amount":100,"currency":"USD","reference":"A","tip":1}`, `unknown field "tip"`},
		{wire.PathSale, `{"amount":100,"currency":"USD","reference":"A"} {}`, "the body must be one JSON object"},
		{wire.PathSale, `{"amount":100,`, "malformed JSON"},
		{wire.PathSale, `[1]`, "the body must be a JSON object"},
		{wire.PathPreauth, `{"amount":100,"currency":"USD"}`, "reference: is required"},
		{wire.PathComplete, `{"captureAmount":100,"currency":"USD","reference":"B"}`, "originalReference: is required"},
		{wire.PathComplete, `{"originalReference":"A","amount":100,"currency":"USD","reference":"B"}`, `unknown field "amount"`},
		{wire.PathRefund, `{"originalReference":"A","currency":"USD","reference":"B"}`, "amount: is required"},
		{wire.PathCancel, `{"reference":""}`, "reference: must be 1-64"},
		{wire.PathBatchClose, `{}`, "reference: is required"},
		{wire.PathReceiptReprint, `{"type":"all"}`, `type: must be "merchant", "customer" or "both"`},
		{wire.PathStatus, `{"verbose":true}`, `unknown field "verbose"`},
		{wire.PathReceiptLast, `{"x":1}`, `unknown field "x"`},
	} {
		t.Run(tc.path+" "+tc.want, func(t *testing.T) {
			t.Parallel()
			f := &fakeEngine{}
			res, err := serve(t, f, nil).Post(context.Background(), tc.path, tc.body)
			if err != nil {
				t.Fatal(err)
			}
			e := apiError(t, res.Err())
			if e.HTTPStatus != http.StatusBadRequest || e.Code != daemon.CodeInvalidRequest || !strings.Contains(e.Message, tc.want) {
				t.Fatalf("%s: got %d %s %q, want 400 invalid_request %q", tc.body, e.HTTPStatus, e.Code, e.Message, tc.want)
			}
			if reqs := f.seen(); len(reqs) != 0 {
				t.Fatalf("the engine was called: %v", reqs)
			}
		})
	}
}

func TestAnEmptyBodyIsAnEmptyObject(t *testing.T) {
	t.Parallel()
	c := serve(t, &fakeEngine{}, nil)
	for _, body := range []any{nil, "", "  \n"} {
		res, err := c.Post(context.Background(), wire.PathStatus, body)
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("%q: %v %v", body, res, err)
		}
	}
}

// TestEngineErrorsMapToHTTPStatuses: each engine code reaches the ECR with
// its status and message; anything else is an internal_error that hides
// the detail.
func TestEngineErrorsMapToHTTPStatuses(t *testing.T) {
	t.Parallel()
	for code, status := range map[string]int{
		daemon.CodeTerminalBusy: 409, daemon.CodeDuplicateReference: 409, daemon.CodeTransactionNotFound: 404,
		daemon.CodeCancelNotAllowed: 422, daemon.CodeAmountExceedsOriginal: 422, daemon.CodePreauthExpired: 422,
		daemon.CodePreauthCompleted: 422, daemon.CodePrinterUnavailable: 422, daemon.CodeCommunicationError: 503,
		daemon.CodePrinterError: 503, daemon.CodeReaderError: 503, daemon.CodeStorageUnavailable: 503,
		daemon.CodeInvalidRequest: 400, daemon.CodeInternalError: 500,
	} {
		t.Run(code, func(t *testing.T) {
			t.Parallel()
			c := serve(t, &fakeEngine{err: daemon.Errorf(code, "Because %s.", code)}, nil)
			_, err := c.Refund(context.Background(), wire.RefundRequest{OriginalReference: wire.Ptr("A"), Amount: wire.Ptr[int64](1),
				Currency: wire.Ptr("USD"), Reference: wire.Ptr("B")})
			e := apiError(t, err)
			if e.HTTPStatus != status || e.Code != code || e.Message != "Because "+code+"." {
				t.Fatalf("got %d %s %q, want %d", e.HTTPStatus, e.Code, e.Message, status)
			}
		})
	}
	t.Run("unexpected", func(t *testing.T) {
		t.Parallel()
		c := serve(t, &fakeEngine{err: errors.New("bbolt: /var/lib/cashlessd/db is on fire")}, nil)
		_, err := c.Status(context.Background())
		e := apiError(t, err)
		if e.HTTPStatus != 500 || e.Code != daemon.CodeInternalError || strings.Contains(e.Message, "bbolt") {
			t.Fatalf("%+v", e)
		}
	})
}

// TestARunningReferenceIsToldToPollStatus: the engine says the reference
// is still running; the API tells the ECR where its outcome will show.
func TestARunningReferenceIsToldToPollStatus(t *testing.T) {
	t.Parallel()
	busy := daemon.Errorf(daemon.CodeTerminalBusy, "Transaction %q is still running.", "POS-1")
	busy.Cause = daemon.ErrStillRunning
	c := serve(t, &fakeEngine{err: busy}, nil)
	_, err := c.Sale(context.Background(), wire.SaleRequest{Amount: wire.Ptr[int64](1), Currency: wire.Ptr("USD"), Reference: wire.Ptr("POS-1")})
	e := apiError(t, err)
	want := `Transaction "POS-1" is still running; poll /cashless/v1/status for its outcome.`
	if e.HTTPStatus != 409 || e.Code != daemon.CodeTerminalBusy || e.Message != want {
		t.Fatalf("got %d %s %q, want %q", e.HTTPStatus, e.Code, e.Message, want)
	}
}

func TestKeysAreCheckedAndOnlyGuessingIsSlowedDown(t *testing.T) {
	t.Parallel()
	f := &fakeEngine{}
	c := serve(t, f, nil)
	ctx := context.Background()
	if _, err := c.WithKey("").Status(ctx); apiError(t, err).HTTPStatus != 401 || apiError(t, err).Code != wire.CodeInvalidKey {
		t.Fatalf("no key: %v", err)
	}
	for i := 1; i < 10; i++ {
		if _, err := c.WithKey("ck_guess").Status(ctx); apiError(t, err).HTTPStatus != 401 {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	res, err := c.WithKey("ck_guess").Post(ctx, wire.PathStatus, "{}")
	if err != nil {
		t.Fatal(err)
	}
	if e := apiError(t, res.Err()); e.HTTPStatus != 429 || e.Code != wire.CodeTooManyAttempts || res.Header.Get("Retry-After") == "" {
		t.Fatalf("after 10 wrong keys: %+v %v", e, res.Header)
	}
	// The right key is served even from an address over the limit: nobody
	// can lock out the ECR by failing in its name.
	if _, err := c.Status(ctx); err != nil {
		t.Fatalf("right key from a blocked address: %v", err)
	}
	if reqs := f.seen(); len(reqs) != 1 {
		t.Fatalf("the engine saw %v, want only the keyed status", reqs)
	}
}

func TestOnlyPOSTToKnownPaths(t *testing.T) {
	t.Parallel()
	c := serve(t, &fakeEngine{}, nil)
	res, err := c.Post(context.Background(), "/cashless/v1/nothing", "{}")
	if err != nil {
		t.Fatal(err)
	}
	if e := apiError(t, res.Err()); e.HTTPStatus != 404 || e.Code != wire.CodeNotFound {
		t.Fatalf("unknown path: %+v", e)
	}
	res, err = c.Post(context.Background(), wire.PathSimCard, "{}")
	if err != nil || res.StatusCode != 404 {
		t.Fatalf("simulator route outside simulator mode: %v %v", res, err)
	}
	res, err = c.Post(context.Background(), wire.PathStatus, strings.Repeat(" ", 65<<10)+"{}")
	if err != nil {
		t.Fatal(err)
	}
	if e := apiError(t, res.Err()); e.HTTPStatus != 413 || e.Code != daemon.CodeInvalidRequest {
		t.Fatalf("large body: %+v", e)
	}
	for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut} {
		req, _ := http.NewRequest(method, c.BaseURL()+wire.PathStatus, nil)
		req.Header.Set(KeyHeader, testKey)
		resp, err := c.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 405 || resp.Header.Get("Allow") != http.MethodPost {
			t.Fatalf("%s: %d %v", method, resp.StatusCode, resp.Header)
		}
	}
}

func TestCancelCloseReceiptAndReprint(t *testing.T) {
	t.Parallel()
	last := approvedSale()
	last.Receipts = &daemon.Receipts{Merchant: "MERCHANT COPY\n", Customer: "CUSTOMER COPY\n", SignatureRequired: true}
	f := &fakeEngine{last: last, batch: &daemon.BatchResult{Batch: &daemon.Batch{ID: "batch_1", Reference: "EOD-1", Currency: "USD",
		ClosedAt: at, SaleCount: 2, SaleAmount: 3000, RefundCount: 1, RefundAmount: 500}}}
	c := serve(t, f, nil)
	ctx := context.Background()

	cancelled, err := c.Cancel(ctx, wire.CancelRequest{Reference: wire.Ptr("POS-9")})
	if err != nil || *cancelled != (wire.Cancelled{Status: "cancelled", Reference: "POS-9", CancelledAt: "2026-06-11T14:30:05Z"}) {
		t.Fatalf("cancel %+v %v", cancelled, err)
	}
	if _, err := c.Cancel(ctx, wire.CancelRequest{}); err != nil {
		t.Fatal(err)
	}
	batch, err := c.CloseBatch(ctx, wire.BatchCloseRequest{Reference: wire.Ptr("EOD-1")})
	if err != nil || batch.Status != "closed" || batch.BatchID != "batch_1" || batch.TransactionCount != 3 || batch.TotalAmount != 2500 ||
		batch.Totals.Refunds != (wire.KindTotal{Count: 1, Amount: 500, GrossAmount: 500, NetAmount: -500}) || batch.ClosedAt != "2026-06-11T14:30:05Z" || batch.Replayed {
		t.Fatalf("batch %+v %v", batch, err)
	}
	receipt, err := c.LastReceipt(ctx)
	if err != nil || receipt.Reference != "POS-1" || receipt.ReceiptData.CustomerReceipt != "CUSTOMER COPY\n" ||
		receipt.ReceiptData.MerchantReceipt != "MERCHANT COPY\n" || !receipt.ReceiptData.SignatureRequired {
		t.Fatalf("receipt %+v %v", receipt, err)
	}
	for _, which := range []*string{nil, wire.Ptr("merchant"), wire.Ptr("both")} {
		printed, err := c.Reprint(ctx, wire.ReprintRequest{Type: which})
		if err != nil || printed.Status != "printed" || (which == nil && printed.Type != "customer") {
			t.Fatalf("reprint %+v %v", printed, err)
		}
	}
	want := []any{"cancel POS-9", "cancel ", "close EOD-1", "receipt", "reprint customer", "reprint merchant", "reprint both"}
	if got := f.seen(); !equalJSON(t, got, want) {
		t.Fatalf("engine calls %v, want %v", got, want)
	}
}

func TestSimulatorControls(t *testing.T) {
	t.Parallel()
	sim := &fakeSimulator{}
	c := serve(t, &fakeEngine{}, sim)
	ctx := context.Background()
	if err := c.SimCard(ctx, wire.SimCardRequest{PAN: wire.Ptr("4111111111111111"), PresentAfterMs: wire.Ptr[int64](250)}); err != nil {
		t.Fatal(err)
	}
	if err := c.SimHost(ctx, wire.SimHostRequest{Offline: wire.Ptr(true), ForgetTransaction: wire.Ptr("POS-1")}); err != nil {
		t.Fatal(err)
	}
	if err := c.SimPrinter(ctx, wire.SimPrinterRequest{Paper: wire.Ptr(false)}); err != nil {
		t.Fatal(err)
	}
	if err := c.SimReader(ctx, wire.SimReaderRequest{GarbleFrames: wire.Ptr(3), RemoveCard: wire.Ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if err := c.SimClock(ctx, wire.SimClockRequest{AdvanceSeconds: wire.Ptr[int64](60)}); err != nil {
		t.Fatal(err)
	}
	got := sim.controls()
	if len(got) != 5 {
		t.Fatalf("%+v", got)
	}
	card := got[0].(daemon.SimCard)
	host := got[1].(daemon.SimHost)
	if *card.PAN != "4111111111111111" || *card.PresentAfter != 250*time.Millisecond || !*host.Offline || host.ForgetTransaction != "POS-1" ||
		got[2] != false || got[3] != (daemon.SimReader{GarbleFrames: 3, RemoveCard: true}) || got[4] != time.Minute {
		t.Fatalf("%+v", got)
	}
	for _, tc := range []struct{ path, body, want string }{
		{wire.PathSimCard, `{"presentAfterMs":-1}`, "presentAfterMs: must be 0 to 600000"},
		{wire.PathSimHost, `{"latencyMs":600001}`, "latencyMs: must be 0 to 600000"},
		{wire.PathSimPrinter, `{}`, "paper: is required"},
		{wire.PathSimReader, `{"dropBytes":101}`, "dropBytes: must be 0 to 100"},
		{wire.PathSimClock, `{}`, "advanceSeconds: is required"},
	} {
		res, err := c.Post(ctx, tc.path, tc.body)
		if err != nil {
			t.Fatal(err)
		}
		if e := apiError(t, res.Err()); e.HTTPStatus != 400 || !strings.Contains(e.Message, tc.want) {
			t.Fatalf("%s %s: %+v", tc.path, tc.body, e)
		}
	}
}

// equalJSON reports whether got and want encode to the same JSON.
func equalJSON(t *testing.T, got, want any) bool {
	t.Helper()
	a, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	return string(a) == string(b)
}
