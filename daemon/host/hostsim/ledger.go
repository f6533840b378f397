package hostsim

import (
	"slices"
	"time"

	"github.com/vinr/cashlessd/daemon/host"
)

// Ledger is what the simulated host has booked. A snapshot from
// Server.Ledger or ReadLedger is a copy the caller may keep.
type Ledger struct {
	Approvals   []Approval   `json:"approvals"`
	Reversals   []Reversal   `json:"reversals"`
	Settlements []Settlement `json:"settlements"`
	// Sequence numbers the retrieval reference numbers handed out.
	Sequence uint64 `json:"sequence"`
}

// Approval is one approved sale (online, or offline from an advice),
// pre-authorisation, completion or refund.
type Approval struct {
	Kind       string `json:"kind"`
	MTI        string `json:"mti"`
	TerminalID string `json:"terminalId"`
	MerchantID string `json:"merchantId"`
	STAN       string `json:"stan"`
	// TransmissionTime is field 7 of the request it was booked from:
	// with MTI and STAN, what a completion, refund or reversal of it
	// quotes in field 90.
	TransmissionTime string `json:"transmissionTime,omitempty"`
	TransactionID    string `json:"transactionId,omitempty"`
	RRN              string `json:"rrn"`
	AuthCode         string `json:"authCode"`
	MaskedPAN        string `json:"maskedPan,omitempty"`
	Amount           int64  `json:"amount"`
	Currency         string `json:"currency"`
	Batch            string `json:"batch"`
	// OriginalRRN is the pre-auth a completion captures or an increment
	// raises, or the capture a refund pays back.
	OriginalRRN string    `json:"originalRrn,omitempty"`
	ApprovedAt  time.Time `json:"approvedAt"`
	// Offline marks a sale the card approved offline, booked from the
	// terminal's advice (0220/0221): AuthCode is the terminal's, there is
	// no MaskedPAN (an advice carries no card number), and ApprovedAt is
	// when the advice arrived.
	Offline bool `json:"offline,omitempty"`
	// ScriptResults is the issuer script results (9F5B, hex) of the card's
	// final chip data, as the terminal reported them in a TC advice or a
	// batch upload (0320, field 55): five bytes per script the approval's
	// answer carried. The first report is kept.
	ScriptResults string `json:"scriptResults,omitempty"`

	Reversed   bool       `json:"reversed,omitempty"`
	ReversedAt *time.Time `json:"reversedAt,omitempty"`
	// Incremented is the sum of a pre-auth's approved, unreversed
	// increments (see Held).
	Incremented int64 `json:"incremented,omitempty"`
	// CompletedBy is the RRN of the completion of a pre-auth.
	CompletedBy string `json:"completedBy,omitempty"`
	// Refunded is the sum of approved refunds of a capture.
	Refunded int64 `json:"refunded,omitempty"`
	// Uploaded marks an approval the terminal delivered in a batch upload
	// (0320) of Batch: booked from it (MTI 0320) when the host did not
	// have it, or found by terminal and transaction ID. The settlement
	// after the upload (0500, 960000) settles the uploaded approvals.
	Uploaded   bool       `json:"uploaded,omitempty"`
	UploadedAt *time.Time `json:"uploadedAt,omitempty"`
	Settled    bool       `json:"settled,omitempty"`
	SettledAt  *time.Time `json:"settledAt,omitempty"`
}

// Counts reports whether the approval joins its batch's totals, and as
// which side.
func (a *Approval) Counts() (capture, refund bool) {
	if a.Reversed {
		return false, false
	}
	return a.Kind == kindSale || a.Kind == kindCompletion, a.Kind == kindRefund
}

// Reversal is one reversal that cancelled an approval. Reversals of
// unknown or already reversed originals are acknowledged but not recorded.
type Reversal struct {
	TerminalID    string    `json:"terminalId"`
	MTI           string    `json:"mti"`
	STAN          string    `json:"stan"`
	TransactionID string    `json:"transactionId,omitempty"`
	RRN           string    `json:"rrn"`
	Amount        int64     `json:"amount"`
	ReceivedAt    time.Time `json:"receivedAt"`
	// Cryptogram, TVR and ScriptResults are from the card's final chip
	// data (55) the reversal carried because the card refused the
	// approval: the cryptogram's type (AAC), the final TVR (95) and the
	// issuer script results (9F5B), hex; empty for a reversal without
	// chip data.
	Cryptogram    string `json:"cryptogram,omitempty"`
	TVR           string `json:"tvr,omitempty"`
	ScriptResults string `json:"scriptResults,omitempty"`
}

// Settlement is one settlement request and the host's answer: 00 when the
// totals agreed and the batch was settled, 95 when they did not.
type Settlement struct {
	TerminalID   string           `json:"terminalId"`
	MerchantID   string           `json:"merchantId"`
	Batch        string           `json:"batch"`
	Terminal     host.BatchTotals `json:"terminalTotals"`
	Host         host.BatchTotals `json:"hostTotals"`
	ResponseCode string           `json:"responseCode"`
	At           time.Time        `json:"at"`
	// AfterUpload marks the settlement after a batch upload (processing
	// code 960000): Host then holds the totals of the uploaded approvals.
	AfterUpload bool `json:"afterUpload,omitempty"`
	// Excluded lists the host's unsettled approvals of the batch that the
	// upload did not contain (transaction ID, or RRN when it has none):
	// a settlement after upload leaves them unsettled.
	Excluded []string `json:"excluded,omitempty"`
}

// clone returns a deep copy of l.
func (l *Ledger) clone() Ledger {
	c := Ledger{
		Approvals:   slices.Clone(l.Approvals),
		Reversals:   slices.Clone(l.Reversals),
		Settlements: slices.Clone(l.Settlements),
		Sequence:    l.Sequence,
	}
	for i := range c.Approvals {
		c.Approvals[i] = cloneApproval(c.Approvals[i])
	}
	for i := range c.Settlements {
		c.Settlements[i].Excluded = slices.Clone(c.Settlements[i].Excluded)
	}
	return c
}

// cloneApproval returns a deep copy of a.
func cloneApproval(a Approval) Approval {
	a.ReversedAt = cloneTime(a.ReversedAt)
	a.UploadedAt = cloneTime(a.UploadedAt)
	a.SettledAt = cloneTime(a.SettledAt)
	return a
}

func cloneTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := *t
	return &v
}
