// Package wire is the JSON of the Cashless API (/cashless/v1) and of the
// simulator controls (/simulator/v1): the request and response bodies field
// for field as the API reference names them, the paths and the headers.
// The daemon's server decodes and encodes these types, and the client
// package sends and reads them, so both sides share one definition.
//
// Request fields are pointers so that a missing field can be told from a
// zero value; the server decides what is required. The package uses the
// standard library only.
package wire

import "encoding/json"

// Headers of the Cashless API.
const (
	// KeyHeader carries the shared key on every call.
	KeyHeader = "X-VINR-Cashless-Key"
	// ReplayHeader is "true" on an answer replayed for a repeated
	// reference: nothing was charged or settled again.
	ReplayHeader = "Idempotent-Replayed"
)

// Paths of the Cashless API. Every call is a POST with a JSON body.
const (
	PathStatus         = "/cashless/v1/status"
	PathSale           = "/cashless/v1/sale"
	PathPreauth        = "/cashless/v1/preauth"
	PathComplete       = "/cashless/v1/preauth/complete"
	PathCancel         = "/cashless/v1/cancel"
	PathRefund         = "/cashless/v1/refund"
	PathBatchClose     = "/cashless/v1/batch/close"
	PathReceiptLast    = "/cashless/v1/receipt/last"
	PathReceiptReprint = "/cashless/v1/receipt/reprint"
)

// Paths of the simulator controls, served only in simulator mode.
const (
	PathSimCard    = "/simulator/v1/card"
	PathSimHost    = "/simulator/v1/host"
	PathSimPrinter = "/simulator/v1/printer"
	PathSimReader  = "/simulator/v1/reader"
	PathSimClock   = "/simulator/v1/clock"
)

// EmptyRequest is the body of the calls that take no fields (status,
// receipt/last): {} or an empty body.
type EmptyRequest struct{}

// SaleRequest starts a sale: amount and tip in minor units, the ECR's
// reference (its idempotency key) and whether the terminal prints.
type SaleRequest struct {
	Amount       *int64  `json:"amount,omitempty"`
	Currency     *string `json:"currency,omitempty"`
	Reference    *string `json:"reference,omitempty"`
	TipAmount    *int64  `json:"tipAmount,omitempty"`
	PrintReceipt *bool   `json:"printReceipt,omitempty"`
}

// PreauthRequest reserves an amount on a card.
type PreauthRequest struct {
	Amount       *int64  `json:"amount,omitempty"`
	Currency     *string `json:"currency,omitempty"`
	Reference    *string `json:"reference,omitempty"`
	PrintReceipt *bool   `json:"printReceipt,omitempty"`
}

// CompleteRequest captures at most the amount a pre-auth holds; no card
// is needed.
type CompleteRequest struct {
	OriginalReference *string `json:"originalReference,omitempty"`
	CaptureAmount     *int64  `json:"captureAmount,omitempty"`
	Currency          *string `json:"currency,omitempty"`
	Reference         *string `json:"reference,omitempty"`
	PrintReceipt      *bool   `json:"printReceipt,omitempty"`
}

// RefundRequest refunds part or all of a sale or completion to its card.
type RefundRequest struct {
	OriginalReference *string `json:"originalReference,omitempty"`
	Amount            *int64  `json:"amount,omitempty"`
	Currency          *string `json:"currency,omitempty"`
	Reference         *string `json:"reference,omitempty"`
	PrintReceipt      *bool   `json:"printReceipt,omitempty"`
}

// CancelRequest aborts the transaction waiting for a card; with a
// reference, only that one.
type CancelRequest struct {
	Reference *string `json:"reference,omitempty"`
}

// BatchCloseRequest settles and closes the open batch; the reference is
// the close's idempotency key.
type BatchCloseRequest struct {
	Reference *string `json:"reference,omitempty"`
}

// ReprintRequest prints the last receipt again: "merchant", "customer"
// (the default) or "both".
type ReprintRequest struct {
	Type *string `json:"type,omitempty"`
}

// SimCardRequest sets the simulated card: its PAN or a whole card image,
// how it is presented, when, and the PIN the cardholder types.
type SimCardRequest struct {
	PAN            *string         `json:"pan,omitempty"`
	EntryMethod    *string         `json:"entryMethod,omitempty"`
	PresentAfterMs *int64          `json:"presentAfterMs,omitempty"`
	Present        *bool           `json:"present,omitempty"`
	PIN            *string         `json:"pin,omitempty"`
	Image          json.RawMessage `json:"image,omitempty"`
}

