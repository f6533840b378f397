package daemon

import (
	"context"
	"errors"
	"time"
)

// CardRequest tells the reader what to show the cardholder.
type CardRequest struct {
	Kind     Kind
	Amount   int64 // total, in minor units
	Currency string
	// TransactionID lets a reader log which transaction it serves.
	TransactionID string
	// Wait, when set, is told by the card session when it waits for a
	// card again after one was presented (a tapped card the reader sends
	// to the chip), so the ECR can cancel that wait as it can the first.
	Wait CardWait
}

// CardWait is how a card session tells the engine that, after a card was
// presented, the reader waits for a card again before any card data was
// read for the host (a tapped card that must be inserted). While it
// waits the transaction is at StageWaitingForCard and the ECR may cancel
// it.
type CardWait interface {
	// WaitingForCard marks the transaction as waiting for a card; the
	// context it returns (derived from ctx) ends when the ECR cancels.
	// stop releases it once the wait is over.
	WaitingForCard(ctx context.Context) (waitCtx context.Context, stop context.CancelFunc)
	// CardPresented marks the card as presented again: from then on
	// cancel is refused. It reports false when the ECR cancelled first;
	// the card must then not be read.
	CardPresented() bool
}

// CardData is what the reader returns once the card has been read. The full
// PAN, the track 2 data, the PIN block and the chip data live in memory
// only, for the host request; they are never stored or logged (see Info).
// String and GoString leave them out.
type CardData struct {
	PAN        string
	ExpiryYYMM string
	// Track2 is the magnetic stripe's track 2 as read ("PAN=YYMMSSS…",
	// without sentinels) when the card was swiped; the host request carries
	// it (field 35). Memory only.
	Track2 string
	// Fallback: the card was swiped after its chip could not be read.
	Fallback       bool
	Info           CardInfo
	ICCData        []byte // tag 55 set for the host, chip and contactless
	PINBlock       []byte // encrypted online PIN block, when the card asked for it
	KSN            []byte // DUKPT key serial number for PINBlock
	CardSequenceNo string
}

// String describes the card without its secrets.
func (c CardData) String() string {
	return "CardData{" + c.Info.MaskedPAN + " " + c.Info.EntryMethod + "}"
}

// GoString is String: %#v must not print the card's secrets either.
func (c CardData) GoString() string { return c.String() }

// CardReader is the card reader / PIN pad. Detect shows the amount and waits
// until a card is presented; it returns ctx.Err() when ctx ends first (a
// cancel or the card timeout).
type CardReader interface {
	Detect(ctx context.Context, req CardRequest) (CardSession, error)
}

// CardSession is one card presented to the reader. Read runs the card's part
// up to the online request; Complete hands the card the host's answer (the
// second GENERATE AC on a chip card) and reports whether the card accepts it;
// Close ends the session (power off, "remove card").
type CardSession interface {
	Read(ctx context.Context) (CardData, error)
	Complete(ctx context.Context, answer AuthResponse) (bool, error)
	Close() error
}

// HostMessage is how the acquirer host knows a request the terminal sent:
// its message type, trace number and transmission time, and the
// institutions it went through. A later reversal, completion or refund
// quotes it (ISO 8583 field 90), so it is stored with the transaction and
// survives restarts. None of it is sensitive.
type HostMessage struct {
	// MTI is the request's message type indicator (e.g. 0100, 0200).
	MTI string `json:"mti,omitempty"`
	// STAN is the system trace audit number it went out with (field 11).
	STAN string `json:"stan,omitempty"`
	// TransmissionTime is its transmission date and time (field 7,
	// MMDDhhmmss, UTC).
	TransmissionTime string `json:"transmissionTime,omitempty"`
	// AcquirerID and ForwarderID are the acquiring and forwarding
	// institution IDs (11 digits each).
	AcquirerID  string `json:"acquirerId,omitempty"`
	ForwarderID string `json:"forwarderId,omitempty"`
}

// Known reports whether m names a request that went out (it has a STAN).
func (m *HostMessage) Known() bool { return m != nil && m.MTI != "" && m.STAN != "" }

// HostOriginal identifies, at the host, the transaction a refund or a
// completion refers to.
type HostOriginal struct {
	TransactionID string
	AuthCode      string
	HostReference string
	Amount        int64
	Kind          Kind
	// Message is how the original's request went out; nil when it is not
	// known (a record written before it was stored).
	Message *HostMessage
}

// AuthRequest is one authorisation (sale, pre-auth), capture (completion) or
// refund sent to the acquirer host.
type AuthRequest struct {
	Kind          Kind
	TransactionID string
	Reference     string
	Amount        int64 // total in minor units
	Currency      string
	Card          *CardData     // nil for completion and card-not-present refund
	Original      *HostOriginal // for completion and refund
	Time          time.Time
}

