package hostsim

import (
	"strconv"
	"strings"
	"time"

	"github.com/vinr/cashlessd/daemon/host"
	"github.com/vinr/cashlessd/pan"
)

// handle answers one request, booking it first. It returns nil when the
// message gets no answer (an answer, or an MTI the host does not know).
func (s *Server) handle(req *host.Fields) *host.Fields {
	if n := missingField(req); n != 0 {
		s.log.Warn().Str("mti", req.MTI).Str("stan", req.STAN).Int("field", n).
			Msg("mandatory field missing: format error")
		if req.MTI == host.MTINetwork {
			resp := answer(req)
			resp.ResponseCode = host.RCFormatError
			return resp
		}
		return s.book(req, formatError)
	}
	switch req.MTI {
	case host.MTINetwork:
		resp := answer(req)
		switch req.NetworkCode {
		case host.NetworkSignOn, host.NetworkEcho:
			resp.ResponseCode = host.RCApproved
		default:
			resp.ResponseCode = host.RCInvalidTxn
		}
		return resp
	case host.MTIAdvice, host.MTIAdviceRepeat:
		if (host.IsTCAdvice(req) || host.IsOfflineAdvice(req)) && s.advicesHeld() {
			return s.book(req, heldAdvice)
		}
		if host.IsTCAdvice(req) {
			return s.book(req, s.tcAdvice)
		}
		if host.IsOfflineAdvice(req) {
			return s.book(req, s.advice)
		}
		return s.book(req, s.financial)
	case host.MTIAuthRequest, host.MTIFinancialRequest:
		if host.IsIncrement(req) {
			return s.book(req, s.increment)
		}
		return s.book(req, s.financial)
	case host.MTIReversal, host.MTIReversalRepeat:
		if s.reversalsHeld() {
			return s.book(req, heldReversal)
		}
		return s.book(req, s.reversal)
	case host.MTIBatchUpload:
		return s.book(req, s.upload)
	case host.MTISettlement:
		return s.book(req, s.settlement)
	}
	s.log.Warn().Str("mti", req.MTI).Msg("unknown message type ignored")
	return nil
}

// answer starts the answer to req: response MTI and the fields the host
// echoes.
func answer(req *host.Fields) *host.Fields {
	return &host.Fields{
		MTI:              host.ResponseMTI(req.MTI),
		ProcessingCode:   req.ProcessingCode,
		Amount:           req.Amount,
		TransmissionTime: req.TransmissionTime,
		STAN:             req.STAN,
		LocalTime:        req.LocalTime,
		LocalDate:        req.LocalDate,
		RRN:              req.RRN,
		TerminalID:       req.TerminalID,
		MerchantID:       req.MerchantID,
		Currency:         req.Currency,
		Batch:            req.Batch,
		TransactionID:    req.TransactionID,
		NetworkCode:      req.NetworkCode,
	}
}

// book runs one ledger-changing step alone, appends what it changed to
// the ledger file (one line, one sync) and rolls back when that line
// cannot be written (the answer is then 96).
func (s *Server) book(req *host.Fields, step func(now time.Time, req, resp *host.Fields) bool) *host.Fields {
	resp := answer(req)
	s.bookMu.Lock()
	defer s.bookMu.Unlock()
	if s.cfg.LedgerPath == "" {
		now := time.Now().UTC()
		step(now, req, resp)
		s.referenceAnswer(now, resp)
		return resp
	}
	s.begin()
	now := time.Now().UTC()
	changed := step(now, req, resp)
	changed = s.referenceAnswer(now, resp) || changed
	if !changed {
		s.abandon()
		return resp
	}
	if err := s.commit(s.cfg.LedgerPath); err != nil {
		s.log.Error().Err(err).Msg("ledger not written; request refused")
		resp.ResponseCode, resp.AuthCode = host.RCSystemMalfunction, ""
		resp.ICC = nil
		if resp.MTI == host.MTIAuthResponse || resp.MTI == host.MTIFinancialResponse || resp.MTI == host.MTIAdviceResponse {
			// A reference for the refusal, not booked.
			resp.RRN = newRRN(now, s.ledger.Sequence+1)
		} else {
			resp.RRN = req.RRN
		}
	}
	return resp
}

