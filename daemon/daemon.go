// Package daemon is the payment engine of cashlessd: the domain types, the
// small interfaces the engine needs from the outside world (card reader,
// printer, acquirer host, store, clock) and the one-active-transaction state
// machine that drives sales, pre-auths, completions, refunds and batches.
//
// Packages below daemon/ implement these interfaces for one outside
// dependency each: daemon/api (HTTP), daemon/store (bbolt), daemon/sim
// (simulated devices), and later the serial and ISO 8583 drivers.
package daemon

import (
	"time"
)

// Kind is the kind of a transaction.
type Kind string

// The transaction kinds the engine runs.
const (
	KindSale       Kind = "sale"
	KindPreauth    Kind = "preauth"
	KindCompletion Kind = "completion"
	KindRefund     Kind = "refund"
)

// Captures reports whether approved transactions of this kind capture funds
// and so join the open batch with a positive sign.
func (k Kind) Captures() bool { return k == KindSale || k == KindCompletion }

// Status is where a transaction stands.
type Status string

// Transaction statuses. Pending is the only non-final one.
const (
	StatusPending   Status = "pending"
	StatusApproved  Status = "approved"
	StatusDeclined  Status = "declined"
	StatusCancelled Status = "cancelled"
	StatusFailed    Status = "failed"
)

// Stage is the step an active transaction is in; status shows it to the ECR.
type Stage string

// Transaction stages, in order.
const (
	StageWaitingForCard Stage = "waiting_for_card"
	StageReadingCard    Stage = "reading_card"
	StageAuthorising    Stage = "authorising"
	StageCompleting     Stage = "completing"
	StagePrinting       Stage = "printing"
	StageDone           Stage = "done"
)

// Entry methods, as the API names them.
const (
	EntryChip        = "chip"
	EntryContactless = "contactless"
	EntrySwipe       = "swipe"
)

// CardInfo is what may be kept about a card: never the full PAN, track data,
// CVV or PIN.
type CardInfo struct {
	MaskedPAN         string `json:"maskedPan"`
	Scheme            string `json:"scheme"`
	EntryMethod       string `json:"entryMethod"`
	CardholderName    string `json:"cardholderName,omitempty"`
	AID               string `json:"aid,omitempty"`
	ApplicationLabel  string `json:"applicationLabel,omitempty"`
	TVR               string `json:"tvr,omitempty"`
	TSI               string `json:"tsi,omitempty"`
	Cryptogram        string `json:"cryptogram,omitempty"`
	ATC               string `json:"atc,omitempty"`
	SignatureRequired bool   `json:"signatureRequired,omitempty"`
	PINVerified       bool   `json:"pinVerified,omitempty"`
}

// Receipts are a transaction's receipt, laid out once when it finished
// (see BuildReceipts): the documents are what the printer prints and
// reprints, and the texts (receiptData) are rendered from them. The store
// keeps the Source and lays the documents out again when it reads the
// record; records written before that hold the documents, or only the
// texts (see receipt.go).
type Receipts struct {
	Merchant          string
	Customer          string
	SignatureRequired bool
	MerchantDocument  *Document
	CustomerDocument  *Document
	// Source is what the documents were laid out from; nil for records
	// that hold their documents or texts.
	Source *ReceiptSource
}

// Transaction is one payment, as stored. It holds no sensitive card data.
type Transaction struct {
	ID        string `json:"id"`
	Kind      Kind   `json:"kind"`
	Reference string `json:"reference"`
	Status    Status `json:"status"`
	Stage     Stage  `json:"stage"`

	Amount    int64  `json:"amount"`
	TipAmount int64  `json:"tipAmount,omitempty"`
	Currency  string `json:"currency"`

	OriginalID        string `json:"originalId,omitempty"`
	OriginalReference string `json:"originalReference,omitempty"`
	// OriginalKind is the kind of transaction a void cancelled.
	OriginalKind Kind `json:"originalKind,omitempty"`

	Card *CardInfo `json:"card,omitempty"`

	AuthCode      string `json:"authCode,omitempty"`
	HostReference string `json:"hostReference,omitempty"`
	ResponseCode  string `json:"responseCode,omitempty"`
	// HostMessage is how the transaction's request went out to the host
	// (MTI, STAN, transmission time, institution IDs): what a reversal,
	// completion or refund of it quotes in field 90.
	HostMessage *HostMessage `json:"hostMessage,omitempty"`

	DeclineCode    string `json:"declineCode,omitempty"`
	DeclineMessage string `json:"declineMessage,omitempty"`
	ErrorCode      string `json:"errorCode,omitempty"`
	ErrorMessage   string `json:"errorMessage,omitempty"`

	StartedAt   time.Time `json:"startedAt"`
	CompletedAt time.Time `json:"completedAt,omitempty"`

	// Pre-auth bookkeeping.
	ExpiresAt      time.Time `json:"expiresAt,omitempty"`
	CompletionID   string    `json:"completionId,omitempty"`
	CapturedAmount int64     `json:"capturedAmount,omitempty"`
	// IncrementedAmount is the sum of a pre-auth's approved increments:
	// it holds Amount plus this. HoldEnd is set (HoldReleased or
	// HoldExpired) when the hold was given back, at ReleasedAt, by the
	// release ReleaseID (none when it expired). On an increment,
	// HeldAmount is the pre-auth's hold after it (see preauth.go).
	IncrementedAmount int64     `json:"incrementedAmount,omitempty"`
	HoldEnd           HoldState `json:"holdEnd,omitempty"`
	ReleasedAt        time.Time `json:"releasedAt,omitempty"`
	ReleaseID         string    `json:"releaseId,omitempty"`
	HeldAmount        int64     `json:"heldAmount,omitempty"`

	// RefundedAmount is the sum of approved refunds against a capture.
	RefundedAmount int64 `json:"refundedAmount,omitempty"`

	BatchID string `json:"batchId,omitempty"`

	// ECRID is the credential whose request started the transaction
	// (ECRFrom of the request's context); empty when the terminal
	// started it or the record predates credentials.
	ECRID string `json:"ecrId,omitempty"`

	Receipts       *Receipts `json:"receipts,omitempty"`
	PrintReceipt   bool      `json:"printReceipt,omitempty"`
	ReceiptPrinted bool      `json:"receiptPrinted,omitempty"`
	PrinterError   string    `json:"printerError,omitempty"`

	// ReversalPending is set while a reversal for this transaction waits
	// to be acknowledged by the host.
	ReversalPending bool `json:"reversalPending,omitempty"`
	// ReversalICC is the card's final chip data when the card refused
	// the host's approval (AAC at the second GENERATE AC): the reversal
	// carries it, also when it is retried from the queue after a
	// restart. It holds no PAN or track data.
	ReversalICC []byte `json:"reversalIcc,omitempty"`

	// Offline is set on a chip sale the card approved offline while the
	// host was unreachable. AdviceICC is the card's final chip data (the
	// TC of an offline or a contact online approval, with the issuer
	// script results 9F5B when scripts ran) for the advice and the batch
	// upload: it holds no PAN or track data. AdvicePending until the host
	// acknowledged the advice: an offline approval's, or the TC advice
	// that takes an online approval's issuer script results to the host.
	Offline       bool   `json:"offline,omitempty"`
	AdvicePending bool   `json:"advicePending,omitempty"`
	AdviceICC     []byte `json:"adviceIcc,omitempty"`
	// AdviceRejected is set when the host refused the advice for good.
	AdviceRejected bool `json:"adviceRejected,omitempty"`
}

