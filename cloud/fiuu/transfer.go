package fiuu

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vinr/cashlessd/cloud/relay"
	"github.com/vinr/cashlessd/cloud/store"
)

// Transfer types.
const (
	TypeSale          = "sale"
	TypeVoid          = "void"
	TypeGetLast       = "getLast"
	TypePrint         = "print"
	TypeCashOut       = "cashOut"
	TypeWalletInquiry = "walletInquiry"
)

// Status codes of a transfer answer.
const (
	StatusSuccess = "00"
	StatusFailure = "11"
	StatusPending = "22"
)

const maxTransferBody = 16 << 10

var (
	datetimeRE = regexp.MustCompile(`^[0-9]{14}$`)
	amountRE   = regexp.MustCompile(`^(0|[1-9][0-9]{0,9})\.[0-9]{2}$`)
)

// transferRequest is a transfer's top-level fields, read from the body.
type transferRequest struct {
	TransType, PosID, MerchantID, DeviceID, ReferenceID, ReferenceLabel, APIVersion, Datetime, Signature string
	TransData                                                                                            map[string]any
	raw                                                                                                  map[string]any
}

func readTransfer(b []byte) (transferRequest, string) {
	raw, err := decodeBody(b)
	if err != nil {
		return transferRequest{}, "The body must be one JSON object."
	}
	r := transferRequest{raw: raw}
	fields := []struct {
		name     string
		dst      *string
		required bool
	}{
		{"transType", &r.TransType, true}, {"posId", &r.PosID, true}, {"merchantId", &r.MerchantID, true},
		{"deviceId", &r.DeviceID, true}, {"referenceId", &r.ReferenceID, true}, {"referenceLabel", &r.ReferenceLabel, false},
		{"apiVersion", &r.APIVersion, true}, {"datetime", &r.Datetime, true}, {"signature", &r.Signature, true},
	}
	for _, f := range fields {
		v, present := raw[f.name]
		s, isString := v.(string)
		switch {
		case present && v != nil && !isString:
			return r, f.name + " must be a string."
		case f.required && s == "":
			return r, f.name + " is required."
		}
		*f.dst = s
	}
	if td, present := raw["transData"]; present && td != nil {
		m, isObject := td.(map[string]any)
		if !isObject {
			return r, "transData must be an object."
		}
		r.TransData = m
	}
	if len(r.ReferenceID) > 20 {
		return r, "referenceId must be at most 20 characters."
	}
	for i := 0; i < len(r.ReferenceID); i++ {
		if r.ReferenceID[i] < 0x21 || r.ReferenceID[i] > 0x7e {
			return r, "referenceId must be printable ASCII without spaces."
		}
	}
	return r, ""
}

func (r transferRequest) data(name string) string {
	s, _ := r.TransData[name].(string)
	return s
}