// SimHostRequest sets the simulated acquirer host: latency, being offline,
// dropping a response, or forgetting a transaction by reference.
type SimHostRequest struct {
	LatencyMs         *int64  `json:"latencyMs,omitempty"`
	Offline           *bool   `json:"offline,omitempty"`
	DropResponse      *bool   `json:"dropResponse,omitempty"`
	ForgetTransaction *string `json:"forgetTransaction,omitempty"`
}

// SimReaderRequest sets faults of the simulated card reader.
type SimReaderRequest struct {
	Unplugged    *bool `json:"unplugged,omitempty"`
	GarbleFrames *int  `json:"garbleFrames,omitempty"`
	DropBytes    *int  `json:"dropBytes,omitempty"`
	RemoveCard   *bool `json:"removeCard,omitempty"`
}

// SimPrinterRequest puts paper in the simulated printer or takes it out.
type SimPrinterRequest struct {
	Paper *bool `json:"paper,omitempty"`
}

// SimClockRequest moves the simulated clock forward.
type SimClockRequest struct {
	AdvanceSeconds *int64 `json:"advanceSeconds,omitempty"`
}

// Error is an API error: a code from the reference's table and a message
// for people.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ErrorResponse is the body of every refused call.
type ErrorResponse struct {
	Error Error `json:"error"`
}

// ReceiptData holds the receipt texts of a transaction.
type ReceiptData struct {
	MerchantReceipt   string `json:"merchantReceipt"`
	CustomerReceipt   string `json:"customerReceipt"`
	SignatureRequired bool   `json:"signatureRequired"`
}

// Transaction is the answer of sale, preauth, preauth/complete and refund.
// It carries every field any of them uses; each kind and outcome fills its
// own. A declined, cancelled or failed transaction also carries Error.
type Transaction struct {
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
	ReceiptData           *ReceiptData `json:"receiptData,omitempty"`
	Offline               bool         `json:"offline,omitempty"`
	ReceiptPrinted        *bool        `json:"receiptPrinted,omitempty"`
	PrinterError          string       `json:"printerError,omitempty"`
	CompletedAt           string       `json:"completedAt,omitempty"`
	Error                 *Error       `json:"error,omitempty"`
}

// LastTransaction is status's summary of the last finished transaction.
type LastTransaction struct {
	Reference     string `json:"reference"`
	Status        string `json:"status"`
	CompletedAt   string `json:"completedAt"`
	TransactionID string `json:"transactionId"`
	Type          string `json:"type"`
}

// ActiveTransaction is status's view of the transaction running now and
// the stage it is at.
type ActiveTransaction struct {
	Reference string `json:"reference"`
	StartedAt string `json:"startedAt"`
	Type      string `json:"type"`
	Stage     string `json:"stage"`
	// EcrID is the credential whose request holds the terminal; absent
	// for work the terminal started itself (automatic settlement).
	EcrID string `json:"ecrId,omitempty"`
}

// OpenBatch is the count and total of the batch not yet settled.
type OpenBatch struct {
	TransactionCount int64  `json:"transactionCount"`
	TotalAmount      int64  `json:"totalAmount"`
	Currency         string `json:"currency"`
}

// PendingSettlement is a batch whose totals went to the host without a
// confirmation yet.
type PendingSettlement struct {
	Reference        string `json:"reference"`
	TransactionCount int64  `json:"transactionCount"`
	TotalAmount      int64  `json:"totalAmount"`
	Currency         string `json:"currency"`
}

// Printer is the printer's state in status ("ok", "paper_out", …) and
// why, when it is not ok.
type Printer struct {
	State   string `json:"state"`
	Message string `json:"message,omitempty"`
}

// Device is one device's health in status: "ok", "degraded", "offline"
// or "absent", since when (RFC 3339), and why when it is not ok.
type Device struct {
	State   string `json:"state"`
	Since   string `json:"since"`
	Message string `json:"message,omitempty"`
}

// Devices are the health of the card reader, the printer and the
// acquirer host link.
type Devices struct {
	Reader  Device `json:"reader"`
	Printer Device `json:"printer"`
	Host    Device `json:"host"`
}

