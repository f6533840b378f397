package emv

import (
	"bytes"
	"time"
)

// processingRestrictions compares the card's application with the
// terminal's and the transaction (EMV Book 3, 10.4): application versions,
// Application Usage Control, effective and expiry dates. Findings go into
// the TVR; terminal action analysis decides what they mean.
func (s *Session) processingRestrictions() {
	if card, ok := s.icc[TagAppVersionCard]; ok {
		if term, ok := s.term[TagAppVersionTerminal]; ok && !bytes.Equal(card, term) {
			s.tvr.Set(TVRVersionsDiffer)
		}
	}
	if auc, ok := s.icc[TagAUC]; ok && len(auc) == 2 {
		tt := s.cfg.TerminalType
		atm := (tt == 0x14 || tt == 0x15 || tt == 0x16) && s.cfg.AdditionalCapabilities[0]&0x80 != 0
		if !aucAllows(auc, s.tx.Type, s.icc[TagIssuerCountry], s.term[TagTerminalCountry], atm) {
			s.tvr.Set(TVRServiceNotAllowed)
		}
	}
	if eff, ok := s.icc[TagEffectiveDate]; ok && dateAfter(eff, s.tx.Time) {
		s.tvr.Set(TVRNotYetEffective)
	}
	if exp, ok := s.icc[TagExpiryDate]; ok && dateBefore(exp, s.tx.Time) {
		s.tvr.Set(TVRExpired)
	}
}

// aucAllows checks the Application Usage Control (9F07) against the
// transaction: where the terminal is (ATM or not), domestic or
// international, and the kind of transaction.
func aucAllows(auc []byte, t TransactionType, issuerCountry, terminalCountry []byte, atm bool) bool {
	if atm && auc[0]&0x02 == 0 {
		return false
	}
	if !atm && auc[0]&0x01 == 0 {
		return false
	}
	if len(issuerCountry) == 0 {
		return true
	}
	domestic := bytes.Equal(issuerCountry, terminalCountry)
	pick := func(dom, intl byte) byte {
		if domestic {
			return dom
		}
		return intl
	}
	switch t {
	case TypeCash:
		return auc[0]&pick(0x80, 0x40) != 0
	case TypePurchase:
		return auc[0]&pick(0x20|0x08, 0x10|0x04) != 0
	case TypeCashback:
		return auc[0]&pick(0x20|0x08, 0x10|0x04) != 0 && auc[1]&pick(0x80, 0x40) != 0
	}
	return true
}

// cardDate turns a YYMMDD date in BCD into a comparable number YYYYMMDD,
// reading YY under 50 as 20YY (EMV Book 4, 6.7.3).
func cardDate(b []byte) (int, bool) {
	d := digits(b)
	if len(b) != 3 || len(d) != 6 {
		return 0, false
	}
	n := 0
	for i := 0; i < 6; i++ {
		n = n*10 + int(d[i]-'0')
	}
	if n/10000 < 50 {
		return 20000000 + n, true
	}
	return 19000000 + n, true
}

func dayNumber(t time.Time) int { return t.Year()*10000 + int(t.Month())*100 + t.Day() }

// dateBefore reports whether the card date is before the day of t.
func dateBefore(b []byte, t time.Time) bool {
	d, ok := cardDate(b)
	return ok && d < dayNumber(t)
}

// dateAfter reports whether the card date is after the day of t.
func dateAfter(b []byte, t time.Time) bool {
	d, ok := cardDate(b)
	return ok && d > dayNumber(t)
}
