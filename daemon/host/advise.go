package host

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/emv"
	"github.com/vinr/cashlessd/money"
)

// ErrAdviceRejected wraps the host's refusal of an advice: an answer other
// than 00 (booked, or a repeat of one booked) and 91/96 (try again later).
// Nothing was booked, and sending the same advice again will not change
// that: the transaction needs a person.
var ErrAdviceRejected = errors.New("host: advice rejected")

// IsOfflineAdvice tells an offline advice from a completion: both are 0220
// with processing code 000000, but a completion carries POS condition 06
// (and the pre-auth's RRN and original data elements), an advice condition
// 00 and neither. A TC advice (IsTCAdvice) is not an offline advice.
func IsOfflineAdvice(f *Fields) bool {
	return (f.MTI == MTIAdvice || f.MTI == MTIAdviceRepeat) && f.ConditionCode == ConditionNormal && !IsTCAdvice(f)
}

// IsTCAdvice tells the advice that completes an online approval — the
// card's final chip data after the second GENERATE AC (the TC and the
// issuer script results, 9F5B) — from an offline advice and a completion:
// it is the only 0220/0221 a terminal sends with 00 in field 39 (an
// offline advice carries Y3 or Y1, a completion no 39). Its POS condition
// is the approval's (00 sale, 06 pre-authorisation).
func IsTCAdvice(f *Fields) bool {
	return (f.MTI == MTIAdvice || f.MTI == MTIAdviceRepeat) && f.ResponseCode == RCApproved
}

// Advise forwards a chip transaction's final chip data (0220; 0221 when an
// earlier advice for the same transaction may have reached the host) and
// waits for the 0230: a sale the card approved offline while the host
// could not be reached (an offline advice), or, when req.Online, the
// completion of an approval the host gave online whose answer carried
// issuer scripts (a TC advice, below).
//
// The advice carries processing code 000000, POS condition 00, the amount,
// the terminal's approval code (38), the offline response code from the
// chip data's 8A (39 = Y3, or Y1), the final chip data with the TC (55),
// the batch (60) and the transaction ID (62); no PAN, RRN or original
// data. The host books it once per terminal and transaction ID, so
// repeating an advice is always safe.
//
// A TC advice carries processing code 000000, the approval's POS
// condition (00 sale, 06 pre-authorisation) and amount, its RRN (37) and
// auth code (38), 39 = 00, the final chip data (55: the TC of the second
// GENERATE AC and the issuer script results 9F5B), the batch, the
// transaction ID and the original data elements quoting the approval's
// request (90). The host records the script results on the approval it
// booked; it books nothing new, and a repeat changes nothing.
//
// nil: booked (or a repeat of one already booked). An error wrapping
// daemon.ErrHostUnreachable: not booked, send it again later (not sent,
// or the host answered 91/96). daemon.ErrOutcomeUnknown: the advice left
// but no answer came; send it again, the host books it once.
// ErrAdviceRejected: the host refused it (not booked). ErrInvalidRequest:
// nothing left; the request cannot be sent as it is.
func (c *Client) Advise(ctx context.Context, req daemon.AdviceRequest) error {
	if req.TransactionID == "" || len(req.TransactionID) > 32 {
		return fmt.Errorf("%w: transaction ID %q", ErrInvalidRequest, req.TransactionID)
	}
	if req.Amount <= 0 || req.Amount > 999_999_999_999 {
		return fmt.Errorf("%w: amount %d", ErrInvalidRequest, req.Amount)
	}
	currency, err := money.Numeric(req.Currency)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	var code string
	if req.Online() {
		code, err = RCApproved, checkFinalICC(req.ICCData)
	} else {
		code, err = offlineCode(req.ICCData)
	}
	if err != nil {
		return fmt.Errorf("%w: advice %s: %w", ErrInvalidRequest, req.TransactionID, err)
	}
	authCode := req.AuthCode
	if authCode == "" && !req.Online() {
		authCode = code
	}
	authCode, ok := fit(authCode, 6)
	rrn, ok2 := fit(req.HostReference, 12)
	if !ok || !ok2 || (req.Online() && authCode == "") {
		return fmt.Errorf("%w: auth code %q or host reference %q", ErrInvalidRequest, req.AuthCode, req.HostReference)
	}
	cond := ConditionNormal
	if req.Online() {
		switch req.Kind {
		case daemon.KindSale, "":
		case daemon.KindPreauth:
			cond = ConditionPreauth
		default:
			return fmt.Errorf("%w: TC advice of a %s", ErrInvalidRequest, req.Kind)
		}
	}
	mti := MTIAdvice
	if c.sent.advice(req.TransactionID) {
		mti = MTIAdviceRepeat
	}
	// Each message gets its own STAN when it is sent, a repeat too: the
	// host finds repeats by terminal and transaction ID.
	batch, err := c.openBatch()
	if err != nil {
		return err
	}
	now := time.Now()
	local := req.Time.Local()
	if req.Time.IsZero() {
		local = now
	}
	f := c.header(mti)
	f.ProcessingCode = ProcPurchase
	f.Amount = fmt.Sprintf("%012d", req.Amount)
	f.LocalTime, f.LocalDate = local.Format("150405"), local.Format("0102")
	f.EntryMode = entryMode(req.Card.EntryMethod)
	f.ConditionCode = cond
	f.AuthCode = authCode
	f.ResponseCode = code
	f.MerchantID = c.cfg.MerchantID
	f.Currency = currency
	f.ICC = req.ICCData
	f.Batch = batch
	f.TransactionID = req.TransactionID
	if req.Online() {
		kind := req.Kind
		if kind == "" {
			kind = daemon.KindSale
		}
		f.RRN = rrn
		orig := originalData(req.Original, originalMTI(kind))
		f.Original = &orig
	}

	resp, err := c.roundTrip(ctx, f)
	if errors.Is(err, daemon.ErrOutcomeUnknown) {
		c.sent.adviceSent(req.TransactionID)
	}
	if err != nil {
		return err
	}
	c.sent.adviceSent(req.TransactionID)
	log := c.log.With().Str("mti", mti).Str("stan", f.STAN).Str("transactionId", req.TransactionID).
		Str("responseCode", resp.ResponseCode).Logger()
	switch resp.ResponseCode {
	case RCApproved:
		log.Info().Str("rrn", strings.TrimSpace(resp.RRN)).Msg("advice acknowledged")
		return nil
	case RCIssuerUnavailable, RCSystemMalfunction:
		log.Warn().Msg("advice not booked; host asks to try again")
		return fmt.Errorf("%w: host answered %s to advice %s", daemon.ErrHostUnreachable, resp.ResponseCode, req.TransactionID)
	}
	log.Error().Msg("advice rejected by the host")
	return fmt.Errorf("%w: %s answered %s (%s)", ErrAdviceRejected, req.TransactionID, resp.ResponseCode,
		DeclineFor(resp.ResponseCode).Message)
}

