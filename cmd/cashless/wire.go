package main

import (
	"encoding/json"
	"net/http"
)

// The Cashless API's answers, as far as the CLI shows them. Decoding is
// lenient: fields a newer terminal adds are ignored.

type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type txAnswer struct {
	Status                string    `json:"status"`
	Reference             string    `json:"reference"`
	TransactionID         string    `json:"transactionId"`
	Amount                *int64    `json:"amount"`
	TipAmount             *int64    `json:"tipAmount"`
	TotalAmount           *int64    `json:"totalAmount"`
	CaptureAmount         *int64    `json:"captureAmount"`
	Currency              string    `json:"currency"`
	AuthCode              string    `json:"authCode"`
	EntryMethod           string    `json:"entryMethod"`
	CardScheme            string    `json:"cardScheme"`
	MaskedPan             string    `json:"maskedPan"`
	OriginalReference     string    `json:"originalReference"`
	OriginalTransactionID string    `json:"originalTransactionId"`
	ExpiresAt             string    `json:"expiresAt"`
	DeclineCode           string    `json:"declineCode"`
	DeclineMessage        string    `json:"declineMessage"`
	ReceiptPrinted        *bool     `json:"receiptPrinted"`
	PrinterError          string    `json:"printerError"`
	CompletedAt           string    `json:"completedAt"`
	Error                 *apiError `json:"error"`
}

type activeTransaction struct {
	Reference string `json:"reference"`
	StartedAt string `json:"startedAt"`
	Type      string `json:"type"`
	Stage     string `json:"stage"`
}

type lastTransaction struct {
	Reference     string `json:"reference"`
	Status        string `json:"status"`
	CompletedAt   string `json:"completedAt"`
	TransactionID string `json:"transactionId"`
	Type          string `json:"type"`
}

type statusAnswer struct {
	Status            string             `json:"status"`
	TerminalID        string             `json:"terminalId"`
	Model             string             `json:"model"`
	SoftwareVersion   string             `json:"softwareVersion"`
	ActiveTransaction *activeTransaction `json:"activeTransaction"`
	LastTransaction   *lastTransaction   `json:"lastTransaction"`
	Printer           *struct {
		State   string `json:"state"`
		Message string `json:"message"`
	} `json:"printer"`
	PendingReversals int `json:"pendingReversals"`
	OpenBatch        struct {
		TransactionCount int64 `json:"transactionCount"`
		TotalAmount      int64 `json:"totalAmount"`
	} `json:"openBatch"`
	NextSettlementAt string    `json:"nextSettlementAt"`
	Simulator        bool      `json:"simulator"`
	Error            *apiError `json:"error"`
}

type kindTotal struct {
	Count  int64 `json:"count"`
	Amount int64 `json:"amount"`
}

type batchAnswer struct {
	Status           string `json:"status"`
	BatchID          string `json:"batchId"`
	Reference        string `json:"reference"`
	TransactionCount int64  `json:"transactionCount"`
	TotalAmount      int64  `json:"totalAmount"`
	Currency         string `json:"currency"`
	ClosedAt         string `json:"closedAt"`
	Totals           struct {
		Sales       kindTotal `json:"sales"`
		Completions kindTotal `json:"completions"`
		Refunds     kindTotal `json:"refunds"`
	} `json:"totals"`
	Schemes   map[string]kindTotal `json:"schemes"`
	Automatic bool                 `json:"automatic"`
	Error     *apiError            `json:"error"`
}

type receiptAnswer struct {
	TransactionID string `json:"transactionId"`
	Reference     string `json:"reference"`
	Status        string `json:"status"`
	ReceiptData   struct {
		MerchantReceipt   string `json:"merchantReceipt"`
		CustomerReceipt   string `json:"customerReceipt"`
		SignatureRequired bool   `json:"signatureRequired"`
	} `json:"receiptData"`
	CompletedAt string    `json:"completedAt"`
	Error       *apiError `json:"error"`
}

type reprintAnswer struct {
	Status string    `json:"status"`
	Type   string    `json:"type"`
	Error  *apiError `json:"error"`
}

type cancelAnswer struct {
	Status      string    `json:"status"`
	Reference   string    `json:"reference"`
	CancelledAt string    `json:"cancelledAt"`
	Error       *apiError `json:"error"`
}

// decode reads an answer into v; post has already checked it is JSON.
func decode(a *answer, v any) error { return json.Unmarshal(a.raw, v) }

// jsonExit is the exit code for an answer shown as JSON: the same as the
// human form would give.
func jsonExit(a *answer) int {
	var t struct {
		Status string    `json:"status"`
		Error  *apiError `json:"error"`
	}
	_ = decode(a, &t)
	return outcome(a.status, t.Status, t.Error)
}

// outcome maps an answer to the exit code: a transaction that ran and was
// not approved is 1, a refused request 4 (a 5xx without a transaction is a
// failed operation, 1).
func outcome(httpStatus int, status string, e *apiError) int {
	switch {
	case httpStatus == http.StatusOK && e == nil:
		return exitOK
	case status == "declined" || status == "cancelled" || status == "failed":
		return exitNotApproved
	case httpStatus >= 500:
		return exitNotApproved
	}
	return exitRefused
}