// heldAdvice answers an advice while SetHoldAdvices is on: 91, nothing
// booked.
func heldAdvice(_ time.Time, req, resp *host.Fields) bool {
	resp.ResponseCode, resp.AuthCode = host.RCIssuerUnavailable, req.AuthCode
	return false
}

// heldReversal answers a reversal while SetHoldReversals is on: 91,
// nothing reversed.
func heldReversal(_ time.Time, _, resp *host.Fields) bool {
	resp.ResponseCode = host.RCIssuerUnavailable
	return false
}

// formatError answers a request that breaks the message rules: 30, nothing
// booked.
func formatError(_ time.Time, _, resp *host.Fields) bool {
	resp.ResponseCode = host.RCFormatError
	resp.AuthCode, resp.ICC = "", nil
	return false
}

// referenceAnswer gives an authorisation, financial or advice answer
// (0110, 0210, 0230) that has no retrieval reference number a new one, as
// an acquirer answers every such request with field 37, declines
// included. It reports whether the ledger's sequence moved. The caller
// holds bookMu.
func (s *Server) referenceAnswer(now time.Time, resp *host.Fields) bool {
	switch resp.MTI {
	case host.MTIAuthResponse, host.MTIFinancialResponse, host.MTIAdviceResponse:
	default:
		return false
	}
	if strings.TrimSpace(resp.RRN) != "" && resp.ResponseCode == host.RCApproved {
		return false
	}
	// A decline gets its own reference, not the original's that a
	// refund or completion quoted.
	s.ledger.Sequence++
	resp.RRN = newRRN(now, s.ledger.Sequence)
	return true
}

// financial decides a sale, pre-auth, completion or refund and books an
// approval. The caller holds bookMu.
func (s *Server) financial(now time.Time, req, resp *host.Fields) bool {
	kind := kindOf(req.MTI, req.ProcessingCode)
	amount, err := strconv.ParseInt(req.Amount, 10, 64)
	term := strings.TrimSpace(req.TerminalID)
	log := s.log.With().Str("mti", req.MTI).Str("stan", req.STAN).Str("terminalId", term).
		Str("kind", kind).Str("pan", pan.Mask(req.PAN)).Logger()
	switch {
	case kind == "":
		resp.ResponseCode = host.RCInvalidTxn
		return false
	case err != nil || amount <= 0:
		resp.ResponseCode = host.RCInvalidAmount
		return false
	}
	// A request repeated after a lost answer gets the same answer again.
	if a := s.find(func(a *Approval) bool {
		return req.TransactionID != "" && a.TerminalID == term && a.TransactionID == req.TransactionID &&
			a.Kind == kind && a.Amount == amount && !a.Reversed
	}); a != nil {
		resp.ResponseCode, resp.AuthCode, resp.RRN = host.RCApproved, a.AuthCode, a.RRN
		log.Info().Str("rrn", a.RRN).Msg("repeated request, same answer")
		return false
	}

	var orig *Approval
	rc, authCode := host.RCApproved, ""
	switch kind {
	case kindSale, kindPreauth:
		switch {
		case req.PAN == "":
			rc = host.RCInvalidCard
		case Swiped(req) && !trackAgrees(req):
			log.Warn().Msg("track 2 (35) disagrees with the card number (2) or expiry (14)")
			rc = host.RCInvalidCard
		case len(req.PINBlock) > 0 && !pinMatches(req.PAN, req.PINBlock, req.KSN):
			rc = host.RCIncorrectPIN
		default:
			rc = testAnswer(issuerDecision(req.PAN), kind, amount)
		}
	case kindRefund, kindCompletion:
		rc, orig = s.original(kind, amount, req)
		if orig != nil {
			authCode = orig.AuthCode
		}
	}
	if len(req.ICC) > 0 {
		resp.ICC = issuerData(req.PAN, req.ICC, rc)
		spoilIssuerAuth(resp.ICC, kind, amount)
		if rc == host.RCApproved {
			resp.ICC = append(resp.ICC, testScripts(kind, amount)...)
		}
	}
	resp.ResponseCode = rc
	if rc != host.RCApproved {
		log.Info().Str("responseCode", rc).Msg("declined")
		return false
	}
	if kind != kindCompletion {
		authCode = newAuthCode()
	}
	s.ledger.Sequence++
	a := Approval{
		Kind: kind, MTI: req.MTI, TerminalID: term, MerchantID: strings.TrimSpace(req.MerchantID),
		STAN: req.STAN, TransmissionTime: req.TransmissionTime, TransactionID: req.TransactionID,
		RRN: newRRN(now, s.ledger.Sequence), AuthCode: authCode,
		MaskedPAN: pan.Mask(req.PAN), Amount: amount, Currency: alphaCurrency(req.Currency),
		Batch: req.Batch, ApprovedAt: now,
	}
	if orig != nil {
		a.OriginalRRN = orig.RRN
		switch kind {
		case kindCompletion:
			orig.CompletedBy = a.RRN
		case kindRefund:
			orig.Refunded += amount
		}
	}
	s.ledger.Approvals = append(s.ledger.Approvals, a)
	resp.AuthCode, resp.RRN = a.AuthCode, a.RRN
	log.Info().Str("rrn", a.RRN).Int64("amount", amount).Msg("approved")
	return true
}

