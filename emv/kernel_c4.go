package emv

import "context"

// EMV Contactless Book C-4 (American Express Expresspay): the terminal
// tells the card what it can do in the Contactless Reader Capabilities
// (9F6D) and the Enhanced Contactless Reader Capabilities (9F6E), the
// card's CVM list decides the CVM (or the phone's mobile CVM), and
// GENERATE AC gives the cryptogram after terminal action analysis.

// Enhanced Contactless Reader Capabilities (9F6E) bits.
const (
	amexContact        = 0x80 // byte 1: contact mode supported
	amexEMVFullOnline  = 0x20 // byte 1: contactless EMV full online mode supported
	amexMobileCVM      = 0x80 // byte 2: mobile CVM supported
	amexOnlinePIN      = 0x40 // byte 2: online PIN supported
	amexSignature      = 0x20 // byte 2: signature supported
	amexCVMRequired    = 0x08 // byte 3: CVM required
	amexKernelVersion  = 0x03 // byte 4: Expresspay kernel version 3.x
	amexReaderCaps     = 0xC0 // 9F6D: Expresspay 3.0 or later, capabilities in 9F6E
	amexReaderCVMReqd  = 0x08 // 9F6D: CVM required
	amexMobileCVMOK    = 0x02 // Mobile CVM Results (9F71) byte 3: successful
	tagAmexMobileCVMRs = Tag(0x9F71)
)

// c4TerminalData is Amex's view of the terminal: contact and contactless
// EMV full online, mobile CVM, online PIN when there is a PIN pad,
// signature, and whether this amount needs a CVM.
func (s *Session) c4TerminalData() {
	caps := []byte{amexContact | amexEMVFullOnline, amexMobileCVM, 0x00, amexKernelVersion}
	if s.pins != nil && s.cfg.Capabilities[1]&capOnlinePIN != 0 {
		caps[1] |= amexOnlinePIN
	}
	if s.cfg.Capabilities[1]&capSignature != 0 {
		caps[1] |= amexSignature
	}
	reader := byte(amexReaderCaps)
	if s.cvmRequired() {
		caps[2] |= amexCVMRequired
		reader |= amexReaderCVMReqd
	}
	s.term[TagFormFactor] = caps
	s.term[0x9F6D] = []byte{reader}
}

// c4CVM: under the reader CVM required limit no CVM is performed (the
// card's CVM list is not processed); at or over it, a phone that reports
// a successful mobile CVM (9F71) has verified the cardholder, else the
// card's CVM list decides with the contactless CVMs, and without one the
// terminal's online PIN or signature.
func (s *Session) c4CVM(ctx context.Context) error {
	if !s.cvmRequired() {
		s.setCVM(CVMNoCVM, cvmResultSuccessful)
		return nil
	}
	if v, ok := s.icc[tagAmexMobileCVMRs]; ok && len(v) == 3 && v[2] == amexMobileCVMOK && s.cvmRequired() {
		s.cdcvm()
		return nil
	}
	done, err := s.cvmListContactless(ctx)
	if err != nil || done {
		return err
	}
	return s.limitCVM()
}