// paramsHash fingerprints what a repeated referenceId must repeat: the
// type, the terminal, the label and transData.
func (r transferRequest) paramsHash() string {
	b, _ := json.Marshal([]any{r.TransType, r.DeviceID, r.ReferenceLabel, r.TransData})
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func (a *API) transfer(c echo.Context) error {
	ctx := c.Request().Context()
	cl := claimsOf(c)
	b, err := io.ReadAll(io.LimitReader(c.Request().Body, maxTransferBody+1))
	if err != nil || len(b) > maxTransferBody {
		return fail(c, 40031, "The body is too large or unreadable.")
	}
	req, bad := readTransfer(b)
	if bad != "" {
		return fail(c, 40031, bad)
	}
	if req.PosID != cl.PosID {
		return fail(c, 40021, "posId is not the POS of this token.")
	}
	if req.MerchantID != cl.MerchantID {
		return fail(c, 40022, "merchantId is not the merchant of this token.")
	}
	p, err := a.accounts.POS(ctx, cl.PosID)
	if err != nil {
		return fail(c, 40312, "This POS account is suspended.")
	}
	secret, err := a.accounts.Secret(p)
	if err != nil {
		a.log.Error().Err(err).Msg("unseal POS secret")
		return fail(c, 50010, "The relay cannot check signatures right now.")
	}
	if !Verify(req.raw, secret, req.Signature) {
		a.audit(ctx, c, "transfer", cl.PosID, req.DeviceID, "bad_signature", req.ReferenceID)
		return fail(c, 40026, "Invalid signature.")
	}
	if req.APIVersion != "v1" {
		return fail(c, 40024, "apiVersion must be \"v1\".")
	}
	if msg := a.checkDatetime(req.Datetime); msg != "" {
		return fail(c, 40027, msg)
	}
	switch req.TransType {
	case TypeSale, TypeVoid, TypeGetLast, TypePrint:
	case TypeCashOut, TypeWalletInquiry:
		return fail(c, 40030, "transType "+req.TransType+" is not supported by this cloud (cards only).")
	default:
		return fail(c, 40030, "Invalid transType.")
	}
	bnd, err := a.store.Binding(ctx, req.DeviceID)
	if errors.Is(err, store.ErrNotFound) || err == nil && (bnd.Unbound || bnd.MerchantID != cl.MerchantID) {
		a.audit(ctx, c, "transfer", cl.PosID, req.DeviceID, "unknown_terminal", req.ReferenceID)
		return fail(c, 40317, "Unknown terminal: no terminal with this deviceId is bound to this merchant.")
	}
	if err != nil {
		return fail(c, 50010, "The relay cannot read bindings right now.")
	}
	if req.TransType == TypeGetLast {
		return a.getLast(c, req, secret)
	}
	if code, msg := a.checkTransData(req); code != 0 {
		return fail(c, code, msg)
	}
	t := store.Transfer{MerchantID: cl.MerchantID, PosID: cl.PosID, ReferenceID: req.ReferenceID, TransType: req.TransType,
		DeviceID: req.DeviceID, ParamsHash: req.paramsHash(), TerminalReference: terminalReference(req.TransType, req.ReferenceID),
		State: store.TransferRunning, CreatedAt: a.clock.Now().UTC(), UpdatedAt: a.clock.Now().UTC()}
	// A referenceId already used answers from the record, even with the
	// terminal offline.
	if _, _, err := a.store.Transfer(ctx, t.MerchantID, t.TransType, t.ReferenceID); err == nil {
		return a.repeated(c, t, secret)
	} else if !errors.Is(err, store.ErrNotFound) {
		return fail(c, 50010, "The relay cannot read transfers right now.")
	}
	endpoint, body, code, msg := a.nativeCall(ctx, req, t)
	if code != 0 {
		return fail(c, code, msg)
	}
	t.Endpoint, t.Request = endpoint, body
	rev, err := a.store.CreateTransfer(ctx, t)
	if errors.Is(err, store.ErrExists) {
		return a.repeated(c, t, secret)
	}
	if err != nil {
		return fail(c, 50010, "The relay cannot record the transfer right now.")
	}
	_ = a.store.SetLastTransfer(ctx, t)
	a.audit(ctx, c, "transfer", cl.PosID, req.DeviceID, "sent", req.TransType+" "+req.ReferenceID)
	return a.run(c, t, rev, secret)
}

func (a *API) checkDatetime(dt string) string {
	if !datetimeRE.MatchString(dt) {
		return "datetime must be yyyyMMddHHmmss (UTC)."
	}
	at, err := time.Parse("20060102150405", dt)
	if err != nil {
		return "datetime must be yyyyMMddHHmmss (UTC)."
	}
	if d := a.clock.Now().Sub(at); d > a.opts.DatetimeTolerance || d < -a.opts.DatetimeTolerance {
		return "datetime is too far from the server's time (UTC, yyyyMMddHHmmss)."
	}
	return ""
}

func (a *API) checkTransData(r transferRequest) (int, string) {
	switch r.TransType {
	case TypeSale:
		if !amountRE.MatchString(r.data("transAmt")) {
			return 40031, "transData.transAmt must be a decimal with two places, e.g. \"12.34\"."
		}
		switch r.data("paymentMethod") {
		case "bankCard":
		case "":
			return 40031, "transData.paymentMethod is required."
		default:
			return 50320, "Payment method not available on this terminal (cards only)."
		}
	case TypeVoid:
		if transID(r) == "" {
			return 40031, "transData.transId is required."
		}
	}
	return 0, ""
}

// transID reads transData.transId, a string or a number.
func transID(r transferRequest) string {
	switch v := r.TransData["transId"].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	}
	return ""
}