// advice books a sale the terminal's chip card approved offline (0220, or
// the repeat 0221, POS condition 00) as an approval marked Offline. It is
// booked once per terminal and transaction ID: a repeat, or an advice for
// a sale the host already approved online, gets 00 and the booked RRN
// without booking again; a repeat with another amount or currency is 12.
// The caller holds bookMu.
func (s *Server) advice(now time.Time, req, resp *host.Fields) bool {
	term, id := strings.TrimSpace(req.TerminalID), req.TransactionID
	amount, err := strconv.ParseInt(req.Amount, 10, 64)
	currency := alphaCurrency(req.Currency)
	authCode := strings.TrimSpace(req.AuthCode)
	resp.AuthCode = req.AuthCode
	log := s.log.With().Str("mti", req.MTI).Str("stan", req.STAN).Str("terminalId", term).
		Str("transactionId", id).Logger()
	switch {
	case err != nil || amount <= 0:
		resp.ResponseCode = host.RCInvalidAmount
		return false
	case req.ProcessingCode != host.ProcPurchase || id == "" || req.Original != nil || strings.TrimSpace(req.RRN) != "" ||
		authCode == "" || (req.ResponseCode != host.RCOfflineApproved && req.ResponseCode != host.RCOfflineApprovedFirstGenAC):
		log.Warn().Msg("malformed advice refused")
		resp.ResponseCode = host.RCFormatError
		return false
	case host.CheckTC(req.ICC) != nil:
		log.Warn().Err(host.CheckTC(req.ICC)).Msg("advice without a TC refused")
		resp.ResponseCode = host.RCInvalidTxn
		return false
	}
	if a := s.find(func(a *Approval) bool {
		return a.TerminalID == term && a.TransactionID == id && a.Kind == kindSale && (a.Offline || !a.Reversed)
	}); a != nil {
		if a.Amount != amount || a.Currency != currency {
			log.Warn().Int64("amount", amount).Int64("booked", a.Amount).Msg("advice repeated with other amount refused")
			resp.ResponseCode = host.RCInvalidTxn
			return false
		}
		resp.ResponseCode, resp.RRN = host.RCApproved, a.RRN
		if a.Offline {
			log.Info().Str("rrn", a.RRN).Msg("repeated advice, already booked")
		} else {
			log.Warn().Str("rrn", a.RRN).Msg("advice for a sale approved online; not booked again")
		}
		return false
	}
	s.ledger.Sequence++
	a := Approval{
		Kind: kindSale, MTI: req.MTI, TerminalID: term, MerchantID: strings.TrimSpace(req.MerchantID),
		STAN: req.STAN, TransmissionTime: req.TransmissionTime, TransactionID: id, RRN: newRRN(now, s.ledger.Sequence), AuthCode: authCode,
		Amount: amount, Currency: currency, Batch: req.Batch, ApprovedAt: now, Offline: true,
	}
	s.ledger.Approvals = append(s.ledger.Approvals, a)
	resp.ResponseCode, resp.RRN = host.RCApproved, a.RRN
	log.Info().Str("rrn", a.RRN).Int64("amount", amount).Msg("offline approval booked")
	return true
}