// Reason is why a payment cannot succeed now: a short code
// (reader_offline, host_unreachable, storage_read_only) and a message.
type Reason struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Status is the answer of status: whether the terminal is ready or busy,
// what it runs, what it did last, its queues, its devices' health and
// whether a payment can succeed.
type Status struct {
	Status            string             `json:"status"`
	TerminalID        string             `json:"terminalId"`
	Model             string             `json:"model"`
	SoftwareVersion   string             `json:"softwareVersion"`
	ActiveTransaction *ActiveTransaction `json:"activeTransaction,omitempty"`
	LastTransaction   *LastTransaction   `json:"lastTransaction,omitempty"`
	Printer           *Printer           `json:"printer,omitempty"`
	PendingReversals  int                `json:"pendingReversals"`
	PendingAdvices    int                `json:"pendingAdvices"`
	OpenBatch         OpenBatch          `json:"openBatch"`
	PendingSettlement *PendingSettlement `json:"pendingSettlement,omitempty"`
	NextSettlementAt  string             `json:"nextSettlementAt,omitempty"`
	Simulator         bool               `json:"simulator,omitempty"`
	CanTransact       bool               `json:"canTransact"`
	Reasons           []Reason           `json:"reasons,omitempty"`
	Devices           Devices            `json:"devices"`
}

// Cancelled is the answer of cancel.
type Cancelled struct {
	Status      string `json:"status"`
	Reference   string `json:"reference"`
	CancelledAt string `json:"cancelledAt"`
}

// KindTotal is a count and amounts in minor units: GrossAmount adds every
// transaction, NetAmount subtracts refunds (it may be negative). Amount is
// kept for older ECRs: the gross for a kind, the net for a scheme.
type KindTotal struct {
	Count       int64 `json:"count"`
	Amount      int64 `json:"amount"`
	GrossAmount int64 `json:"grossAmount"`
	NetAmount   int64 `json:"netAmount"`
}

// BatchTotals splits a batch by kind of transaction.
type BatchTotals struct {
	Sales       KindTotal `json:"sales"`
	Completions KindTotal `json:"completions"`
	Refunds     KindTotal `json:"refunds"`
}

// Batch is the answer of batch/close: the closed batch's totals, by kind
// and by card scheme.
type Batch struct {
	Status           string               `json:"status"`
	BatchID          string               `json:"batchId"`
	Reference        string               `json:"reference"`
	TransactionCount int64                `json:"transactionCount"`
	TotalAmount      int64                `json:"totalAmount"`
	Currency         string               `json:"currency"`
	ClosedAt         string               `json:"closedAt"`
	Totals           BatchTotals          `json:"totals"`
	Schemes          map[string]KindTotal `json:"schemes,omitempty"`
	Automatic        bool                 `json:"automatic,omitempty"`
	GrossAmount      int64                `json:"grossAmount"`
	NetAmount        int64                `json:"netAmount"`
}

// LastReceipt is the answer of receipt/last.
type LastReceipt struct {
	TransactionID string      `json:"transactionId"`
	Reference     string      `json:"reference"`
	Status        string      `json:"status"`
	ReceiptData   ReceiptData `json:"receiptData"`
	CompletedAt   string      `json:"completedAt"`
}

// Reprinted is the answer of receipt/reprint.
type Reprinted struct {
	Status string `json:"status"`
	Type   string `json:"type"`
}

// OK is the answer of every simulator control: {"status":"ok"}.
type OK struct {
	Status string `json:"status"`
}

// Ptr returns a pointer to v, for filling request fields.
func Ptr[T any](v T) *T { return &v }

// Error codes that only the HTTP surface gives; the engine's own codes
// (terminal_busy, card_declined, …) come from the daemon.
const (
	// CodeInvalidKey: the shared key is missing or wrong (401).
	CodeInvalidKey = "invalid_key"
	// CodeTooManyAttempts: too many wrong keys from one address (429).
	CodeTooManyAttempts = "too_many_attempts"
	// CodeNotFound: no such endpoint (404).
	CodeNotFound = "not_found"
	// CodeMethodNotAllowed: every call is a POST (405).
	CodeMethodNotAllowed = "method_not_allowed"
	// CodeForbidden: the credential lacks the scope the call needs (403).
	CodeForbidden = "forbidden"
	// CodeInvalidSignature: a signed request's signature is missing,
	// wrong, outside the time window or replays a nonce (401).
	CodeInvalidSignature = "invalid_signature"
	// CodeInvalidPairingCode: the pairing code is wrong, expired or used
	// (401).
	CodeInvalidPairingCode = "invalid_pairing_code"
)