// checkFinalICC checks the chip data of a TC advice: a TC, and issuer
// script results (9F5B) that are well formed when present.
func checkFinalICC(icc []byte) error {
	if len(icc) == 0 {
		return errors.New("no chip data (the TC)")
	}
	if len(icc) > 999 {
		return fmt.Errorf("%d bytes of chip data", len(icc))
	}
	if err := CheckTC(icc); err != nil {
		return err
	}
	if r, ok := emv.Find(icc, emv.TagIssuerScriptResults); ok {
		return CheckScriptResults(r)
	}
	return nil
}

// CheckScriptResults reports an error unless r is well-formed issuer
// script results (9F5B, EMV Book 4 Annex A5): five bytes per script, the
// first holding the result in its high nibble (0 not performed, 1 failed,
// 2 successful) and the failing command's sequence number in its low
// nibble (0 not specified, 1-E, F from 15 on), then the script
// identifier (9F18, zeros when the script had none).
func CheckScriptResults(r []byte) error {
	if len(r) == 0 || len(r)%5 != 0 {
		return fmt.Errorf("issuer script results of %d bytes, not five per script", len(r))
	}
	for i := 0; i < len(r); i += 5 {
		if r[i]>>4 > 2 {
			return fmt.Errorf("issuer script result %02X of script %d is none of not performed, failed, successful", r[i], i/5+1)
		}
	}
	return nil
}

// offlineCode checks that the chip data of an advice holds a TC and returns
// the offline response code for field 39: the 8A the card was given when
// it is Y1 or Y3, else Y3.
func offlineCode(icc []byte) (string, error) {
	if len(icc) == 0 {
		return "", errors.New("no chip data (the TC)")
	}
	if len(icc) > 999 {
		return "", fmt.Errorf("%d bytes of chip data", len(icc))
	}
	if err := CheckTC(icc); err != nil {
		return "", err
	}
	if arc, ok := emv.Find(icc, emv.TagARC); ok {
		switch s := string(arc); s {
		case RCOfflineApproved, RCOfflineApprovedFirstGenAC:
			return s, nil
		}
	}
	return RCOfflineApproved, nil
}

// CheckTC reports an error unless icc (field 55) holds an application
// cryptogram (9F26) whose cryptogram information data (9F27) says TC.
func CheckTC(icc []byte) error {
	if _, err := emv.ParseTLV(icc); err != nil {
		return fmt.Errorf("chip data: %w", err)
	}
	ac, ok1 := emv.Find(icc, emv.TagCryptogram)
	cid, ok2 := emv.Find(icc, emv.TagCID)
	switch {
	case !ok1 || !ok2 || len(ac) != 8 || len(cid) != 1:
		return errors.New("chip data without cryptogram (9F26) and its type (9F27)")
	case cid[0]&0xC0 != emv.CryptogramTC:
		return fmt.Errorf("cryptogram is %s, not TC", emv.CryptogramName(cid[0]))
	}
	return nil
}
