package api

import (
	"encoding/json"
	"time"

	"github.com/vinr/cashlessd/daemon"
)

// Wire types: the JSON the ECR sends and gets, field for field as the
// Cashless API reference names them. Request fields are pointers so a
// missing field can be told from a zero.

type emptyRequest struct{}

type saleRequest struct {
	Amount       *int64  `json:"amount"`
	Currency     *string `json:"currency"`
	Reference    *string `json:"reference"`
	TipAmount    *int64  `json:"tipAmount"`
	PrintReceipt *bool   `json:"printReceipt"`
}

type preauthRequest struct {
	Amount       *int64  `json:"amount"`
	Currency     *string `json:"currency"`
	Reference    *string `json:"reference"`
	PrintReceipt *bool   `json:"printReceipt"`
}

type completeRequest struct {
	OriginalReference *string `json:"originalReference"`
	CaptureAmount     *int64  `json:"captureAmount"`
	Currency          *string `json:"currency"`
	Reference         *string `json:"reference"`
	PrintReceipt      *bool   `json:"printReceipt"`
}

type refundRequest struct {
	OriginalReference *string `json:"originalReference"`
	Amount            *int64  `json:"amount"`
	Currency          *string `json:"currency"`
	Reference         *string `json:"reference"`
	PrintReceipt      *bool   `json:"printReceipt"`
}

type cancelRequest struct {
	Reference *string `json:"reference"`
}

type batchCloseRequest struct {
	Reference *string `json:"reference"`
}

type reprintRequest struct {
	Type *string `json:"type"`
}

type simCardRequest struct {
	PAN            *string         `json:"pan"`
	EntryMethod    *string         `json:"entryMethod"`
	PresentAfterMs *int64          `json:"presentAfterMs"`
	Present        *bool           `json:"present"`
	PIN            *string         `json:"pin"`
	Image          json.RawMessage `json:"image"`
}

type simHostRequest struct {
	LatencyMs         *int64  `json:"latencyMs"`
	Offline           *bool   `json:"offline"`
	DropResponse      *bool   `json:"dropResponse"`
	ForgetTransaction *string `json:"forgetTransaction"`
}

type simReaderRequest struct {
	Unplugged    *bool `json:"unplugged"`
	GarbleFrames *int  `json:"garbleFrames"`
	DropBytes    *int  `json:"dropBytes"`
	RemoveCard   *bool `json:"removeCard"`
}

type simPrinterRequest struct {
	Paper *bool `json:"paper"`
}

type simClockRequest struct {
	AdvanceSeconds *int64 `json:"advanceSeconds"`
}

type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type errorResponse struct {
	Error errorBody `json:"error"`
}

type receiptData struct {
	MerchantReceipt   string `json:"merchantReceipt"`
	CustomerReceipt   string `json:"customerReceipt"`
	SignatureRequired bool   `json:"signatureRequired"`
}

// transactionResponse carries every field any transaction answer uses;
// render fills the ones its kind and status show.
type transactionResponse struct {
	Status                string       `json:"status"`
	Reference             string       `json:"reference"`
	TransactionID         string       `json:"transactionId,omitempty"`
	Amount                *int64       `json:"amount,omitempty"`
	TipAmount             *int64       `json:"tipAmount,omitempty"`
	TotalAmount           *int64       `json:"totalAmount,omitempty"`
	CaptureAmount         *int64       `json:"captureAmount,omitempty"`
	Currency              string       `json:"currency,omitempty"`
	AuthCode              string       `json:"authCode,omitempty"`
	EntryMethod           string       `json:"entryMethod,omitempty"`
	CardScheme            string       `json:"cardScheme,omitempty"`
	MaskedPan             string       `json:"maskedPan,omitempty"`
	CardholderName        *string      `json:"cardholderName,omitempty"`
	OriginalReference     string       `json:"originalReference,omitempty"`
	OriginalTransactionID string       `json:"originalTransactionId,omitempty"`
	ExpiresAt             string       `json:"expiresAt,omitempty"`
	DeclineCode           string       `json:"declineCode,omitempty"`
	DeclineMessage        string       `json:"declineMessage,omitempty"`
	ReceiptData           *receiptData `json:"receiptData,omitempty"`
	Offline               bool         `json:"offline,omitempty"`
	ReceiptPrinted        *bool        `json:"receiptPrinted,omitempty"`
	PrinterError          string       `json:"printerError,omitempty"`
	CompletedAt           string       `json:"completedAt,omitempty"`
	Error                 *errorBody   `json:"error,omitempty"`
}

