package emv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
)

// errGPORefused is GET PROCESSING OPTIONS answered with 6985: the
// application cannot be used for this transaction, try the next one.
var errGPORefused = errors.New("emv: GET PROCESSING OPTIONS refused (6985)")

// AIP bits (byte 1) the kernel acts on; the ODA bits (SDA 40, DDA 20,
// CDA 01) are in odaflow.go.
const (
	aipCVM        = 0x10 // cardholder verification is supported
	aipRiskMgmt   = 0x08 // terminal risk management is to be performed
	aipIssuerAuth = 0x04 // issuer authentication is supported
)

// AFLEntry is one entry of the Application File Locator: records First
// to Last of short file SFI, the first ODA of them used for offline data
// authentication.
type AFLEntry struct {
	SFI, First, Last, ODA byte
}

// ParseAFL parses and checks an Application File Locator (EMV Book 3,
// 10.2).
func ParseAFL(b []byte) ([]AFLEntry, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("%w: AFL of %d bytes", ErrCard, len(b))
	}
	out := make([]AFLEntry, 0, len(b)/4)
	for i := 0; i < len(b); i += 4 {
		e := AFLEntry{SFI: b[i] >> 3, First: b[i+1], Last: b[i+2], ODA: b[i+3]}
		if b[i]&0x07 != 0 || e.SFI < 1 || e.SFI > 30 || e.First == 0 || e.Last < e.First ||
			int(e.ODA) > int(e.Last-e.First)+1 {
			return nil, fmt.Errorf("%w: bad AFL entry % X", ErrCard, b[i:i+4])
		}
		out = append(out, e)
	}
	return out, nil
}

// initiate starts the selected application: GET PROCESSING OPTIONS with
// the PDOL data (EMV Book 3, 10.1).
func (s *Session) initiate(ctx context.Context, c Candidate, fci []byte) error {
	s.app = c
	s.icc = map[Tag][]byte{}
	s.oda = odaState{}
	objs, err := Flatten(fci)
	if err != nil {
		return fmt.Errorf("%w: application FCI: %v", ErrCard, err)
	}
	for _, o := range objs {
		if _, dup := s.icc[o.Tag]; !dup {
			s.icc[o.Tag] = bytes.Clone(o.Value)
		}
	}
	if len(c.config.Version) > 0 {
		s.term[TagAppVersionTerminal] = bytes.Clone(c.config.Version)
	} else {
		delete(s.term, TagAppVersionTerminal)
	}
	delete(s.term, TagTransactionCategory)
	if code := s.cfg.TransactionCategoryCode; code != "" && (c.config.Scheme == "mastercard" || c.config.Scheme == "maestro") {
		s.term[TagTransactionCategory] = []byte(code)
	}
	if s.iface == Contactless {
		s.contactlessTerminalData()
	}
	var pdolData []byte
	if raw, ok := s.icc[TagPDOL]; ok {
		pdol, err := ParseDOL(raw)
		if err != nil {
			return fmt.Errorf("%w: PDOL: %v", ErrCard, err)
		}
		pdolData = pdol.Build(s.lookup)
	}
	s.oda.pdolData = pdolData
	resp, sw, err := s.exchange(ctx, "GET PROCESSING OPTIONS", GPOCommand(pdolData))
	if err != nil {
		return err
	}
	switch sw {
	case SWOK:
	case SWConditionsNotMet:
		if s.iface == Contactless {
			return fmt.Errorf("%w: card asks for another interface (GPO 6985)", ErrInsertCard)
		}
		return errGPORefused
	default:
		return &StatusError{Command: "GET PROCESSING OPTIONS", SW: sw}
	}
	return s.parseGPO(resp)
}

// parseGPO reads the GET PROCESSING OPTIONS response in format 1 (80:
// AIP and AFL) or format 2 (77: tagged data objects).
func (s *Session) parseGPO(resp []byte) error {
	objs, err := ParseTLV(resp)
	if err != nil || len(objs) != 1 {
		return fmt.Errorf("%w: GPO response is not one template", ErrCard)
	}
	switch o := objs[0]; o.Tag {
	case TagResponseFormat1:
		if len(o.Value) < 2 {
			return fmt.Errorf("%w: GPO format 1 too short", ErrCard)
		}
		s.icc[TagAIP] = bytes.Clone(o.Value[:2])
		s.icc[TagAFL] = bytes.Clone(o.Value[2:])
	case TagResponseFormat2:
		prims, err := Flatten(o.Value)
		if err != nil {
			return fmt.Errorf("%w: GPO format 2: %v", ErrCard, err)
		}
		for _, p := range prims {
			s.icc[p.Tag] = bytes.Clone(p.Value)
		}
		if _, ok := s.icc[TagAFL]; !ok && s.iface == Contactless {
			s.icc[TagAFL] = nil
		}
	default:
		return fmt.Errorf("%w: GPO response template %s", ErrCard, o.Tag)
	}
	aip, ok := s.icc[TagAIP]
	if !ok || len(aip) != 2 {
		return fmt.Errorf("%w: GPO response without AIP", ErrCard)
	}
	if _, ok := s.icc[TagAFL]; !ok {
		return fmt.Errorf("%w: GPO response without AFL", ErrCard)
	}
	copy(s.aip[:], aip)
	return nil
}

