package wire

// The live event stream: GET PathEvents with the key header answers
// text/event-stream (Server-Sent Events). Each event has an "id" (a number
// that only grows, also across restarts), an "event" line naming one of the
// Event* types and one "data" line of JSON (the type's struct below). A
// client that reconnects sends the last id it saw in LastEventIDHeader and
// gets every event after it that the terminal still holds; when it holds
// none of them any more it sends an EventGap first. Lines starting with ':'
// are keep-alive comments.
const (
	// PathEvents is the live event stream (GET, not POST).
	PathEvents = "/cashless/v1/events"
	// LastEventIDHeader carries the id of the last event a reconnecting
	// client saw.
	LastEventIDHeader = "Last-Event-ID"
	// EventStreamType is the stream's content type.
	EventStreamType = "text/event-stream"
)

// Event types of the live event stream.
const (
	// EventStage is a StageEvent: the running transaction or batch close
	// entered a stage (waiting_for_card, reading_card, authorising,
	// completing, printing, done).
	EventStage = "stage"
	// EventPrompt is a PromptEvent: what the card reader shows the
	// cardholder (present_card, insert_card, card_not_read, enter_pin).
	EventPrompt = "prompt"
	// EventOutcome is an OutcomeEvent: a transaction ended; sent before its
	// HTTP answer.
	EventOutcome = "outcome"
	// EventPrinter is a DeviceEvent: the printer's state changed.
	EventPrinter = "printer"
	// EventReader is a DeviceEvent: the card reader's state changed.
	EventReader = "reader"
	// EventBatch is a BatchEvent: a batch began settling or closed.
	EventBatch = "batch"
	// EventGap is a GapEvent: events after the client's Last-Event-ID are
	// no longer held; what follows starts at the oldest event held. It has
	// no id of its own.
	EventGap = "gap"
)

// Prompts the card reader shows, as PromptEvent names them.
const (
	PromptPresentCard = "present_card"
	PromptInsertCard  = "insert_card"
	PromptCardNotRead = "card_not_read"
	PromptEnterPIN    = "enter_pin"
)

// StageEvent is the data of EventStage.
type StageEvent struct {
	Reference     string `json:"reference"`
	TransactionID string `json:"transactionId,omitempty"`
	// Type is the transaction kind (sale, preauth, completion, refund) or
	// batch_close.
	Type  string `json:"type"`
	Stage string `json:"stage"`
	Time  string `json:"time"`
}

// PromptEvent is the data of EventPrompt. Lines is the text on the
// reader's display (the amount with a card or PIN prompt).
type PromptEvent struct {
	Reference     string   `json:"reference,omitempty"`
	TransactionID string   `json:"transactionId"`
	Prompt        string   `json:"prompt"`
	Lines         []string `json:"lines"`
	Time          string   `json:"time"`
}

// OutcomeEvent is the data of EventOutcome: the finished transaction in
// short (lookup or the call's answer has the whole of it).
type OutcomeEvent struct {
	Reference      string `json:"reference"`
	TransactionID  string `json:"transactionId"`
	Type           string `json:"type"`
	Status         string `json:"status"`
	TotalAmount    int64  `json:"totalAmount"`
	Currency       string `json:"currency"`
	DeclineCode    string `json:"declineCode,omitempty"`
	ErrorCode      string `json:"errorCode,omitempty"`
	ReceiptPrinted *bool  `json:"receiptPrinted,omitempty"`
	Time           string `json:"time"`
}

// DeviceEvent is the data of EventPrinter and EventReader.
type DeviceEvent struct {
	State   string `json:"state"`
	Message string `json:"message,omitempty"`
	Time    string `json:"time"`
}

// BatchEvent is the data of EventBatch. Status is settling (the totals
// went to the host) or closed.
type BatchEvent struct {
	Reference        string `json:"reference"`
	BatchID          string `json:"batchId"`
	Status           string `json:"status"`
	TransactionCount int64  `json:"transactionCount"`
	TotalAmount      int64  `json:"totalAmount"`
	Currency         string `json:"currency"`
	Time             string `json:"time"`
}

// GapEvent is the data of EventGap.
type GapEvent struct {
	// LastEventID is the id the client asked to resume after.
	LastEventID int64 `json:"lastEventId"`
	// OldestEventID is the oldest event still held (0: none); the stream
	// goes on from it.
	OldestEventID int64  `json:"oldestEventId"`
	Message       string `json:"message"`
	Time          string `json:"time"`
}