// terminalReference is the reference a transfer runs under on the
// terminal: the referenceId for a sale (so the terminal's own lookup finds
// it), with a suffix for the others (cloudECR lets a void reuse the sale's
// referenceId).
func terminalReference(transType, referenceID string) string {
	if transType == TypeSale {
		return referenceID
	}
	return referenceID + "." + transType
}

// repeated answers a referenceId already used: the stored answer when the
// parameters are the same, the truth from the terminal when the first
// request has not finished, a refusal when the parameters differ.
func (a *API) repeated(c echo.Context, t store.Transfer, secret []byte) error {
	ctx := c.Request().Context()
	old, rev, err := a.store.Transfer(ctx, t.MerchantID, t.TransType, t.ReferenceID)
	if errors.Is(err, store.ErrNotFound) {
		return fail(c, 42920, "This referenceId is being retried; try again.")
	}
	if err != nil {
		return fail(c, 50010, "The relay cannot read transfers right now.")
	}
	if old.ParamsHash != t.ParamsHash {
		return fail(c, 42920, "This referenceId was already used with other parameters.")
	}
	if old.State == store.TransferDone {
		return c.JSONBlob(old.HTTPStatus, old.Answer)
	}
	return a.resolve(c, old, rev, secret)
}

// resolve asks the terminal about a transfer still running and answers
// with what it knows (pending when it knows nothing yet).
func (a *API) resolve(c echo.Context, t store.Transfer, rev uint64, secret []byte) error {
	ctx := c.Request().Context()
	if t.TransType == TypePrint {
		return a.answerPending(c, t, secret)
	}
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	body, _ := json.Marshal(map[string]string{"reference": t.TerminalReference})
	ans, err := a.terminals.Call(lctx, t.DeviceID, "transaction", body, t.PosID)
	if err == nil && ans.Status == http.StatusNotFound && t.Endpoint != "" {
		// The call never reached the terminal (the relay that sent it, or
		// its NATS node, went away): send it again under the same reference.
		return a.run(c, t, rev, secret)
	}
	if err != nil || ans.Status != http.StatusOK {
		return a.answerPending(c, t, secret)
	}
	var l lookupAnswer
	if json.Unmarshal(ans.Body, &l) != nil || l.Status == "pending" || l.Status == "" {
		return a.answerPending(c, t, secret)
	}
	status := http.StatusOK
	switch l.Status {
	case "declined":
		status = http.StatusPaymentRequired
	case "cancelled":
		status = http.StatusConflict
	case "failed":
		status = http.StatusServiceUnavailable
	}
	return a.finish(c, t, rev, relay.Answer{Status: status, Body: ans.Body}, secret)
}

// run sends the transfer's call to the terminal and answers. Sending it
// again (a retry after a relay died) is safe: the call carries the
// transfer's terminal reference, and the terminal charges a reference once.
func (a *API) run(c echo.Context, t store.Transfer, rev uint64, secret []byte) error {
	ctx := c.Request().Context()
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.opts.Wait)
	defer cancel()
	ans, err := a.terminals.Call(wctx, t.DeviceID, t.Endpoint, t.Request, t.PosID)
	switch {
	case errors.Is(err, relay.ErrNotConnected):
		_ = a.store.DeleteTransfer(ctx, t)
		return fail(c, 50310, "Terminal not connected.")
	case errors.Is(err, relay.ErrNoAnswer):
		return a.answerPending(c, t, secret)
	case err != nil:
		_ = a.store.DeleteTransfer(ctx, t)
		a.log.Warn().Err(err).Str("deviceId", t.DeviceID).Msg("transfer")
		return fail(c, 50311, "No terminal response.")
	}
	return a.finish(c, t, rev, ans, secret)
}

