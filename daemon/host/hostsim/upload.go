package hostsim

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vinr/cashlessd/daemon/host"
	"github.com/vinr/cashlessd/emv"
)

// upload reconciles one transaction of a batch upload (0320) with the
// ledger and answers 0330. The host finds it by terminal and transaction
// ID (62):
//
//   - unknown: booked from the upload (MTI 0320), with the terminal's RRN,
//     or a new one when it has none (an offline approval, field 39 Y3 or
//     Y1, which is booked Offline);
//   - known and agreeing (kind, amount, currency, RRN when sent): kept;
//   - either way it is moved to the upload's batch (60) and marked
//     Uploaded, answer 00 with the host's RRN and the terminal's auth code.
//
// The issuer script results (9F5B) in the chip data (55), when sent, are
// recorded on the approval unless it has them already (ScriptResults).
// A repeat of an upload changes nothing and gets the same answer. Refused,
// nothing changed: 30 malformed (no 62 or 60, a processing code and POS
// condition that are no capture or refund, 39 not 00, Y3 or Y1, an offline
// approval that is not a sale, chip data that is no TLV or script results
// that are malformed); 13 an amount that is not positive or
// differs from the host's; 12 the host's record disagrees otherwise
// (another kind, currency or RRN, reversed, settled in another batch, or
// the RRN belongs to another transaction). The caller holds bookMu.
func (s *Server) upload(now time.Time, req, resp *host.Fields) bool {
	term, id, batch := strings.TrimSpace(req.TerminalID), req.TransactionID, req.Batch
	rrn, authCode := strings.TrimSpace(req.RRN), strings.TrimSpace(req.AuthCode)
	amount, err := strconv.ParseInt(req.Amount, 10, 64)
	currency := alphaCurrency(req.Currency)
	kind := uploadKind(req.ProcessingCode, req.ConditionCode)
	offline := req.ResponseCode == host.RCOfflineApproved || req.ResponseCode == host.RCOfflineApprovedFirstGenAC
	resp.AuthCode = req.AuthCode
	log := s.log.With().Str("mti", req.MTI).Str("stan", req.STAN).Str("terminalId", term).
		Str("transactionId", id).Str("batch", batch).Logger()
	refuse := func(rc, why string) bool {
		log.Warn().Str("responseCode", rc).Str("reason", why).Msg("uploaded transaction refused")
		resp.ResponseCode = rc
		return false
	}
	switch {
	case kind == "" || id == "" || batch == "" || req.Currency == "" ||
		(req.ResponseCode != host.RCApproved && !offline) || (offline && kind != kindSale):
		return refuse(host.RCFormatError, "malformed")
	case err != nil || amount <= 0:
		return refuse(host.RCInvalidAmount, "amount")
	case len(req.ICC) > 0 && uploadICC(req.ICC) != nil:
		return refuse(host.RCFormatError, uploadICC(req.ICC).Error())
	}
	a := s.find(func(a *Approval) bool { return a.TerminalID == term && a.TransactionID == id && !a.Reversed })
	if a == nil {
		a = s.find(func(a *Approval) bool { return a.TerminalID == term && a.TransactionID == id })
	}
	if a != nil {
		switch {
		case a.Kind != kind:
			return refuse(host.RCInvalidTxn, "booked as "+a.Kind)
		case a.Reversed:
			return refuse(host.RCInvalidTxn, "reversed at the host")
		case a.Currency != currency:
			return refuse(host.RCInvalidTxn, "booked in "+a.Currency)
		case rrn != "" && a.RRN != rrn:
			return refuse(host.RCInvalidTxn, "booked with RRN "+a.RRN)
		case !unknownOriginal(req.Original) && !quotesOriginal(req.Original, a):
			return refuse(host.RCInvalidTxn, "booked from "+a.MTI+" STAN "+a.STAN+", not the request field 90 quotes")
		case a.Settled && a.Batch != batch:
			return refuse(host.RCInvalidTxn, "already settled in batch "+a.Batch)
		case a.Amount != amount:
			return refuse(host.RCInvalidAmount, fmt.Sprintf("booked with amount %d, uploaded %d", a.Amount, amount))
		}
		resp.ResponseCode, resp.RRN = host.RCApproved, a.RRN
		recorded := s.recordScriptResults(a, req.ICC)
		if a.Uploaded && a.Batch == batch {
			log.Info().Str("rrn", a.RRN).Msg("upload repeated; already part of the batch")
			return recorded
		}
		if a.Batch != batch {
			log.Warn().Str("rrn", a.RRN).Str("from", a.Batch).Msg("uploaded transaction moved to the uploaded batch")
		}
		a.Batch, a.Uploaded, a.UploadedAt = batch, true, &now
		log.Info().Str("rrn", a.RRN).Msg("uploaded transaction matches the host's")
		return true
	}
	if rrn != "" && s.find(func(o *Approval) bool { return o.RRN == rrn }) != nil {
		return refuse(host.RCInvalidTxn, "RRN "+rrn+" belongs to another transaction")
	}
	s.ledger.Sequence++
	if rrn == "" {
		rrn = newRRN(now, s.ledger.Sequence)
	}
	s.ledger.Approvals = append(s.ledger.Approvals, Approval{
		Kind: kind, MTI: req.MTI, TerminalID: term, MerchantID: strings.TrimSpace(req.MerchantID),
		STAN: req.STAN, TransactionID: id, RRN: rrn, AuthCode: authCode,
		Amount: amount, Currency: currency, Batch: batch, ApprovedAt: now, Offline: offline,
		Uploaded: true, UploadedAt: &now,
	})
	s.recordScriptResults(&s.ledger.Approvals[len(s.ledger.Approvals)-1], req.ICC)
	resp.ResponseCode, resp.RRN = host.RCApproved, rrn
	log.Warn().Str("rrn", rrn).Int64("amount", amount).Bool("offline", offline).
		Msg("uploaded transaction the host did not have: booked")
	return true
}