type lastTransaction struct {
	Reference     string `json:"reference"`
	Status        string `json:"status"`
	CompletedAt   string `json:"completedAt"`
	TransactionID string `json:"transactionId"`
	Type          string `json:"type"`
}

type activeTransaction struct {
	Reference string `json:"reference"`
	StartedAt string `json:"startedAt"`
	Type      string `json:"type"`
	Stage     string `json:"stage"`
}

type openBatch struct {
	TransactionCount int64  `json:"transactionCount"`
	TotalAmount      int64  `json:"totalAmount"`
	Currency         string `json:"currency"`
}

// pendingSettlement is a batch whose totals went to the host without a
// confirmation yet.
type pendingSettlement struct {
	Reference        string `json:"reference"`
	TransactionCount int64  `json:"transactionCount"`
	TotalAmount      int64  `json:"totalAmount"`
	Currency         string `json:"currency"`
}

type statusResponse struct {
	Status            string                `json:"status"`
	TerminalID        string                `json:"terminalId"`
	Model             string                `json:"model"`
	SoftwareVersion   string                `json:"softwareVersion"`
	ActiveTransaction *activeTransaction    `json:"activeTransaction,omitempty"`
	LastTransaction   *lastTransaction      `json:"lastTransaction,omitempty"`
	Printer           *daemon.PrinterStatus `json:"printer,omitempty"`
	PendingReversals  int                   `json:"pendingReversals"`
	PendingAdvices    int                   `json:"pendingAdvices"`
	OpenBatch         openBatch             `json:"openBatch"`
	PendingSettlement *pendingSettlement    `json:"pendingSettlement,omitempty"`
	NextSettlementAt  string                `json:"nextSettlementAt,omitempty"`
	Simulator         bool                  `json:"simulator,omitempty"`
}

type cancelResponse struct {
	Status      string `json:"status"`
	Reference   string `json:"reference"`
	CancelledAt string `json:"cancelledAt"`
}

type kindTotal struct {
	Count  int64 `json:"count"`
	Amount int64 `json:"amount"`
}

type batchTotals struct {
	Sales       kindTotal `json:"sales"`
	Completions kindTotal `json:"completions"`
	Refunds     kindTotal `json:"refunds"`
}

type batchResponse struct {
	Status           string               `json:"status"`
	BatchID          string               `json:"batchId"`
	Reference        string               `json:"reference"`
	TransactionCount int64                `json:"transactionCount"`
	TotalAmount      int64                `json:"totalAmount"`
	Currency         string               `json:"currency"`
	ClosedAt         string               `json:"closedAt"`
	Totals           batchTotals          `json:"totals"`
	Schemes          map[string]kindTotal `json:"schemes,omitempty"`
	Automatic        bool                 `json:"automatic,omitempty"`
}

type receiptLastResponse struct {
	TransactionID string      `json:"transactionId"`
	Reference     string      `json:"reference"`
	Status        string      `json:"status"`
	ReceiptData   receiptData `json:"receiptData"`
	CompletedAt   string      `json:"completedAt"`
}

type reprintResponse struct {
	Status string `json:"status"`
	Type   string `json:"type"`
}

type okResponse struct {
	Status string `json:"status"`
}

// timestamp is RFC 3339 UTC with seconds, as the reference writes it.
func timestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