// original finds the approval a refund or completion refers to (fields 37
// and 38) and checks that it may be used.
func (s *Server) original(kind string, amount int64, req *host.Fields) (string, *Approval) {
	rrn, code := strings.TrimSpace(req.RRN), strings.TrimSpace(req.AuthCode)
	o := s.find(func(a *Approval) bool {
		return rrn != "" && a.RRN == rrn && (code == "" || a.AuthCode == code)
	})
	switch {
	case o == nil || o.Reversed:
		return host.RCNoOriginal, nil
	case !quotesOriginal(req.Original, o):
		s.log.Warn().Str("mti", req.MTI).Str("stan", req.STAN).Str("rrn", rrn).Interface("original", req.Original).
			Str("bookedMti", o.MTI).Str("bookedStan", o.STAN).Str("bookedTransmissionTime", o.TransmissionTime).
			Msg("original data elements (90) do not match the booked original; refused")
		return host.RCNoOriginal, nil
	case kind == kindCompletion && o.Kind != kindPreauth,
		kind == kindCompletion && o.CompletedBy != "",
		kind == kindRefund && o.Kind != kindSale && o.Kind != kindCompletion:
		return host.RCInvalidTxn, nil
	case kind == kindRefund && amount > o.Amount-o.Refunded,
		kind == kindCompletion && amount > o.Held():
		return host.RCInvalidAmount, nil
	}
	return host.RCApproved, o
}

// reversal cancels the approval a reversal refers to: by terminal and
// transaction ID (field 62), else by RRN (37), else by original MTI and
// STAN (90). Unknown or already reversed originals are acknowledged and
// nothing is recorded. Chip data (55), which a reversal carries when the
// card refused the approval, is checked (checkReversalICC) and recorded
// with the reversal. The caller holds bookMu.
func (s *Server) reversal(now time.Time, req, resp *host.Fields) bool {
	resp.ResponseCode = host.RCApproved
	term := strings.TrimSpace(req.TerminalID)
	id, rrn := req.TransactionID, strings.TrimSpace(req.RRN)
	var chip reversalChip
	if len(req.ICC) > 0 {
		var rc string
		var err error
		if chip, rc, err = checkReversalICC(req.ICC); err != nil {
			s.log.Warn().Str("mti", req.MTI).Str("stan", req.STAN).Str("terminalId", term).Str("transactionId", id).
				Str("responseCode", rc).Err(err).Msg("reversal with bad chip data refused")
			resp.ResponseCode = rc
			return false
		}
	}
	var origMTI, origSTAN string
	if req.Original != nil && req.Original.STAN != "000000" {
		origMTI, origSTAN = req.Original.MTI, req.Original.STAN
	}
	var a *Approval
	for _, match := range []func(a *Approval) bool{
		func(a *Approval) bool { return id != "" && a.TransactionID == id },
		func(a *Approval) bool { return rrn != "" && a.RRN == rrn },
		func(a *Approval) bool { return origSTAN != "" && a.STAN == origSTAN && a.MTI == origMTI },
	} {
		if a = s.find(func(a *Approval) bool { return a.TerminalID == term && !a.Reversed && match(a) }); a != nil {
			break
		}
	}
	log := s.log.With().Str("mti", req.MTI).Str("stan", req.STAN).Str("terminalId", term).
		Str("transactionId", id).Logger()
	if a == nil {
		log.Info().Msg("reversal of nothing booked (or already reversed) acknowledged")
		return false
	}
	if !unknownOriginal(req.Original) && !quotesOriginal(req.Original, a) {
		log.Warn().Interface("original", req.Original).Str("bookedMti", a.MTI).Str("bookedStan", a.STAN).
			Str("bookedTransmissionTime", a.TransmissionTime).
			Msg("original data elements (90) do not match the booked original; reversal refused")
		resp.ResponseCode = host.RCNoOriginal
		return false
	}
	a.Reversed, a.ReversedAt = true, &now
	if a.OriginalRRN != "" {
		if o := s.find(func(o *Approval) bool { return o.RRN == a.OriginalRRN }); o != nil {
			switch a.Kind {
			case kindCompletion:
				o.CompletedBy = ""
			case kindRefund:
				o.Refunded -= a.Amount
			case kindIncrement:
				o.Incremented -= a.Amount
			}
		}
	}
	amount, _ := strconv.ParseInt(req.Amount, 10, 64)
	s.ledger.Reversals = append(s.ledger.Reversals, Reversal{
		TerminalID: term, MTI: req.MTI, STAN: req.STAN, TransactionID: a.TransactionID,
		RRN: a.RRN, Amount: amount, ReceivedAt: now,
		Cryptogram: chip.cryptogram, TVR: chip.tvr, ScriptResults: chip.scriptResults,
	})
	resp.RRN = a.RRN
	log.Info().Str("rrn", a.RRN).Str("cryptogram", chip.cryptogram).Msg("approval reversed")
	return true
}

