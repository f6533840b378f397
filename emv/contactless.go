package emv

import (
	"bytes"
	"context"
	"fmt"
)

// This file is the contactless flow and the parts every contactless
// kernel shares; kernel_c2.go, kernel_c3.go and kernel_c4.go hold what
// EMV Contactless Books C-2 (Mastercard), C-3 (Visa) and C-4 (American
// Express) do differently. Cards of other schemes run the generic path
// (kernel_generic.go).

// KernelID is an EMV contactless kernel (EMV Contactless Book B, the
// Kernel Identifier 9F2A).
type KernelID byte

// Contactless kernels. KernelGeneric is the kernel's own path for the
// schemes without one of their own here.
const (
	KernelGeneric    KernelID = 0
	KernelMastercard KernelID = 2 // C-2, Mastercard and Maestro
	KernelVisa       KernelID = 3 // C-3, Visa qVSDC
	KernelAmex       KernelID = 4 // C-4, American Express Expresspay
)

// String names the kernel.
func (k KernelID) String() string {
	switch k {
	case KernelMastercard:
		return "C-2"
	case KernelVisa:
		return "C-3"
	case KernelAmex:
		return "C-4"
	}
	return "generic"
}

// kernelRIDs are the registered application providers whose AIDs run a
// kernel of their own when the PPSE entry names none. Read-only.
var kernelRIDs = []struct {
	rid    []byte
	kernel KernelID
}{
	{[]byte{0xA0, 0x00, 0x00, 0x00, 0x04}, KernelMastercard},
	{[]byte{0xA0, 0x00, 0x00, 0x00, 0x03}, KernelVisa},
	{[]byte{0xA0, 0x00, 0x00, 0x00, 0x25}, KernelAmex},
}

// kernelFor chooses the kernel of a PPSE entry (EMV Contactless Book B,
// 3.3.2): the Kernel Identifier when the entry has one (its short kernel
// ID is the low six bits of the first byte; 2, 3 and 4 are those of
// C-2, C-3 and C-4, anything else runs the generic path), else the
// default kernel of the AID's registered provider.
func kernelFor(aid, kernelID []byte) KernelID {
	if len(kernelID) > 0 {
		switch id := KernelID(kernelID[0] & 0x3F); id {
		case KernelMastercard, KernelVisa, KernelAmex:
			return id
		}
		if kernelID[0]&0x3F != 0 {
			return KernelGeneric
		}
	}
	for _, k := range kernelRIDs {
		if bytes.HasPrefix(aid, k.rid) {
			return k.kernel
		}
	}
	return KernelGeneric
}

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
	ctqCashContact   = 0x04 // CTQ byte 1: switch interface for cash
	ctqCashbackCont  = 0x02 // CTQ byte 1: switch interface for cashback
	ctqConsumerCVMOK = 0x80 // CTQ byte 2: consumer device CVM performed
)

// AIP bits a contactless kernel reads.
const (
	aipOnDeviceCVM = 0x02 // byte 1 (C-2): on device cardholder verification supported
	aipEMVMode     = 0x80 // byte 2 (C-2, C-4): EMV mode supported
)

// cvmLimit is the reader CVM required limit of the selected application:
// its scheme's own when configured, else the terminal's.
func (s *Session) cvmLimit() int64 {
	if l := s.app.config.ContactlessCVMLimit; l > 0 {
		return l
	}
	return s.cfg.ContactlessCVMLimit
}

// cvmRequired reports whether a contactless transaction of this amount
// needs a CVM: at or over the reader CVM required limit (EMV Book A).
func (s *Session) cvmRequired() bool { return s.tx.Amount >= s.cvmLimit() }

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

// contactlessTerminalData sets the terminal data the selected kernel
// gives the card (for its PDOL and CDOL): the TTQ for C-3 and the
// generic path, the CVM capability of C-2, Amex's reader capabilities
// for C-4.
func (s *Session) contactlessTerminalData() {
	delete(s.term, TagTTQ)
	switch s.kernel {
	case KernelMastercard:
		s.c2TerminalData()
	case KernelAmex:
		s.c4TerminalData()
	default:
		s.term[TagTTQ] = s.ttq()
	}
}

// useAnotherInterface is the error that sends the cardholder to the chip.
func useAnotherInterface(why string) error {
	return fmt.Errorf("%w: %s: use another interface", ErrInsertCard, why)
}