// nativeCall builds the Cashless API call of a transfer. A void and a
// print first look up the transaction the transId names.
func (a *API) nativeCall(ctx context.Context, req transferRequest, t store.Transfer) (string, []byte, int, string) {
	printCount := req.data("printCount")
	if printCount == "" {
		printCount = jsonNumber(req.TransData["printCount"])
	}
	printReceipt := printCount != "0"
	switch req.TransType {
	case TypeSale:
		minor, currency, code, msg := a.amount(ctx, t.DeviceID, req.data("transAmt"))
		if code != 0 {
			return "", nil, code, msg
		}
		b, _ := json.Marshal(map[string]any{"amount": minor, "currency": currency, "reference": t.TerminalReference, "printReceipt": printReceipt})
		return "sale", b, 0, ""
	case TypeVoid:
		orig, code, msg := a.originalReference(ctx, t, transID(req))
		if code != 0 {
			return "", nil, code, msg
		}
		b, _ := json.Marshal(map[string]any{"originalReference": orig, "reference": t.TerminalReference, "printReceipt": printReceipt})
		return "void", b, 0, ""
	default:
		if id := transID(req); id != "" {
			if _, code, msg := a.originalReference(ctx, t, id); code != 0 {
				return "", nil, code, msg
			}
		}
		return "receipt/reprint", []byte(`{"type":"customer"}`), 0, ""
	}
}

func jsonNumber(v any) string {
	if n, isNumber := v.(json.Number); isNumber {
		return n.String()
	}
	return ""
}

// originalReference finds the reference of the transaction a transId names.
func (a *API) originalReference(ctx context.Context, t store.Transfer, id string) (string, int, string) {
	lctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	body, _ := json.Marshal(map[string]string{"transactionId": id})
	ans, err := a.terminals.Call(lctx, t.DeviceID, "transaction", body, t.PosID)
	switch {
	case errors.Is(err, relay.ErrNotConnected):
		return "", 50310, "Terminal not connected."
	case err != nil:
		return "", 50311, "No terminal response."
	case ans.Status == http.StatusNotFound:
		return "", 40410, "Transaction not found."
	case ans.Status != http.StatusOK:
		return "", 40031, "transData.transId is not a transaction of this terminal."
	}
	var l lookupAnswer
	if json.Unmarshal(ans.Body, &l) != nil || l.Reference == "" {
		return "", 40032, "Invalid terminal response."
	}
	return l.Reference, 0, ""
}

// amount turns "12.34" into minor units of the terminal's currency.
func (a *API) amount(ctx context.Context, deviceID, transAmt string) (int64, string, int, string) {
	currency, err := a.currency(ctx, deviceID)
	switch {
	case errors.Is(err, relay.ErrNotConnected):
		return 0, "", 50310, "Terminal not connected."
	case err != nil:
		return 0, "", 50311, "No terminal response."
	}
	minor, err := MinorUnits(transAmt, currency)
	if err != nil {
		return 0, "", 40031, err.Error()
	}
	if minor <= 0 {
		return 0, "", 40031, "transData.transAmt must be more than zero."
	}
	return minor, currency, 0, ""
}

func (a *API) currency(ctx context.Context, deviceID string) (string, error) {
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	ans, err := a.terminals.Call(sctx, deviceID, "status", []byte(`{}`), "")
	if err != nil {
		return "", err
	}
	var st struct {
		OpenBatch struct {
			Currency string `json:"currency"`
		} `json:"openBatch"`
	}
	if ans.Status != http.StatusOK || json.Unmarshal(ans.Body, &st) != nil || st.OpenBatch.Currency == "" {
		return "", errors.New("status without a currency")
	}
	return st.OpenBatch.Currency, nil
}

