package fiuu

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vinr/cashlessd/cloud/relay"
	"github.com/vinr/cashlessd/cloud/store"
	"github.com/vinr/cashlessd/daemon/api/wire"
	"github.com/vinr/cashlessd/money"
)

// lookupAnswer is the terminal's answer of a sale, a void or a lookup.
type lookupAnswer = wire.Lookup

// MinorUnits turns a cloudECR amount ("12.34", exactly two decimals) into
// minor units of a currency with two decimals; other currencies are refused
// because cloudECR amounts always carry two.
func MinorUnits(transAmt, currency string) (int64, error) {
	if !amountRE.MatchString(transAmt) {
		return 0, errors.New("transData.transAmt must be a decimal with two places, e.g. \"12.34\"")
	}
	exp, known := money.Exponent(currency)
	if !known || exp != 2 {
		return 0, fmt.Errorf("the terminal's currency %s does not have two decimals; cloudECR amounts need them", currency)
	}
	n, err := strconv.ParseInt(strings.Replace(transAmt, ".", "", 1), 10, 64)
	if err != nil {
		return 0, errors.New("transData.transAmt is too large")
	}
	return n, nil
}

// formatAmount writes minor units as "12.34".
func formatAmount(minor int64) string {
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	return fmt.Sprintf("%s%d.%02d", sign, minor/100, minor%100)
}

// mapped is a transfer answer: the HTTP status and body, whether it is the
// final word on the referenceId (stored and replayed), and a word for the
// audit log.
type mapped struct {
	status  int
	body    []byte
	final   bool
	outcome string
}

func errorBody(code int, msg string) mapped {
	status := code
	for status >= 1000 {
		status /= 10
	}
	b, _ := json.Marshal(Error{Code: code, Message: msg})
	return mapped{status: status, body: b, outcome: strconv.Itoa(code)}
}

// mapAnswer turns the terminal's answer into the cloudECR answer:
// approved → statusCode 00; declined → statusCode 11 with the decline code
// as responseCode; cancelled 42210; busy 42910; unknown transaction 40410;
// a repeated reference with other parameters 42920; bad input 40031;
// anything else the terminal refuses 50312.
func (a *API) mapAnswer(t store.Transfer, ans relay.Answer, secret []byte) mapped {
	var tx wire.Lookup
	_ = json.Unmarshal(ans.Body, &tx)
	code := ""
	if tx.Error != nil {
		code = tx.Error.Code
	}
	switch {
	case ans.Status == http.StatusOK:
		return a.signed(t, tx, StatusSuccess, "00", "Approved", secret)
	case ans.Status == http.StatusPaymentRequired || code == "card_declined":
		rc := responseCode(tx.DeclineCode)
		msg := tx.DeclineMessage
		if msg == "" {
			msg = "Declined"
		}
		return a.signed(t, tx, StatusFailure, rc, msg, secret)
	case code == "transaction_cancelled":
		return errorBody(42210, "Cancelled at the terminal.")
	case code == "terminal_busy":
		return errorBody(42910, "Terminal busy with another transaction.")
	case code == "transaction_not_found":
		f := errorBody(40410, "Transaction not found.")
		return f
	case code == "duplicate_reference":
		f := errorBody(42920, "This referenceId was already used on the terminal with other parameters.")
		return f
	case code == "void_not_allowed":
		return errorBody(40029, "Invalid transaction status: "+message(tx))
	case ans.Status == http.StatusBadRequest:
		return errorBody(40031, "Invalid or missing parameters: "+message(tx))
	case code == "printer_unavailable" || code == "printer_error":
		return errorBody(50313, "Printer unavailable.")
	default:
		return errorBody(50312, "Terminal error: "+message(tx))
	}
}

// responseCode is the card response code of a decline (Fiuu's acquirer
// codes): the terminal's decline codes by name, two-character codes as they
// are, anything else 05 (do not honour).
func responseCode(declineCode string) string {
	switch declineCode {
	case "insufficient_funds":
		return "51"
	case "expired_card":
		return "54"
	case "incorrect_pin":
		return "55"
	}
	if len(declineCode) == 2 {
		return declineCode
	}
	return "05"
}

func message(tx wire.Lookup) string {
	if tx.Error != nil {
		return tx.Error.Message
	}
	return tx.Status
}

// signed builds a signed transfer answer.
func (a *API) signed(t store.Transfer, tx wire.Lookup, statusCode, responseCode, text string, secret []byte) mapped {
	p, _ := a.terminals.Presence(t.DeviceID)
	body := map[string]any{
		"transType": t.TransType, "posId": t.PosID, "deviceId": t.DeviceID, "referenceId": t.ReferenceID,
		"statusCode": statusCode, "responseCode": responseCode, "responseText": text,
		"softwareVersion": p.Hello.SoftwareVersion, "terminalSn": p.Hello.SerialNumber, "apiVersion": "v1",
	}
	if t.TransType != TypePrint && tx.TransactionID != "" {
		body["transData"] = transData(t, tx)
	}
	body["signature"] = Sign(body, secret)
	b, _ := json.Marshal(body)
	outcome := "approved"
	if statusCode != StatusSuccess {
		outcome = "declined"
	}
	return mapped{status: http.StatusOK, body: b, final: true, outcome: outcome}
}

func transData(t store.Transfer, tx wire.Lookup) map[string]any {
	d := map[string]any{
		"transId": tx.TransactionID, "invNo": tx.TransactionID, "currency": tx.Currency,
		"tid": t.DeviceID, "mid": t.MerchantID, "paymentChannel": strings.ToLower(tx.CardScheme),
	}
	amount := tx.TotalAmount
	if amount == nil {
		amount = tx.Amount
	}
	if amount != nil {
		d["transAmt"] = formatAmount(*amount)
	}
	if tx.MaskedPan != "" {
		d["cardNo"] = tx.MaskedPan
	}
	if tx.AuthCode != "" {
		d["apprCode"] = tx.AuthCode
	}
	if tx.CardholderName != nil && *tx.CardholderName != "" {
		d["cardHoldersName"] = *tx.CardholderName
	}
	if m := entryMode(tx.EntryMethod); m != "" {
		d["entryMode"] = m
	}
	if at, err := time.Parse(time.RFC3339, tx.CompletedAt); err == nil {
		d["transDateTime"] = at.UTC().Format("2006-01-02T15:04:05")
	}
	return d
}

func entryMode(m string) string {
	switch m {
	case "chip", "contact":
		return "contact"
	case "contactless":
		return "contactless"
	case "magstripe", "swipe":
		return "magstripe"
	case "fallback":
		return "fallback"
	case "manual", "keyed":
		return "manual"
	}
	return m
}
