package host

// Message type indicators.
const (
	MTIAuthRequest         = "0100"
	MTIAuthResponse        = "0110"
	MTIFinancialRequest    = "0200"
	MTIFinancialResponse   = "0210"
	MTIAdvice              = "0220"
	MTIAdviceRepeat        = "0221"
	MTIAdviceResponse      = "0230"
	MTIBatchUpload         = "0320"
	MTIBatchUploadResponse = "0330"
	MTIReversal            = "0400"
	MTIReversalRepeat      = "0401"
	MTIReversalResponse    = "0410"
	MTISettlement          = "0500"
	MTISettlementResponse  = "0510"
	MTINetwork             = "0800"
	MTINetworkResponse     = "0810"
)

// Processing codes (field 3).
const (
	ProcPurchase   = "000000"
	ProcRefund     = "200000"
	ProcSettlement = "920000"
	// ProcSettlementAfterUpload is the settlement (0500) that follows a
	// batch upload (0320): the host settles on the uploaded transactions.
	ProcSettlementAfterUpload = "960000"
)

// Network management information codes (field 70).
const (
	NetworkSignOn = "001"
	NetworkEcho   = "301"
)

// Response codes (field 39) the link uses.
const (
	RCApproved          = "00"
	RCDoNotHonour       = "05"
	RCInvalidTxn        = "12"
	RCInvalidAmount     = "13"
	RCInvalidCard       = "14"
	RCNoOriginal        = "25"
	RCFormatError       = "30"
	RCInsufficientFunds = "51"
	RCExpiredCard       = "54"
	RCIncorrectPIN      = "55"
	RCIssuerUnavailable = "91"
	RCTotalsMismatch    = "95"
	RCSystemMalfunction = "96"
	// In an offline advice (0220/0221) field 39 carries the terminal's own
	// authorisation response code (the EMV ARC): Y3 approved offline
	// because the host could not be reached, Y1 approved offline by the
	// card at the first GENERATE AC.
	RCOfflineApproved           = "Y3"
	RCOfflineApprovedFirstGenAC = "Y1"
)

// Point of service condition codes (field 25).
const (
	ConditionNormal  = "00"
	ConditionPreauth = "06"
)

// ResponseMTI is the MTI of the answer to a request MTI ("0200" → "0210";
// a repeat "0401" is answered by "0410").
func ResponseMTI(request string) string {
	if len(request) != 4 {
		return ""
	}
	return request[:2] + string(request[2]+1) + "0"
}

// Decline is what the engine reports for a response code that is not an
// approval.
type Decline struct {
	// Code is the API's declineCode.
	Code string
	// Message is a short text for the cardholder and the receipt.
	Message string
	// RetrySafe is set when the host did not decide at all (issuer
	// unavailable, system malfunction): nothing was charged and the same
	// request may simply be tried again.
	RetrySafe bool
}

// DeclineFor maps a response code other than "00" to the API's declineCode.
func DeclineFor(rc string) Decline {
	switch rc {
	case RCInsufficientFunds:
		return Decline{Code: "insufficient_funds", Message: "Insufficient funds"}
	case RCExpiredCard:
		return Decline{Code: "expired_card", Message: "Card expired"}
	case RCIncorrectPIN:
		return Decline{Code: "incorrect_pin", Message: "Incorrect PIN"}
	case RCIssuerUnavailable, RCSystemMalfunction:
		return Decline{Code: "communication_error", Message: "Issuer or host unavailable, please try again", RetrySafe: true}
	}
	return Decline{Code: "card_declined", Message: "Transaction not approved"}
}