// uploadICC checks the chip data (55) of an uploaded transaction: EMV TLV,
// and issuer script results (9F5B) that are well formed when present.
func uploadICC(icc []byte) error {
	if _, err := emv.ParseTLV(icc); err != nil {
		return fmt.Errorf("chip data: %w", err)
	}
	if r, ok := emv.Find(icc, emv.TagIssuerScriptResults); ok {
		return host.CheckScriptResults(r)
	}
	return nil
}

// uploadKind tells the kind of an uploaded transaction from its processing
// code and POS condition.
func uploadKind(proc, cond string) string {
	switch {
	case proc == host.ProcPurchase && cond == host.ConditionNormal:
		return kindSale
	case proc == host.ProcPurchase && cond == host.ConditionPreauth:
		return kindCompletion
	case proc == host.ProcRefund && cond == host.ConditionNormal:
		return kindRefund
	}
	return ""
}

// name identifies an approval in a settlement's Excluded list.
func (a *Approval) name() string {
	if a.TransactionID != "" {
		return a.TransactionID
	}
	return "RRN " + a.RRN
}

// ErrNoSuchApproval is returned by ForgetApproval when there is nothing to
// forget.
var ErrNoSuchApproval = errors.New("hostsim: no such approval")

// ForgetApproval makes the host lose its latest unsettled approval of a
// terminal's transaction, as if it had never been booked: the terminal's
// totals then differ from the host's (settlement answers 95) until the
// batch is uploaded. It is a test control, written to the ledger file.
func (s *Server) ForgetApproval(terminalID, transactionID string) error {
	term := strings.TrimSpace(terminalID)
	s.bookMu.Lock()
	defer s.bookMu.Unlock()
	for i := len(s.ledger.Approvals) - 1; i >= 0; i-- {
		a := s.ledger.Approvals[i]
		if a.TerminalID != term || a.TransactionID != transactionID || a.Settled {
			continue
		}
		if s.cfg.LedgerPath != "" {
			if err := appendChange(s.cfg.LedgerPath, &change{Sequence: s.ledger.Sequence, Forget: &i}); err != nil {
				return err
			}
		}
		s.ledger.Approvals = slices.Delete(s.ledger.Approvals, i, i+1)
		s.log.Warn().Str("terminalId", term).Str("transactionId", transactionID).Str("rrn", a.RRN).
			Msg("approval forgotten (test control)")
		return nil
	}
	return fmt.Errorf("%w: terminal %s, transaction %s", ErrNoSuchApproval, term, transactionID)
}
