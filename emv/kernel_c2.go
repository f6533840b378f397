package emv

import (
	"bytes"
	"context"
)

// EMV Contactless Book C-2 (Mastercard, Maestro): the card reads the
// terminal's data through its PDOL and CDOL, the terminal does
// processing restrictions, CVM processing with the card's CVM list and
// terminal action analysis as on contact, and GENERATE AC gives the
// cryptogram. Tag 9F6C is the card's mag-stripe application version
// here, not Visa's CTQ, and is not read.

// c2TerminalData is the terminal data of a C-2 transaction: the
// terminal capabilities carry the kernel's "CVM capability – CVM
// required" (online PIN, signature) at or over the reader CVM required
// limit and "CVM capability – no CVM required" under it, so the card's
// CVM list and its cryptogram see the same CVMs the terminal offers; the
// mag-stripe application version of the reader (9F6D) is 0001.
func (s *Session) c2TerminalData() {
	caps := bytes.Clone(s.cfg.Capabilities)
	if s.cvmRequired() {
		caps[1] &= capOnlinePIN | capSignature
		if s.pins == nil {
			caps[1] &^= capOnlinePIN
		}
	} else {
		caps[1] = capNoCVM
	}
	s.term[TagTerminalCapabilities] = caps
	s.term[0x9F6D] = []byte{0x00, 0x01}
}

// c2CVM is C-2's CVM selection: a card that supports on device
// cardholder verification (a phone, AIP byte 1 bit 2) has verified the
// cardholder itself when the amount needs a CVM (CDCVM, "confirmation
// code verified"); otherwise the card's CVM list is processed with the
// contactless CVMs (online PIN, signature, no CVM under the limit). A
// card without a CVM list, or whose AIP says no CVM, gets no CVM.
func (s *Session) c2CVM(ctx context.Context) error {
	if s.aip[0]&aipOnDeviceCVM != 0 {
		if s.cvmRequired() {
			s.cdcvm()
		} else {
			s.setCVM(CVMNoCVM, cvmResultSuccessful)
		}
		return nil
	}
	done, err := s.cvmListContactless(ctx)
	if err != nil || done {
		return err
	}
	if !s.cvmRequired() {
		s.setCVM(CVMNoCVM, cvmResultSuccessful)
	}
	return nil
}