// readContactless is the online-only contactless flow: PPSE, the kernel
// chosen by the entry's kernel ID or the AID, SELECT, GPO, records,
// offline data authentication (SDA, DDA or CDA as on contact, for cards
// whose cryptogram comes from GENERATE AC), restrictions, the kernel's
// CVM, terminal action analysis, and the cryptogram from GPO (qVSDC) or
// GENERATE AC. Anything that asks for
// another interface ends in ErrInsertCard.
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
	s.kernel = c.Kernel
	if l := c.config.ContactlessTransactionLimit; l > 0 && s.tx.Amount >= l {
		return fmt.Errorf("%w: amount at or over the %s contactless transaction limit", ErrInsertCard, c.Scheme)
	}
	if err := s.initiate(ctx, c, fci); err != nil {
		return err
	}
	if err := s.checkContactlessMode(); err != nil {
		return err
	}
	if err := s.readRecords(ctx); err != nil {
		return err
	}
	if err := s.checkMandatory(); err != nil {
		return err
	}
	if _, gpoAC := s.icc[TagCryptogram]; gpoAC {
		// qVSDC: the card's fDDA signature serves offline approvals,
		// which an online-only reader never gives.
		s.tvr.Set(TVROfflineDataAuthNotPerformed)
	} else if err := s.offlineDataAuthentication(ctx); err != nil {
		return err
	}
	if s.tx.Amount >= s.cfg.FloorLimit {
		s.tvr.Set(TVRFloorLimitExceeded)
	}
	if s.kernel == KernelVisa {
		s.c3Restrictions()
	} else {
		s.processingRestrictions()
	}
	if err := s.contactlessCVM(ctx); err != nil {
		return err
	}
	if _, ok := s.icc[TagCryptogram]; ok {
		if err := s.gpoCryptogram(); err != nil {
			return err
		}
	} else if err := s.firstGenerateAC(ctx, s.terminalActionAnalysis()); err != nil {
		return err
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

// checkContactlessMode refuses a card that answered GET PROCESSING
// OPTIONS for contactless mag-stripe mode: the terminal does EMV mode
// only, so the cardholder is sent to the chip. C-2 and C-4 cards say so
// in the AIP (byte 2 bit 8 clear); a C-3 card that gives no cryptogram
// with GPO is in Visa's mag-stripe mode (MSD).
func (s *Session) checkContactlessMode() error {
	switch s.kernel {
	case KernelMastercard, KernelAmex:
		if s.aip[1]&aipEMVMode == 0 {
			return useAnotherInterface(fmt.Sprintf("%s card in contactless mag-stripe mode (AIP %X)", s.kernel, s.aip[:]))
		}
	case KernelVisa:
		if _, ok := s.icc[TagCryptogram]; !ok {
			return useAnotherInterface("C-3 card without a qVSDC cryptogram (mag-stripe mode)")
		}
	}
	return nil
}

// gpoCryptogram takes the cryptogram a card gave with GET PROCESSING
// OPTIONS (qVSDC, and generic cards that do the same) and applies
// terminal action analysis to it: the terminal is online-only, so an
// ARQC goes online unless the TVR matches a denial code, and a TC is
// not accepted.
func (s *Session) gpoCryptogram() error {
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
	s.requested = CryptogramARQC
	if cid&0xC0 == CryptogramARQC && s.terminalActionAnalysis() == CryptogramAAC && s.tx.Type != TypeRefund {
		s.requested = CryptogramAAC
		return &DeclineError{Reason: fmt.Sprintf("terminal action analysis declined (TVR %s)", s.tvr)}
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

// contactlessCVM decides the CVM of a contactless transaction, the
// kernel's way. An online PIN is only noted here and asked for once the
// card has answered.
func (s *Session) contactlessCVM(ctx context.Context) error {
	s.cvm.results = [3]byte{byte(CVMNone), 0x00, cvmResultUnknown}
	s.cvm.method = CVMNone
	s.deferPIN = true
	defer func() { s.deferPIN = false }()
	switch s.kernel {
	case KernelVisa:
		return s.c3CVM()
	case KernelMastercard:
		return s.c2CVM(ctx)
	case KernelAmex:
		return s.c4CVM(ctx)
	}
	return s.genericCVM(ctx)
}

// cvmListContactless processes the card's CVM list with the contactless
// CVMs; ok is false when the card has none (or its AIP says no CVM).
func (s *Session) cvmListContactless(ctx context.Context) (bool, error) {
	raw, ok := s.icc[TagCVMList]
	if !ok || s.aip[0]&aipCVM == 0 {
		return false, nil
	}
	list, err := ParseCVMList(raw)
	if err != nil || len(list.Rules) == 0 {
		return false, nil
	}
	s.tsi.Set(TSICardholderVerification)
	return true, s.processCVMList(ctx, list, s.contactlessSupports)
}

// limitCVM decides the CVM without the card's say: none under the CVM
// limit, else online PIN or signature, whichever the terminal offers.
func (s *Session) limitCVM() error {
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

// cdcvm records a consumer device CVM the card (a phone) performed.
func (s *Session) cdcvm() {
	s.cvm.results = [3]byte{byte(CVMPlaintextPIN), 0x00, cvmResultSuccessful}
	s.cvm.method = CVMPlaintextPIN
	s.cvm.cdcvm = true
}

// setCVM records a CVM decided without a CVM list.
func (s *Session) setCVM(m CVMMethod, result byte) {
	s.cvm.method = m
	s.cvm.results = [3]byte{byte(m), 0x00, result}
}
