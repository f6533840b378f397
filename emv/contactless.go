package emv

import (
	"context"
	"fmt"
)

// TTQ bits (9F66).
const (
	ttqQVSDC         = 0x20 // byte 1: EMV mode (qVSDC) supported
	ttqContactChip   = 0x10 // byte 1: EMV contact chip supported
	ttqOnlinePIN     = 0x04 // byte 1: online PIN supported
	ttqSignature     = 0x02 // byte 1: signature supported
	ttqOnlineCrypto  = 0x80 // byte 2: online cryptogram required
	ttqCVMRequired   = 0x40 // byte 2: CVM required
	ttqConsumerCVM   = 0x40 // byte 3: consumer device CVM supported
	ctqOnlinePIN     = 0x80 // CTQ byte 1: online PIN required
	ctqSignature     = 0x40 // CTQ byte 1: signature required
	ctqConsumerCVMOK = 0x80 // CTQ byte 2: consumer device CVM performed
)

// cvmRequired reports whether a contactless transaction of this amount
// needs a CVM: at or over the reader CVM required limit (EMV Book A).
func (s *Session) cvmRequired() bool { return s.tx.Amount >= s.cfg.ContactlessCVMLimit }

// ttq builds the Terminal Transaction Qualifiers for this transaction.
func (s *Session) ttq() []byte {
	t := []byte{ttqQVSDC | ttqContactChip, ttqOnlineCrypto, ttqConsumerCVM, 0x00}
	if s.pins != nil && s.cfg.Capabilities[1]&capOnlinePIN != 0 {
		t[0] |= ttqOnlinePIN
	}
	if s.cfg.Capabilities[1]&capSignature != 0 {
		t[0] |= ttqSignature
	}
	if s.cvmRequired() {
		t[1] |= ttqCVMRequired
	}
	return t
}

// readContactless is the simplified online-only contactless flow: PPSE,
// SELECT, GPO with TTQ, records, the cryptogram from GPO or GENERATE AC,
// then the CVM decided by the CVM limit.
func (s *Session) readContactless(ctx context.Context) error {
	if l := s.cfg.ContactlessTransactionLimit; l > 0 && s.tx.Amount >= l {
		return fmt.Errorf("%w: amount at or over the contactless transaction limit", ErrInsertCard)
	}
	list, err := s.candidates(ctx)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		return fmt.Errorf("%w: %w", ErrInsertCard, ErrNoApplication)
	}
	c, fci, err := s.finalSelect(ctx, &list)
	if err != nil {
		return err
	}
	if err := s.initiate(ctx, c, fci); err != nil {
		return err
	}
	if err := s.readRecords(ctx); err != nil {
		return err
	}
	if err := s.checkMandatory(); err != nil {
		return err
	}
	s.tvr.Set(TVROfflineDataAuthNotPerformed)
	if s.tx.Amount >= s.cfg.FloorLimit {
		s.tvr.Set(TVRFloorLimitExceeded)
	}
	s.processingRestrictions()
	if err := s.contactlessCVM(ctx); err != nil {
		return err
	}
	if _, ok := s.icc[TagCryptogram]; ok {
		// The cryptogram came with GET PROCESSING OPTIONS (qVSDC).
		cid := CryptogramARQC
		if v, ok := s.icc[TagCID]; ok && len(v) == 1 {
			cid = v[0]
		}
		atc, ok := s.icc[TagATC]
		if !ok || len(atc) != 2 || len(s.icc[TagCryptogram]) != 8 {
			return fmt.Errorf("%w: GPO cryptogram without ATC", ErrCard)
		}
		if cid&0xC0 == CryptogramTC || cid&0xC0 == 0xC0 {
			return fmt.Errorf("%w: card answered %s, online cryptogram required", ErrCard, CryptogramName(cid))
		}
		s.cid = cid
	} else {
		requested := CryptogramARQC
		if s.tx.Type == TypeRefund {
			requested = CryptogramAAC
		}
		if err := s.firstGenerateAC(ctx, requested); err != nil {
			return err
		}
	}
	if s.cvm.pendingOnlinePIN && s.cid&0xC0 == CryptogramARQC {
		// The card may leave the field now; the PIN goes online.
		s.cvm.pendingOnlinePIN = false
		ok, err := s.onlinePIN(ctx)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("emv: online PIN required: %w", ErrPINBypassed)
		}
	}
	return nil
}

// contactlessSupports says which CVMs a contactless transaction offers:
// online PIN and signature at or over the CVM limit, no CVM under it.
func (s *Session) contactlessSupports(m CVMMethod) bool {
	caps := s.cfg.Capabilities[1]
	required := s.cvmRequired()
	switch m {
	case CVMFail:
		return true
	case CVMOnlinePIN:
		return required && caps&capOnlinePIN != 0 && s.pins != nil
	case CVMSignature:
		return required && caps&capSignature != 0
	case CVMNoCVM:
		return !required
	}
	return false
}

// contactlessCVM decides the CVM of a contactless transaction. An online
// PIN is only noted here and asked for once the card has answered.
func (s *Session) contactlessCVM(ctx context.Context) error {
	s.cvm.results = [3]byte{byte(CVMNone), 0x00, cvmResultUnknown}
	s.cvm.method = CVMNone
	s.deferPIN = true
	defer func() { s.deferPIN = false }()
	if ctq, ok := s.icc[TagCTQ]; ok && len(ctq) == 2 {
		return s.ctqCVM(ctq)
	}
	if raw, ok := s.icc[TagCVMList]; ok && s.aip[0]&aipCVM != 0 {
		list, err := ParseCVMList(raw)
		if err == nil && len(list.Rules) > 0 {
			s.tsi.Set(TSICardholderVerification)
			return s.processCVMList(ctx, list, s.contactlessSupports)
		}
	}
	switch {
	case !s.cvmRequired():
		s.setCVM(CVMNoCVM, cvmResultSuccessful)
	case s.contactlessSupports(CVMOnlinePIN):
		s.setCVM(CVMOnlinePIN, cvmResultUnknown)
		s.cvm.pendingOnlinePIN = true
	case s.contactlessSupports(CVMSignature):
		s.setCVM(CVMSignature, cvmResultUnknown)
		s.cvm.signature = true
	default:
		return fmt.Errorf("%w: no cardholder verification possible", ErrInsertCard)
	}
	return nil
}

// ctqCVM follows the Card Transaction Qualifiers (Visa qVSDC).
func (s *Session) ctqCVM(ctq []byte) error {
	switch {
	case !s.cvmRequired():
		s.setCVM(CVMNoCVM, cvmResultSuccessful)
	case ctq[0]&ctqOnlinePIN != 0 && s.contactlessSupports(CVMOnlinePIN):
		s.setCVM(CVMOnlinePIN, cvmResultUnknown)
		s.cvm.pendingOnlinePIN = true
	case ctq[0]&ctqSignature != 0 && s.contactlessSupports(CVMSignature):
		s.setCVM(CVMSignature, cvmResultUnknown)
		s.cvm.signature = true
	case ctq[1]&ctqConsumerCVMOK != 0:
		s.cvm.results = [3]byte{byte(CVMPlaintextPIN), 0x00, cvmResultSuccessful}
		s.cvm.method = CVMPlaintextPIN
		s.cvm.cdcvm = true
	default:
		return fmt.Errorf("%w: the card asks for a CVM this reader cannot do", ErrInsertCard)
	}
	return nil
}

// setCVM records a CVM decided without a CVM list.
func (s *Session) setCVM(m CVMMethod, result byte) {
	s.cvm.method = m
	s.cvm.results = [3]byte{byte(m), 0x00, result}
}
