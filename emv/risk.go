package emv

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
)

// terminalRiskManagement checks the floor limit, selects transactions
// at random for online processing (a terminal with offline capability)
// and, when the card asks for terminal risk management, checks its
// velocity counters (EMV Book 3, 10.6). There is no exception file.
func (s *Session) terminalRiskManagement(ctx context.Context) error {
	s.tsi.Set(TSITerminalRiskManagement)
	if s.tx.Amount >= s.cfg.FloorLimit {
		s.tvr.Set(TVRFloorLimitExceeded)
	}
	if !s.cfg.onlineOnly() {
		selected, err := s.randomlySelected()
		if err != nil {
			return err
		}
		if selected {
			s.tvr.Set(TVRRandomlySelected)
		}
	}
	if s.aip[0]&aipRiskMgmt == 0 {
		return nil
	}
	lcol, ok1 := s.icc[TagLCOL]
	ucol, ok2 := s.icc[TagUCOL]
	if !ok1 || !ok2 || len(lcol) != 1 || len(ucol) != 1 {
		return nil
	}
	atc, okATC, err := s.getCounter(ctx, TagATC)
	if err != nil {
		return err
	}
	last, okLast, err := s.getCounter(ctx, TagLastOnlineATC)
	if err != nil {
		return err
	}
	s.tvr = velocity(s.tvr, atc, okATC, last, okLast, lcol[0], ucol[0])
	return nil
}

// velocity sets the TVR bits of the velocity check from the ATC and the
// last online ATC (EMV Book 3, 10.6.3).
func velocity(tvr TVR, atc uint16, okATC bool, last uint16, okLast bool, lcol, ucol byte) TVR {
	if !okATC || !okLast || atc <= last {
		tvr.Set(TVRLowerOfflineLimitExceeded)
		tvr.Set(TVRUpperOfflineLimitExceeded)
	} else {
		diff := int(atc - last)
		if diff > int(lcol) {
			tvr.Set(TVRLowerOfflineLimitExceeded)
		}
		if diff > int(ucol) {
			tvr.Set(TVRUpperOfflineLimitExceeded)
		}
	}
	if okLast && last == 0 {
		tvr.Set(TVRNewCard)
	}
	return tvr
}

// getCounter reads a two-byte counter with GET DATA.
func (s *Session) getCounter(ctx context.Context, t Tag) (uint16, bool, error) {
	resp, sw, err := s.exchange(ctx, "GET DATA "+t.String(), GetDataCommand(t))
	if err != nil {
		return 0, false, err
	}
	v, ok := Find(resp, t)
	if sw != SWOK || !ok || len(v) != 2 {
		return 0, false, nil
	}
	return binary.BigEndian.Uint16(v), true, nil
}

// terminalActionAnalysis decides which cryptogram the first GENERATE AC
// asks for (EMV Book 3, 10.7).
func (s *Session) terminalActionAnalysis() byte {
	if s.tx.Type == TypeRefund {
		return CryptogramAAC
	}
	c := s.app.config
	return actionAnalysis(s.tvr, actionCodes{
		tacDenial: c.TACDenial, tacOnline: c.TACOnline,
		iacDenial: s.icc[TagIACDenial], iacOnline: s.icc[TagIACOnline],
	}, s.cfg.onlineOnly() || s.cfg.OfflineApprovals)
}

// randomlySelected is random transaction selection (EMV Book 3, 10.6.2):
// a random number from 1 to 99 against the target percentage under the
// threshold, against a percentage rising linearly from the target to the
// maximum target between the threshold and the floor limit; never at or
// over the floor limit.
func (s *Session) randomlySelected() (bool, error) {
	c := s.cfg
	if c.RandomSelectionPercent == 0 && c.RandomSelectionMaxPercent == 0 {
		return false, nil
	}
	amount := s.tx.Amount
	if amount >= c.FloorLimit {
		return false, nil
	}
	n, err := s.randomPercent()
	if err != nil {
		return false, err
	}
	return n <= selectionPercent(amount, c.FloorLimit, c.RandomSelectionThreshold,
		c.RandomSelectionPercent, c.RandomSelectionMaxPercent), nil
}

// selectionPercent is the transaction target percentage of an amount
// under the floor limit.
func selectionPercent(amount, floor, threshold int64, target, maxTarget int) int {
	if amount < threshold || floor <= threshold {
		return target
	}
	return int(int64(maxTarget-target)*(amount-threshold)/(floor-threshold)) + target
}

// randomPercent draws a number from 1 to 99, uniformly.
func (s *Session) randomPercent() (int, error) {
	r := s.cfg.Rand
	if r == nil {
		r = rand.Reader
	}
	var b [1]byte
	for {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, fmt.Errorf("emv: random selection: %w", err)
		}
		if b[0] < 198 {
			return int(b[0])%99 + 1, nil
		}
	}
}

// actionCodes are the terminal's and the issuer's action codes; a missing
// IAC-Denial counts as all zeros, a missing IAC-Online as all ones.
type actionCodes struct {
	tacDenial, tacOnline, iacDenial, iacOnline []byte
}

// actionAnalysis compares the TVR with the action codes: denial first, then
// online; an online-only terminal asks for an ARQC whenever it does not
// deny.
func actionAnalysis(tvr TVR, c actionCodes, onlineOnly bool) byte {
	if tvr.Matches(c.tacDenial) || tvr.Matches(c.iacDenial) {
		return CryptogramAAC
	}
	iacOnline := c.iacOnline
	if iacOnline == nil {
		iacOnline = []byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF}
	}
	if onlineOnly || tvr.Matches(c.tacOnline) || tvr.Matches(iacOnline) {
		return CryptogramARQC
	}
	return CryptogramTC
}

// defaultActionAnalysis decides the second GENERATE AC of a transaction
// that could not go online (EMV Book 3, 10.7, "unable to go online"):
// TAC-Default or IAC-Default matching the TVR asks for an AAC, else a TC.
func (s *Session) defaultActionAnalysis() byte {
	return defaultAction(s.tvr, s.app.config.TACDefault, s.icc[TagIACDefault])
}

// defaultAction compares the TVR with the default action codes. A missing
// IAC-Default counts as all ones (EMV Book 3, 10.7). A missing TAC-Default
// always declines: an acquirer that configured none for the AID has not
// agreed to offline approvals.
func defaultAction(tvr TVR, tacDefault, iacDefault []byte) byte {
	if len(tacDefault) == 0 {
		return CryptogramAAC
	}
	if len(iacDefault) == 0 {
		iacDefault = []byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF}
	}
	if tvr.Matches(tacDefault) || tvr.Matches(iacDefault) {
		return CryptogramAAC
	}
	return CryptogramTC
}