func (a *API) answerPending(c echo.Context, t store.Transfer, secret []byte) error {
	body := map[string]any{
		"transType": t.TransType, "posId": t.PosID, "deviceId": t.DeviceID, "referenceId": t.ReferenceID,
		"statusCode": StatusPending, "responseCode": "", "responseText": "The terminal has not answered yet; ask again with getLast or the same request.",
		"apiVersion": "v1",
	}
	body["signature"] = Sign(body, secret)
	return c.JSON(http.StatusOK, body)
}

// finish maps the terminal's answer, stores it when it is final and
// answers it.
func (a *API) finish(c echo.Context, t store.Transfer, rev uint64, ans relay.Answer, secret []byte) error {
	ctx := c.Request().Context()
	m := a.mapAnswer(t, ans, secret)
	if !m.final {
		_ = a.store.DeleteTransfer(ctx, t)
		return c.JSONBlob(m.status, m.body)
	}
	t.State, t.HTTPStatus, t.Answer, t.UpdatedAt = store.TransferDone, m.status, m.body, a.clock.Now().UTC()
	if _, err := a.store.UpdateTransfer(ctx, t, rev); err != nil {
		if cur, _, gerr := a.store.Transfer(ctx, t.MerchantID, t.TransType, t.ReferenceID); gerr == nil && cur.State == store.TransferDone {
			return c.JSONBlob(cur.HTTPStatus, cur.Answer)
		}
		a.log.Warn().Err(err).Str("referenceId", t.ReferenceID).Msg("transfer answer not stored")
	}
	a.audit(ctx, c, "transfer", t.PosID, t.DeviceID, m.outcome, t.TransType+" "+t.ReferenceID)
	return c.JSONBlob(m.status, m.body)
}

// RecordOutcome stores an outcome a terminal published for a transfer that
// was still running (its requester stopped waiting, or its answer was
// lost). It is the relay's outcome handler.
func (a *API) RecordOutcome(ctx context.Context, terminalID, endpoint, reference string, httpStatus int, body []byte) error {
	bnd, err := a.store.Binding(ctx, terminalID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	transType, referenceID := TypeSale, reference
	switch endpoint {
	case "sale":
	case "void":
		var found bool
		referenceID, found = cutSuffix(reference, "."+TypeVoid)
		if !found {
			return nil
		}
		transType = TypeVoid
	default:
		return nil
	}
	t, rev, err := a.store.Transfer(ctx, bnd.MerchantID, transType, referenceID)
	if errors.Is(err, store.ErrNotFound) || err == nil && (t.State == store.TransferDone || t.DeviceID != terminalID) {
		return nil
	}
	if err != nil {
		return err
	}
	p, err := a.accounts.POS(ctx, t.PosID)
	if err != nil {
		return nil
	}
	secret, err := a.accounts.Secret(p)
	if err != nil {
		return err
	}
	m := a.mapAnswer(t, relay.Answer{Status: httpStatus, Body: body}, secret)
	if !m.final {
		return a.store.DeleteTransfer(ctx, t)
	}
	t.State, t.HTTPStatus, t.Answer, t.UpdatedAt = store.TransferDone, m.status, m.body, a.clock.Now().UTC()
	if _, err := a.store.UpdateTransfer(ctx, t, rev); err != nil && !errors.Is(err, store.ErrConflict) {
		return err
	}
	return nil
}

func cutSuffix(s, suffix string) (string, bool) {
	if len(s) > len(suffix) && s[len(s)-len(suffix):] == suffix {
		return s[:len(s)-len(suffix)], true
	}
	return s, false
}

func (a *API) getLast(c echo.Context, req transferRequest, secret []byte) error {
	ctx := c.Request().Context()
	t, rev, err := a.store.LastTransfer(ctx, req.MerchantID, req.DeviceID)
	if errors.Is(err, store.ErrNotFound) {
		return fail(c, 40410, "Transaction not found: no transfer was sent to this terminal.")
	}
	if err != nil {
		return fail(c, 50010, "The relay cannot read transfers right now.")
	}
	if t.State == store.TransferDone {
		return c.JSONBlob(t.HTTPStatus, t.Answer)
	}
	return a.resolve(c, t, rev, secret)
}
