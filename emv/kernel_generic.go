package emv

import "context"

// The generic contactless path, for schemes without a kernel of their
// own here (JCB, Discover, UnionPay, Interac, girocard, ...): a card
// that reads the TTQ (its PDOL asks for 9F66) is a qVSDC-style card and
// its 9F6C is read as Card Transaction Qualifiers; any other card's CVM
// list is processed with the contactless CVMs, and without one the CVM
// limit decides.

// genericCVM decides the CVM on the generic path.
func (s *Session) genericCVM(ctx context.Context) error {
	if ctq, ok := s.icc[TagCTQ]; ok && len(ctq) == 2 && s.pdolAsks(TagTTQ) {
		return s.ctqCVM(ctq)
	}
	done, err := s.cvmListContactless(ctx)
	if err != nil || done {
		return err
	}
	return s.limitCVM()
}

// pdolAsks reports whether the card's PDOL asks for a data object.
func (s *Session) pdolAsks(t Tag) bool {
	raw, ok := s.icc[TagPDOL]
	if !ok {
		return false
	}
	d, err := ParseDOL(raw)
	return err == nil && d.Has(t)
}
