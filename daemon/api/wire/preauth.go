package wire

// Paths of the pre-auth lifecycle after the pre-auth (PathPreauth) and
// besides its completion (PathComplete).
const (
	PathPreauthIncrement = "/cashless/v1/preauth/increment"
	PathPreauthRelease   = "/cashless/v1/preauth/release"
	PathPreauthList      = "/cashless/v1/preauth/list"
)

// IncrementRequest raises what an approved pre-auth holds by amount (minor
// units, in the pre-auth's currency); reference is the increment's own
// idempotency key.
type IncrementRequest struct {
	OriginalReference *string `json:"originalReference,omitempty"`
	Amount            *int64  `json:"amount,omitempty"`
	Reference         *string `json:"reference,omitempty"`
}

// ReleaseRequest gives an approved pre-auth's hold back to the card;
// reference is the release's own idempotency key.
type ReleaseRequest struct {
	OriginalReference *string `json:"originalReference,omitempty"`
	Reference         *string `json:"reference,omitempty"`
}

// PreauthListRequest asks for the open holds; it has no fields.
type PreauthListRequest struct{}

// HoldChange answers an increment or a release. An increment answers the
// amount it added, the pre-auth's heldAmount after it and the hold's new
// expiresAt; a release answers the amount it gave back (heldAmount 0).
// Like every transaction answer, anything but an approval carries error
// (a declined increment: 402 card_declined, the hold unchanged).
type HoldChange struct {
	Status                string `json:"status"`
	Type                  string `json:"type"`
	Reference             string `json:"reference"`
	TransactionID         string `json:"transactionId"`
	OriginalReference     string `json:"originalReference"`
	OriginalTransactionID string `json:"originalTransactionId"`
	Amount                int64  `json:"amount"`
	HeldAmount            *int64 `json:"heldAmount,omitempty"`
	Currency              string `json:"currency"`
	AuthCode              string `json:"authCode,omitempty"`
	ExpiresAt             string `json:"expiresAt,omitempty"`
	DeclineCode           string `json:"declineCode,omitempty"`
	DeclineMessage        string `json:"declineMessage,omitempty"`
	CompletedAt           string `json:"completedAt,omitempty"`
	Error                 *Error `json:"error,omitempty"`
}

// Holds is the answer to preauth/list: the pre-auths that hold funds,
// oldest first.
type Holds struct {
	Holds []Hold `json:"holds"`
}

// Hold is one pre-auth that holds funds: amount is what it first
// authorised, heldAmount what it holds now (with its increments),
// capturedAmount what was captured of it (0 while it is open). Status is
// "open", or "expired" for a hold past its expiresAt that the terminal is
// releasing.
type Hold struct {
	Reference      string `json:"reference"`
	TransactionID  string `json:"transactionId"`
	Status         string `json:"status"`
	Amount         int64  `json:"amount"`
	HeldAmount     int64  `json:"heldAmount"`
	CapturedAmount int64  `json:"capturedAmount"`
	Currency       string `json:"currency"`
	AuthCode       string `json:"authCode,omitempty"`
	CardScheme     string `json:"cardScheme,omitempty"`
	MaskedPan      string `json:"maskedPan,omitempty"`
	StartedAt      string `json:"startedAt"`
	ExpiresAt      string `json:"expiresAt"`
}
