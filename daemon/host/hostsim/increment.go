package hostsim

import (
	"strconv"
	"strings"
	"time"

	"github.com/vinr/cashlessd/daemon/host"
)

// kindIncrement is an incremental authorisation in the ledger.
const kindIncrement = "increment"

// incrementFactor bounds how far the simulated issuer lets a pre-auth
// grow: an increment that would make the hold more than this many times
// the pre-auth's first amount is declined 51 (insufficient funds).
const incrementFactor = 5

// Held is what an approved pre-auth holds now: its amount plus its
// increments, or nothing once it was reversed (released) or completed.
func (a *Approval) Held() int64 {
	if a.Kind != kindPreauth || a.Reversed || a.CompletedBy != "" {
		return 0
	}
	return a.Amount + a.Incremented
}

// increment decides an incremental authorisation (0100 with the pre-auth's
// RRN, auth code and original data): approved while the pre-auth is
// neither reversed nor completed and the hold stays within
// incrementFactor times its first amount. The approval is booked as kind
// increment with the pre-auth's RRN as OriginalRRN and raises the
// pre-auth's Incremented; a reversal of it lowers it again. A repeat with
// the same transaction ID gets the same answer. The caller holds bookMu.
func (s *Server) increment(now time.Time, req, resp *host.Fields) bool {
	term, id := strings.TrimSpace(req.TerminalID), req.TransactionID
	amount, err := strconv.ParseInt(req.Amount, 10, 64)
	log := s.log.With().Str("mti", req.MTI).Str("stan", req.STAN).Str("terminalId", term).
		Str("transactionId", id).Str("kind", kindIncrement).Logger()
	switch {
	case err != nil || amount <= 0:
		resp.ResponseCode = host.RCInvalidAmount
		return false
	case req.ProcessingCode != host.ProcPurchase || req.PAN != "" || id == "":
		resp.ResponseCode = host.RCFormatError
		return false
	}
	if a := s.find(func(a *Approval) bool {
		return a.TerminalID == term && a.TransactionID == id && a.Kind == kindIncrement && a.Amount == amount && !a.Reversed
	}); a != nil {
		resp.ResponseCode, resp.AuthCode, resp.RRN = host.RCApproved, a.AuthCode, a.RRN
		log.Info().Str("rrn", a.RRN).Msg("repeated increment, same answer")
		return false
	}
	rrn, code := strings.TrimSpace(req.RRN), strings.TrimSpace(req.AuthCode)
	o := s.find(func(a *Approval) bool {
		return rrn != "" && a.TerminalID == term && a.RRN == rrn && (code == "" || a.AuthCode == code)
	})
	rc := host.RCApproved
	switch {
	case o == nil || o.Reversed:
		rc = host.RCNoOriginal
	case o.Kind != kindPreauth || o.CompletedBy != "":
		rc = host.RCInvalidTxn
	case o.Held()+amount > incrementFactor*o.Amount:
		rc = host.RCInsufficientFunds
	}
	resp.ResponseCode = rc
	if rc != host.RCApproved {
		log.Info().Str("responseCode", rc).Msg("increment declined")
		return false
	}
	o.Incremented += amount
	s.ledger.Sequence++
	a := Approval{
		Kind: kindIncrement, MTI: req.MTI, TerminalID: term, MerchantID: strings.TrimSpace(req.MerchantID),
		STAN: req.STAN, TransactionID: id, RRN: newRRN(now, s.ledger.Sequence), AuthCode: o.AuthCode,
		MaskedPAN: o.MaskedPAN, Amount: amount, Currency: alphaCurrency(req.Currency), Batch: req.Batch,
		OriginalRRN: o.RRN, ApprovedAt: now,
	}
	held := o.Held()
	s.ledger.Approvals = append(s.ledger.Approvals, a)
	resp.AuthCode, resp.RRN = a.AuthCode, a.RRN
	log.Info().Str("rrn", a.RRN).Str("preauth", a.OriginalRRN).Int64("amount", amount).Int64("held", held).Msg("increment approved")
	return true
}