// settlement compares the terminal's totals with the host's for its batch:
// equal settles the approvals not settled yet (00), different settles
// nothing (95, with the host's totals in 63).
//
// Processing code 920000 compares with the batch's unsettled approvals.
// 960000, the settlement after a batch upload, compares with the approvals
// the terminal uploaded for the batch (those an earlier settlement of the
// same batch number settled included): the host then settles on the
// terminal's record, and the batch's approvals that were not uploaded
// stay unsettled and are listed in the settlement's Excluded.
//
// A settlement repeated after a lost answer is acknowledged without
// settling anything twice or recording it again. The caller holds bookMu.
func (s *Server) settlement(now time.Time, req, resp *host.Fields) bool {
	term, batch := strings.TrimSpace(req.TerminalID), req.Batch
	sent, err := host.ParseTotals(req.Totals)
	afterUpload := req.ProcessingCode == host.ProcSettlementAfterUpload
	if err != nil || batch == "" || (req.ProcessingCode != host.ProcSettlement && !afterUpload) {
		resp.ResponseCode = host.RCFormatError
		return false
	}
	var open []int
	var have host.BatchTotals
	var excluded []string
	for i := range s.ledger.Approvals {
		a := &s.ledger.Approvals[i]
		if a.TerminalID != term || a.Batch != batch {
			continue
		}
		capture, refund := a.Counts()
		switch {
		case !capture && !refund:
			continue
		case afterUpload && !a.Uploaded:
			if !a.Settled {
				excluded = append(excluded, a.name())
			}
			continue
		case !afterUpload && a.Settled:
			continue
		}
		if capture {
			have.CaptureCount++
			have.CaptureAmount += a.Amount
		} else {
			have.RefundCount++
			have.RefundAmount += a.Amount
		}
		if !a.Settled {
			open = append(open, i)
		}
	}
	log := s.log.With().Str("terminalId", term).Str("batch", batch).Bool("afterUpload", afterUpload).Logger()
	if len(open) == 0 && (!afterUpload || have == sent) {
		for _, st := range s.ledger.Settlements {
			if st.TerminalID == term && st.Batch == batch && st.ResponseCode == host.RCApproved &&
				(afterUpload || st.Terminal == sent) {
				resp.ResponseCode = host.RCApproved
				log.Info().Msg("settlement repeated; already settled")
				return false
			}
		}
	}
	st := Settlement{TerminalID: term, MerchantID: strings.TrimSpace(req.MerchantID), Batch: batch,
		Terminal: sent, Host: have, At: now, AfterUpload: afterUpload}
	if have != sent {
		st.ResponseCode = host.RCTotalsMismatch
		resp.Totals, _ = have.Field()
		log.Warn().Interface("terminal", sent).Interface("host", have).Msg("settlement totals do not match")
	} else {
		st.ResponseCode = host.RCApproved
		st.Excluded = excluded
		for _, i := range open {
			s.touch(i)
			a := &s.ledger.Approvals[i]
			a.Settled, a.SettledAt = true, &now
		}
		log.Info().Int64("captures", have.CaptureCount).Int64("refunds", have.RefundCount).
			Strs("excluded", excluded).Msg("batch settled")
	}
	resp.ResponseCode = st.ResponseCode
	s.ledger.Settlements = append(s.ledger.Settlements, st)
	return true
}

// find returns the latest approval that matches; the booking under way
// may change it (touch).
func (s *Server) find(match func(a *Approval) bool) *Approval {
	for i := len(s.ledger.Approvals) - 1; i >= 0; i-- {
		if a := &s.ledger.Approvals[i]; match(a) {
			s.touch(i)
			return a
		}
	}
	return nil
}
