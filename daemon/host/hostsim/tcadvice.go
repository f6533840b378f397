package hostsim

import (
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/vinr/cashlessd/daemon/host"
	"github.com/vinr/cashlessd/emv"
)

// tcAdvice takes the advice that completes an approval the host gave
// online (0220/0221 with 39 = 00, host.IsTCAdvice): the card's final chip
// data, with the TC of the second GENERATE AC and the results of the
// issuer scripts the approval carried (9F5B), which the host records on
// the approval (ScriptResults). It books nothing new.
//
// It finds the approval by terminal and transaction ID (62); the RRN (37),
// auth code (38), kind (POS condition 00 sale, 06 pre-authorisation),
// amount and field 90 must agree with it. Answers: 00 with the approval's
// RRN (a repeat too: the first results stay); 25 no such unreversed
// approval, or field 90 names another request; 12 a cryptogram that is no
// TC, or the approval disagrees; 13 another amount; 30 malformed
// (processing code, condition, issuer script results not five bytes per
// script with a result of 0, 1 or 2). The caller holds bookMu.
func (s *Server) tcAdvice(_ time.Time, req, resp *host.Fields) bool {
	term, id := strings.TrimSpace(req.TerminalID), req.TransactionID
	rrn, authCode := strings.TrimSpace(req.RRN), strings.TrimSpace(req.AuthCode)
	amount, err := strconv.ParseInt(req.Amount, 10, 64)
	resp.AuthCode = req.AuthCode
	log := s.log.With().Str("mti", req.MTI).Str("stan", req.STAN).Str("terminalId", term).
		Str("transactionId", id).Logger()
	refuse := func(rc, why string) bool {
		log.Warn().Str("responseCode", rc).Str("reason", why).Msg("TC advice refused")
		resp.ResponseCode = rc
		return false
	}
	kind := ""
	switch req.ConditionCode {
	case host.ConditionNormal:
		kind = kindSale
	case host.ConditionPreauth:
		kind = kindPreauth
	}
	results, hasResults := emv.Find(req.ICC, emv.TagIssuerScriptResults)
	switch {
	case kind == "" || req.ProcessingCode != host.ProcPurchase:
		return refuse(host.RCFormatError, "malformed")
	case err != nil || amount <= 0:
		return refuse(host.RCInvalidAmount, "amount")
	case host.CheckTC(req.ICC) != nil:
		return refuse(host.RCInvalidTxn, host.CheckTC(req.ICC).Error())
	case hasResults && host.CheckScriptResults(results) != nil:
		return refuse(host.RCFormatError, host.CheckScriptResults(results).Error())
	}
	a := s.find(func(a *Approval) bool { return a.TerminalID == term && a.TransactionID == id && !a.Reversed })
	switch {
	case a == nil:
		return refuse(host.RCNoOriginal, "no unreversed approval of the transaction")
	case a.Kind != kind:
		return refuse(host.RCInvalidTxn, "booked as "+a.Kind)
	case a.RRN != rrn || a.AuthCode != authCode:
		return refuse(host.RCInvalidTxn, "booked with RRN "+a.RRN+" and auth code "+a.AuthCode)
	case !unknownOriginal(req.Original) && !quotesOriginal(req.Original, a):
		return refuse(host.RCNoOriginal, "field 90 does not name the request "+a.MTI+" STAN "+a.STAN)
	case a.Amount != amount:
		return refuse(host.RCInvalidAmount, "booked with amount "+strconv.FormatInt(a.Amount, 10))
	}
	resp.ResponseCode, resp.RRN = host.RCApproved, a.RRN
	if !s.recordScriptResults(a, req.ICC) {
		log.Info().Str("rrn", a.RRN).Msg("TC advice repeated, or without script results: nothing recorded")
		return false
	}
	return true
}

// recordScriptResults records on a the issuer script results (9F5B) of
// the chip data icc, unless a has results already or icc holds none. It
// reports whether the ledger changed. The caller holds bookMu.
func (s *Server) recordScriptResults(a *Approval, icc []byte) bool {
	r, ok := emv.Find(icc, emv.TagIssuerScriptResults)
	if !ok || a.ScriptResults != "" {
		return false
	}
	a.ScriptResults = strings.ToUpper(hex.EncodeToString(r))
	s.log.Info().Str("terminalId", a.TerminalID).Str("transactionId", a.TransactionID).Str("rrn", a.RRN).
		Str("scriptResults", a.ScriptResults).Msg("issuer script results recorded")
	return true
}
