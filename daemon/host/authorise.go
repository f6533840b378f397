package host

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/money"
)

// ErrInvalidRequest wraps a request the client refuses to send; nothing
// left the terminal.
var ErrInvalidRequest = errors.New("host: invalid request")

// Authorise sends a sale (0200), refund (0200, processing code 20),
// pre-authorisation (0100), incremental authorisation (0100 with the
// pre-auth's data, see IsIncrement) or completion (0220) and maps the
// answer.
//
// A decline is an AuthResponse with Approved false and no error. Response
// codes 91 and 96 (issuer or host unavailable) return the filled response
// and an error wrapping daemon.ErrHostUnreachable: nothing was charged and
// the request may be tried again. No answer means daemon.ErrOutcomeUnknown.
func (c *Client) Authorise(ctx context.Context, req daemon.AuthRequest) (daemon.AuthResponse, error) {
	mti, proc, cond, err := authKind(req)
	if err != nil {
		return daemon.AuthResponse{}, err
	}
	if req.Amount <= 0 || req.Amount > 999_999_999_999 {
		return daemon.AuthResponse{}, fmt.Errorf("%w: amount %d", ErrInvalidRequest, req.Amount)
	}
	if req.TransactionID == "" || len(req.TransactionID) > 32 {
		return daemon.AuthResponse{}, fmt.Errorf("%w: transaction ID %q", ErrInvalidRequest, req.TransactionID)
	}
	currency, err := money.Numeric(req.Currency)
	if err != nil {
		return daemon.AuthResponse{}, fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	if c := req.Card; c != nil && c.PAN != "" && (len(c.PAN) < 12 || len(c.PAN) > 19 || !isDigits(c.PAN)) {
		return daemon.AuthResponse{}, fmt.Errorf("%w: card number of %d characters", ErrInvalidRequest, len(c.PAN))
	}
	var rrn, authCode string
	if o := req.Original; o != nil {
		var ok1, ok2 bool
		rrn, ok1 = fit(o.HostReference, 12)
		authCode, ok2 = fit(o.AuthCode, 6)
		if !ok1 || !ok2 {
			return daemon.AuthResponse{}, fmt.Errorf("%w: original host reference %q or auth code %q too long",
				ErrInvalidRequest, o.HostReference, o.AuthCode)
		}
	}
	stan, err := c.nextSTAN()
	if err != nil {
		return daemon.AuthResponse{}, err
	}
	batch, err := c.openBatch()
	if err != nil {
		return daemon.AuthResponse{}, err
	}
	now := time.Now()
	local := req.Time.Local()
	if req.Time.IsZero() {
		local = now
	}
	f := c.header(mti, stan, now)
	f.ProcessingCode = proc
	f.Amount = fmt.Sprintf("%012d", req.Amount)
	f.LocalTime, f.LocalDate = local.Format("150405"), local.Format("0102")
	f.ConditionCode = cond
	f.MerchantID = c.cfg.MerchantID
	f.Currency = currency
	f.Batch = batch
	f.TransactionID = req.TransactionID
	if req.Card != nil {
		cardFields(f, req.Card)
	}
	if o := req.Original; o != nil {
		f.RRN, f.AuthCode = rrn, authCode
		orig := c.sent.original(o.TransactionID, originalMTI(o.Kind))
		f.Original = &orig
	}
	c.sent.sent(req.TransactionID, OriginalData{MTI: mti, STAN: stan, TransmissionTime: f.TransmissionTime,
		Acquirer: "00000000000", Forwarder: "00000000000"})

	resp, err := c.roundTrip(ctx, f)
	if err != nil {
		return daemon.AuthResponse{}, err
	}
	out := daemon.AuthResponse{
		ResponseCode: resp.ResponseCode,
		IssuerData:   resp.ICC,
	}
	if resp.ResponseCode == RCApproved {
		out.Approved = true
		out.AuthCode = strings.TrimSpace(resp.AuthCode)
		out.HostReference = strings.TrimSpace(resp.RRN)
		return out, nil
	}
	d := DeclineFor(resp.ResponseCode)
	out.DeclineCode, out.DeclineMessage = d.Code, d.Message
	c.log.Info().Str("mti", mti).Str("stan", stan).Str("responseCode", resp.ResponseCode).
		Str("declineCode", d.Code).Msg("host declined")
	if d.RetrySafe {
		return out, fmt.Errorf("%w: host answered %s (%s)", daemon.ErrHostUnreachable, resp.ResponseCode, d.Message)
	}
	return out, nil
}

// authKind picks MTI, processing code and POS condition code for a
// transaction kind, and checks the kind's required parts.
func authKind(req daemon.AuthRequest) (mti, proc, cond string, err error) {
	switch req.Kind {
	case daemon.KindSale:
		mti, proc, cond = MTIFinancialRequest, ProcPurchase, ConditionNormal
	case daemon.KindPreauth:
		mti, proc, cond = MTIAuthRequest, ProcPurchase, ConditionPreauth
	case daemon.KindRefund:
		mti, proc, cond = MTIFinancialRequest, ProcRefund, ConditionNormal
	case daemon.KindCompletion:
		mti, proc, cond = MTIAdvice, ProcPurchase, ConditionPreauth
	case daemon.KindIncrement:
		mti, proc, cond = MTIAuthRequest, ProcPurchase, ConditionPreauth
	default:
		return "", "", "", fmt.Errorf("%w: kind %q", ErrInvalidRequest, req.Kind)
	}
	switch {
	case (req.Kind == daemon.KindSale || req.Kind == daemon.KindPreauth) && (req.Card == nil || req.Card.PAN == ""):
		return "", "", "", fmt.Errorf("%w: %s needs card data", ErrInvalidRequest, req.Kind)
	case (req.Kind == daemon.KindRefund || req.Kind == daemon.KindCompletion || req.Kind == daemon.KindIncrement) &&
		(req.Original == nil || req.Original.HostReference == ""):
		return "", "", "", fmt.Errorf("%w: %s needs the original's host reference", ErrInvalidRequest, req.Kind)
	}
	return mti, proc, cond, nil
}

// originalMTI is the MTI a transaction of kind went out with.
func originalMTI(k daemon.Kind) string {
	switch k {
	case daemon.KindPreauth, daemon.KindIncrement:
		return MTIAuthRequest
	case daemon.KindCompletion:
		return MTIAdvice
	}
	return MTIFinancialRequest
}

// cardFields copies the card's data into the request. Only the host sees
// them; nothing here is logged. A swiped card sends its track 2 (field 35)
// and entry mode 901, or 801 when it was swiped because its chip failed.
func cardFields(f *Fields, card *daemon.CardData) {
	f.PAN = card.PAN
	if len(card.ExpiryYYMM) == 4 && isDigits(card.ExpiryYYMM) {
		f.Expiry = card.ExpiryYYMM
	}
	f.EntryMode = entryMode(card.Info.EntryMethod)
	if card.Info.EntryMethod == daemon.EntrySwipe {
		if card.Fallback {
			f.EntryMode = "801"
		}
		if t := card.Track2; t != "" && len(t) <= 37 {
			f.Track2 = t
		}
	}
	if s := card.CardSequenceNo; s != "" && len(s) <= 3 && isDigits(s) {
		f.CardSequence = strings.Repeat("0", 3-len(s)) + s
	}
	if len(card.PINBlock) == 8 {
		f.PINBlock = card.PINBlock
		if len(card.KSN) > 0 {
			f.KSN = card.KSN
		}
	}
	if len(card.ICCData) > 0 {
		f.ICC = card.ICCData
	}
}

// entryMode is field 22: how the PAN was read, and that the terminal can
// take an online PIN.
func entryMode(method string) string {
	switch method {
	case daemon.EntryChip:
		return "051"
	case daemon.EntryContactless:
		return "071"
	case daemon.EntrySwipe:
		return "901"
	}
	return "011"
}

// fit right-pads v with spaces to n characters; an empty v stays empty.
func fit(v string, n int) (string, bool) {
	if v == "" {
		return "", true
	}
	if len(v) > n {
		return "", false
	}
	return v + strings.Repeat(" ", n-len(v)), true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
