package emv

import "fmt"

// EMV Contactless Book C-3 (Visa qVSDC): the card decides its
// cryptogram at GET PROCESSING OPTIONS from the Terminal Transaction
// Qualifiers (9F66) and says in its Card Transaction Qualifiers (9F6C)
// which CVM it wants. Domestic and international usage is the card's own
// check (it declines or asks for another interface itself), so the
// terminal does not apply the contact Application Usage Control check.

// c3Restrictions are the processing restrictions of a qVSDC
// transaction: the application's effective and expiry dates. The card
// has made its usage checks already; application versions are not
// compared.
func (s *Session) c3Restrictions() {
	if eff, ok := s.icc[TagEffectiveDate]; ok && dateAfter(eff, s.tx.Time) {
		s.tvr.Set(TVRNotYetEffective)
	}
	if exp, ok := s.icc[TagExpiryDate]; ok && dateBefore(exp, s.tx.Time) {
		s.tvr.Set(TVRExpired)
	}
}

// c3CVM follows the CTQ when the card gives one, else the CVM limit.
// Cash and cashback go to the chip when the CTQ asks for it.
func (s *Session) c3CVM() error {
	ctq, ok := s.icc[TagCTQ]
	if !ok || len(ctq) != 2 {
		return s.limitCVM()
	}
	switch {
	case s.tx.Type == TypeCash && ctq[0]&ctqCashContact != 0:
		return useAnotherInterface("the card asks for the chip for cash")
	case s.tx.Type == TypeCashback && ctq[0]&ctqCashbackCont != 0:
		return useAnotherInterface("the card asks for the chip for cashback")
	}
	return s.ctqCVM(ctq)
}

// ctqCVM follows the Card Transaction Qualifiers at or over the CVM
// limit: online PIN when the card requires it and the terminal can, a
// consumer device CVM the phone performed, a signature when the card
// requires it; else the card wants a CVM this reader cannot do, and the
// cardholder is sent to the chip. Under the limit no CVM is done (the
// card's CTQ answers the TTQ's "CVM required").
func (s *Session) ctqCVM(ctq []byte) error {
	switch {
	case !s.cvmRequired():
		s.setCVM(CVMNoCVM, cvmResultSuccessful)
	case ctq[0]&ctqOnlinePIN != 0 && s.contactlessSupports(CVMOnlinePIN):
		s.setCVM(CVMOnlinePIN, cvmResultUnknown)
		s.cvm.pendingOnlinePIN = true
	case ctq[1]&ctqConsumerCVMOK != 0:
		s.cdcvm()
	case ctq[0]&ctqSignature != 0 && s.contactlessSupports(CVMSignature):
		s.setCVM(CVMSignature, cvmResultUnknown)
		s.cvm.signature = true
	default:
		return fmt.Errorf("%w: the card asks for a CVM this reader cannot do (CTQ %X)", ErrInsertCard, ctq)
	}
	return nil
}