// AuthResponse is the host's answer.
type AuthResponse struct {
	Approved       bool
	ResponseCode   string
	AuthCode       string
	HostReference  string
	DeclineCode    string
	DeclineMessage string
	IssuerData     []byte // issuer authentication data and scripts for the card
	// Unreachable tells the card that no answer came from the host, so it
	// may approve offline (TC) or decline (AAC).
	Unreachable bool
	// Sent is how the request went out, set whenever it may have reached
	// the host: with an answer, and with an error wrapping
	// ErrOutcomeUnknown too. The engine stores it with the transaction for
	// the reversal, completion or refund that may follow.
	Sent *HostMessage
}

// ReversalRequest cancels, at the host, an authorisation whose outcome was
// lost or that the card refused after the host approved it.
type ReversalRequest struct {
	TransactionID string
	Kind          Kind
	Amount        int64
	Currency      string
	HostReference string
	// AuthCode is the original's approval code, when it was approved.
	AuthCode string
	// Original is how the original's request went out; nil when it is not
	// known (the terminal stopped before it learnt it).
	Original *HostMessage
	Reason   string
	// ICCData is the card's final chip data when the card refused the
	// host's approval (the AAC of the second GENERATE AC, the final TVR,
	// the issuer script results 9F5B when scripts ran): field 55 of the
	// reversal. It holds no PAN or track data; nil for other reversals.
	ICCData []byte
}

// AdviceRequest forwards to the host a chip transaction's final chip data
// (the TC of the last GENERATE AC, and the issuer script results 9F5B):
// an offline approval the host has never seen, or the completion of an
// online approval (HostReference set) whose answer carried issuer
// scripts.
type AdviceRequest struct {
	TransactionID string
	Reference     string
	Amount        int64 // total, minor units
	Currency      string
	AuthCode      string
	Card          CardInfo // masked data only
	ICCData       []byte   // final chip data (TC, 9F5B); no PAN or track data
	Time          time.Time
	// HostReference is the RRN of the online approval the advice
	// completes; empty for an offline approval. Kind (a sale or a
	// pre-auth) and Original (how its request went out) are then the
	// approval's.
	HostReference string
	Kind          Kind
	Original      *HostMessage
}

// Online reports whether the advice completes an approval the host gave
// online (a script results advice) rather than forwarding an offline one.
func (r AdviceRequest) Online() bool { return r.HostReference != "" }

// BatchUploadRequest sends, after the host answered that totals differ,
// every transaction of the batch so the host can reconcile it.
type BatchUploadRequest struct {
	Batch        *Batch
	Transactions []*Transaction // the batch's approved captures and refunds
}

// ErrTotalsMismatch means the host's totals for the batch differ from the
// terminal's (ISO 8583 response 95): nothing was settled.
var ErrTotalsMismatch = errors.New("settlement totals differ from the host's")

// SettlementRequest carries a batch's totals to the host.
type SettlementRequest struct {
	Batch *Batch
}

// Host is the acquirer link.
type Host interface {
	Authorise(ctx context.Context, req AuthRequest) (AuthResponse, error)
	Reverse(ctx context.Context, req ReversalRequest) error
	Settle(ctx context.Context, req SettlementRequest) error
	// Advise forwards an offline approval; a repeat must be booked once.
	Advise(ctx context.Context, req AdviceRequest) error
}

// BatchUploader is a Host that can upload a batch after Settle answered
// ErrTotalsMismatch; Settle is then repeated.
type BatchUploader interface {
	UploadBatch(ctx context.Context, req BatchUploadRequest) error
}

// ErrHostUnreachable means the request never left: nothing can have been
// charged.
var ErrHostUnreachable = errors.New("acquirer host unreachable")

// ErrNoCard means no card was presented while the reader prompted for
// one.
var ErrNoCard = errors.New("no card presented")

// ErrCardholderCancelled means the cardholder pressed cancel (or bypassed
// a required PIN) at the reader.
var ErrCardholderCancelled = errors.New("cancelled by the cardholder")

// ErrDeclinedByCard means the card itself declined (an AAC) before the host
// was asked; Read still returns what the receipt needs.
var ErrDeclinedByCard = errors.New("declined by the card")

// ErrOutcomeUnknown means the request left but no answer came back: the
// authorisation must be reversed.
var ErrOutcomeUnknown = errors.New("acquirer host did not answer")

// PrinterState is what the printer reports.
type PrinterState string

// Printer states.
const (
	PrinterReady       PrinterState = "ready"
	PrinterPaperOut    PrinterState = "paper_out"
	PrinterPaperLow    PrinterState = "paper_near_end"
	PrinterCoverOpen   PrinterState = "cover_open"
	PrinterOffline     PrinterState = "offline"
	PrinterUnavailable PrinterState = "unavailable"
)

// PrinterStatus is the printer's state with a human-readable detail.
type PrinterStatus struct {
	State   PrinterState `json:"state"`
	Message string       `json:"message,omitempty"`
}

// Printer is the terminal's thermal printer. Print returns an error that
// says why the document was not printed (paper out, cover open, offline).
// Status may wait for the serial line and for a running job: the engine
// asks it in the background and after each job, never while answering a
// status request.
type Printer interface {
	Print(ctx context.Context, doc Document) error
	Status(ctx context.Context) PrinterStatus
}
