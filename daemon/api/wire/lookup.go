package wire

// PathTransaction is the lookup: the truth about one reference or
// transaction ID, in flight or finished, any kind.
const PathTransaction = "/cashless/v1/transaction"

// LookupRequest asks about a transaction by exactly one of its reference
// or its transaction ID.
type LookupRequest struct {
	Reference     *string `json:"reference,omitempty"`
	TransactionID *string `json:"transactionId,omitempty"`
}

// ReceiptLastRequest is receipt/last's body: {} for the most recent
// receipt, or a reference for that reference's receipt only.
type ReceiptLastRequest struct {
	Reference *string `json:"reference,omitempty"`
}

// Lookup is the answer of a lookup, always HTTP 200 whatever the
// transaction's outcome: status says it ("pending" with Stage while it
// runs, then approved, declined, cancelled, failed, …). A finished
// transaction carries the same fields its own answer carried (a decline
// its declineCode and error, an approval its card and receipt); Attempts
// lists every earlier attempt under the same reference, oldest first.
type Lookup struct {
	Transaction
	Type      string `json:"type"`
	Stage     string `json:"stage,omitempty"`
	StartedAt string `json:"startedAt,omitempty"`
	// EcrID is the credential that started the transaction (a paired
	// ECR's ecrId, "shared" or "simulator"); absent when unknown.
	EcrID    string    `json:"ecrId,omitempty"`
	Attempts []Attempt `json:"attempts"`
}

// Attempt is one earlier attempt under a looked-up reference.
type Attempt struct {
	TransactionID string `json:"transactionId"`
	Type          string `json:"type"`
	Status        string `json:"status"`
	ErrorCode     string `json:"errorCode,omitempty"`
	DeclineCode   string `json:"declineCode,omitempty"`
	StartedAt     string `json:"startedAt,omitempty"`
	CompletedAt   string `json:"completedAt,omitempty"`
}
