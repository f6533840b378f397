package wire

// Paths of void and the X-report.
const (
	PathVoid        = "/cashless/v1/void"
	PathBatchTotals = "/cashless/v1/batch/totals"
)

// VoidRequest cancels an approved sale, completion or refund that is still
// in the open batch, without a card; the reference is the void's own
// idempotency key.
type VoidRequest struct {
	OriginalReference *string `json:"originalReference,omitempty"`
	Reference         *string `json:"reference,omitempty"`
	PrintReceipt      *bool   `json:"printReceipt,omitempty"`
}

// BatchTotalsRequest asks for the open batch's totals (an X-report),
// printed when Print is true.
type BatchTotalsRequest struct {
	Print *bool `json:"print,omitempty"`
}

// BatchReport is the answer of batch/totals: the open batch's totals in
// the shape of a batch close's answer, with the report's text and whether
// it was printed.
type BatchReport struct {
	Status           string               `json:"status"`
	BatchID          string               `json:"batchId,omitempty"`
	TransactionCount int64                `json:"transactionCount"`
	TotalAmount      int64                `json:"totalAmount"`
	GrossAmount      int64                `json:"grossAmount"`
	NetAmount        int64                `json:"netAmount"`
	Currency         string               `json:"currency"`
	OpenedAt         string               `json:"openedAt,omitempty"`
	ReportedAt       string               `json:"reportedAt"`
	Totals           BatchTotals          `json:"totals"`
	Schemes          map[string]KindTotal `json:"schemes,omitempty"`
	ReportText       string               `json:"reportText"`
	ReportPrinted    *bool                `json:"reportPrinted,omitempty"`
	PrinterError     string               `json:"printerError,omitempty"`
}