// TotalAmount is the amount plus the tip: what the card is charged.
func (t *Transaction) TotalAmount() int64 { return t.Amount + t.TipAmount }

// Final reports whether the transaction has reached a final status.
func (t *Transaction) Final() bool { return t.Status != StatusPending }

// BatchStatus is open, settling or closed.
type BatchStatus string

// Batch statuses. A batch is settling from the moment its totals may have
// reached the host until the host confirmed them: nothing joins it any
// more, and every retry sends the very same totals under the same batch
// number.
const (
	BatchOpen     BatchStatus = "open"
	BatchSettling BatchStatus = "settling"
	BatchClosed   BatchStatus = "closed"
)

// Batch is a settlement batch: the approved captures and refunds since the
// previous close. Totals are kept as transactions join, so closing needs no
// scan.
type Batch struct {
	ID               string      `json:"id"`
	Reference        string      `json:"reference,omitempty"`
	Status           BatchStatus `json:"status"`
	Currency         string      `json:"currency"`
	OpenedAt         time.Time   `json:"openedAt"`
	ClosedAt         time.Time   `json:"closedAt,omitempty"`
	SaleCount        int64       `json:"saleCount"`
	SaleAmount       int64       `json:"saleAmount"`
	CompletionCount  int64       `json:"completionCount"`
	CompletionAmount int64       `json:"completionAmount"`
	RefundCount      int64       `json:"refundCount"`
	RefundAmount     int64       `json:"refundAmount"`
	// Automatic is set when the daily schedule closed the batch.
	Automatic bool `json:"automatic,omitempty"`
	// HostBatch is the acquirer batch number (ISO 8583 field 60) the batch
	// settles under, fixed when settlement begins; 0 while open.
	HostBatch uint32 `json:"hostBatch,omitempty"`
	// Schemes holds count and net amount per card scheme.
	Schemes map[string]*SchemeTotal `json:"schemes,omitempty"`
}

// SchemeTotal is a batch's count, net amount (refunds subtract) and gross
// amount (every transaction adds) for one card scheme.
type SchemeTotal struct {
	Count  int64 `json:"count"`
	Amount int64 `json:"amount"`
	Gross  int64 `json:"gross,omitempty"`
}

// TransactionCount is the number of transactions in the batch.
func (b *Batch) TransactionCount() int64 {
	return b.SaleCount + b.CompletionCount + b.RefundCount
}

// TotalAmount is captures minus refunds.
func (b *Batch) TotalAmount() int64 {
	return b.SaleAmount + b.CompletionAmount - b.RefundAmount
}

// Add books an approved transaction into the batch totals.
func (b *Batch) Add(t *Transaction) {
	total := t.TotalAmount()
	signed := total
	switch t.Kind {
	case KindSale:
		b.SaleCount++
		b.SaleAmount += total
	case KindCompletion:
		b.CompletionCount++
		b.CompletionAmount += total
	case KindRefund:
		b.RefundCount++
		b.RefundAmount += total
		signed = -total
	default:
		return
	}
	scheme := "unknown"
	if t.Card != nil && t.Card.Scheme != "" {
		scheme = t.Card.Scheme
	}
	if b.Schemes == nil {
		b.Schemes = map[string]*SchemeTotal{}
	}
	s := b.Schemes[scheme]
	if s == nil {
		s = &SchemeTotal{}
		b.Schemes[scheme] = s
	}
	s.Count++
	s.Amount += signed
	s.Gross += total
}

// Clock tells the time. The simulator's clock can be moved forward.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns the current time in UTC.
func (SystemClock) Now() time.Time { return time.Now().UTC() }