// readRecords reads every record the AFL names (EMV Book 3, 10.2). A
// primitive data object met twice in the records ends the transaction.
func (s *Session) readRecords(ctx context.Context) error {
	afl, err := ParseAFL(s.icc[TagAFL])
	if err != nil {
		return err
	}
	var cmds [][]byte
	for _, e := range afl {
		for rec := int(e.First); rec <= int(e.Last); rec++ {
			cmds = append(cmds, ReadRecordCommand(e.SFI, byte(rec)))
		}
	}
	// One reader round trip for all of them where the reader can.
	answers, err := s.exchangeAll(ctx, "READ RECORD", cmds)
	if err != nil {
		return err
	}
	seen := map[Tag]bool{}
	for _, e := range afl {
		for rec := int(e.First); rec <= int(e.Last); rec++ {
			data, sw := answers[0].data, answers[0].sw
			answers = answers[1:]
			if sw != SWOK {
				return &StatusError{Command: fmt.Sprintf("READ RECORD SFI %d record %d", e.SFI, rec), SW: sw}
			}
			s.oda.addRecord(e, rec, data)
			if e.SFI > 10 {
				continue // proprietary format, only for offline data authentication
			}
			objs, err := ParseTLV(data)
			if err != nil || len(objs) != 1 || objs[0].Tag != TagRecordTemplate {
				return fmt.Errorf("%w: SFI %d record %d is not a 70 template", ErrCard, e.SFI, rec)
			}
			prims, err := Flatten(objs[0].Value)
			if err != nil {
				return fmt.Errorf("%w: SFI %d record %d: %v", ErrCard, e.SFI, rec, err)
			}
			for _, p := range prims {
				if seen[p.Tag] {
					return fmt.Errorf("%w: tag %s appears twice in the records", ErrCard, p.Tag)
				}
				seen[p.Tag] = true
				s.icc[p.Tag] = bytes.Clone(p.Value)
			}
		}
	}
	return nil
}

// checkMandatory checks the data every application must have and takes
// the PAN and expiry date from it (EMV Book 3, 7.2).
func (s *Session) checkMandatory() error {
	var missing []string
	need := []Tag{TagPAN, TagExpiryDate}
	if s.iface == Contact {
		need = append(need, TagCDOL1, TagCDOL2)
	}
	if s.iface == Contactless {
		if t2, ok := s.icc[TagTrack2]; ok {
			tr, err := ParseTrack2Equivalent(t2)
			if err != nil {
				return err
			}
			s.track = tr
			if _, ok := s.icc[TagPAN]; !ok {
				s.icc[TagPAN], _ = packPAN(tr.PAN)
			}
			if _, ok := s.icc[TagExpiryDate]; !ok {
				s.icc[TagExpiryDate], _ = bcd(tr.Expiry+"31", 3)
			}
		}
	}
	for _, t := range need {
		if _, ok := s.icc[t]; !ok {
			missing = append(missing, t.String())
		}
	}
	if len(missing) > 0 {
		s.tvr.Set(TVRICCDataMissing)
		return fmt.Errorf("%w: mandatory data missing: %v", ErrCard, missing)
	}
	pan := digits(s.icc[TagPAN])
	if len(pan) < 12 || len(pan) > 19 {
		return fmt.Errorf("%w: PAN of %d digits", ErrCard, len(pan))
	}
	if exp := s.icc[TagExpiryDate]; len(exp) != 3 || len(digits(exp)) != 6 {
		return fmt.Errorf("%w: bad expiry date", ErrCard)
	}
	if t2, ok := s.icc[TagTrack2]; ok && s.track.PAN == "" {
		if tr, err := ParseTrack2Equivalent(t2); err == nil {
			s.track = tr
		}
	}
	if s.track.PAN != "" && s.track.PAN != pan {
		return fmt.Errorf("%w: track 2 and PAN disagree", ErrCard)
	}
	return nil
}

// packPAN packs PAN digits as compressed numeric (F padded).
func packPAN(pan string) ([]byte, error) {
	if len(pan)%2 == 1 {
		pan += "F"
	}
	out := make([]byte, len(pan)/2)
	for i := 0; i < len(pan); i++ {
		c := pan[i]
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c == 'F':
			d = 0x0F
		default:
			return nil, fmt.Errorf("emv: PAN digit %q", c)
		}
		if i%2 == 0 {
			out[i/2] = d << 4
		} else {
			out[i/2] |= d
		}
	}
	return out, nil
}
