package emv

import (
	"bytes"
	"context"
	"fmt"
)

// cryptogramRank orders cryptogram types: a card may answer with a lower
// one than asked for, never a higher one (AAC < ARQC < TC).
func cryptogramRank(c byte) int {
	switch c & 0xC0 {
	case CryptogramAAC:
		return 0
	case CryptogramARQC:
		return 1
	case CryptogramTC:
		return 2
	}
	return 3
}

// CryptogramName names a cryptogram type: AAC, TC, ARQC.
func CryptogramName(cid byte) string {
	switch cid & 0xC0 {
	case CryptogramAAC:
		return "AAC"
	case CryptogramTC:
		return "TC"
	case CryptogramARQC:
		return "ARQC"
	}
	return "RFU"
}

// generateAC sends GENERATE AC with the data a CDOL asks for and checks
// the answer against the cryptogram requested.
func (s *Session) generateAC(ctx context.Context, name string, cdolTag Tag, requested byte) error {
	cdol, err := ParseDOL(s.icc[cdolTag])
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrCard, cdolTag.Name(), err)
	}
	resp, sw, err := s.exchange(ctx, name, GenerateACCommand(requested, cdol.Build(s.lookup)))
	if err != nil {
		return err
	}
	if sw != SWOK {
		return &StatusError{Command: name, SW: sw}
	}
	cid, err := s.parseGenerateAC(resp)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if cid&0xC0 == 0xC0 || cryptogramRank(cid) > cryptogramRank(requested) {
		return fmt.Errorf("%w: %s: asked for %s, card answered %s", ErrCard, name, CryptogramName(requested), CryptogramName(cid))
	}
	s.cid = cid
	return nil
}

// firstGenerateAC asks the card for its first cryptogram (EMV Book 3,
// 10.8).
func (s *Session) firstGenerateAC(ctx context.Context, requested byte) error {
	s.requested = requested
	if err := s.generateAC(ctx, "first GENERATE AC", TagCDOL1, requested); err != nil {
		return err
	}
	s.tsi.Set(TSICardRiskManagement)
	return nil
}

// parseGenerateAC reads a GENERATE AC (or cryptogram-bearing GPO)
// response in format 1 (80: CID, ATC, AC, IAD) or format 2 (77), stores
// the values and returns the Cryptogram Information Data.
func (s *Session) parseGenerateAC(resp []byte) (byte, error) {
	objs, err := ParseTLV(resp)
	if err != nil || len(objs) != 1 {
		return 0, fmt.Errorf("%w: response is not one template", ErrCard)
	}
	switch o := objs[0]; o.Tag {
	case TagResponseFormat1:
		v := o.Value
		if len(v) < 11 || len(v) > 11+32 {
			return 0, fmt.Errorf("%w: format 1 response of %d bytes", ErrCard, len(v))
		}
		s.icc[TagCID] = bytes.Clone(v[:1])
		s.icc[TagATC] = bytes.Clone(v[1:3])
		s.icc[TagCryptogram] = bytes.Clone(v[3:11])
		if len(v) > 11 {
			s.icc[TagIAD] = bytes.Clone(v[11:])
		}
	case TagResponseFormat2:
		prims, err := Flatten(o.Value)
		if err != nil {
			return 0, fmt.Errorf("%w: format 2 response: %v", ErrCard, err)
		}
		for _, p := range prims {
			s.icc[p.Tag] = bytes.Clone(p.Value)
		}
	default:
		return 0, fmt.Errorf("%w: response template %s", ErrCard, o.Tag)
	}
	cid, ok1 := s.icc[TagCID]
	atc, ok2 := s.icc[TagATC]
	ac, ok3 := s.icc[TagCryptogram]
	if !ok1 || !ok2 || !ok3 || len(cid) != 1 || len(atc) != 2 || len(ac) != 8 {
		return 0, fmt.Errorf("%w: response without CID, ATC or cryptogram", ErrCard)
	}
	return cid[0], nil
}

// declineReason explains an AAC.
func (s *Session) declineReason() string {
	if s.requested == CryptogramAAC && s.iface != Magstripe && s.tx.Type != TypeRefund {
		return fmt.Sprintf("terminal action analysis asked for AAC (TVR %s)", s.tvr)
	}
	if cid, ok := s.icc[TagCID]; ok && len(cid) == 1 && cid[0]&0x08 != 0 {
		switch cid[0] & 0x07 {
		case 0x01:
			return "service not allowed"
		case 0x02:
			return "PIN try limit exceeded"
		case 0x03:
			return "issuer authentication failed"
		}
	}
	return fmt.Sprintf("card answered AAC (TVR %s)", s.tvr)
}

// issuerData is what the host sent for the card.
type issuerData struct {
	auth          []byte   // 91
	before, after [][]byte // values of the 71 and 72 templates
}

// parseIssuerData reads the issuer data of a host response; objects it
// cannot parse are left out.
func parseIssuerData(b []byte) issuerData {
	var d issuerData
	objs, err := ParseTLV(b)
	if err != nil {
		return d
	}
	for _, o := range objs {
		switch o.Tag {
		case 0x55:
			inner := parseIssuerData(o.Value)
			d.auth = append(d.auth, inner.auth...)
			d.before = append(d.before, inner.before...)
			d.after = append(d.after, inner.after...)
		case TagIssuerAuthData:
			if len(o.Value) >= 8 && len(o.Value) <= 16 {
				d.auth = o.Value
			}
		case TagIssuerScript1:
			d.before = append(d.before, o.Value)
		case TagIssuerScript2:
			d.after = append(d.after, o.Value)
		}
	}
	return d
}

// completeContact finishes an online contact transaction: issuer
// authentication, scripts before the final GENERATE AC, the second
// GENERATE AC, scripts after it (EMV Book 3, 10.9-10.10).
func (s *Session) completeContact(ctx context.Context, host HostResponse, approved bool) error {
	issuer := parseIssuerData(host.IssuerData)
	if host.Unreachable {
		issuer = issuerData{}
	}
	cdol2, err := ParseDOL(s.icc[TagCDOL2])
	if err != nil {
		return fmt.Errorf("%w: CDOL2: %v", ErrCard, err)
	}
	if len(issuer.auth) > 0 && s.aip[0]&aipIssuerAuth != 0 {
		s.tsi.Set(TSIIssuerAuthentication)
		s.term[TagIssuerAuthData] = issuer.auth
		if !cdol2.Has(TagIssuerAuthData) {
			_, sw, err := s.exchange(ctx, "EXTERNAL AUTHENTICATE", ExternalAuthenticateCommand(issuer.auth))
			if err != nil {
				return err
			}
			if sw != SWOK {
				s.tvr.Set(TVRIssuerAuthFailed)
			}
		}
	}
	if err := s.runScripts(ctx, issuer.before, TVRScriptFailedBeforeFinalAC); err != nil {
		return err
	}
	requested := CryptogramAAC
	if approved {
		requested = CryptogramTC
	}
	if err := s.generateAC(ctx, "second GENERATE AC", TagCDOL2, requested); err != nil {
		return err
	}
	if s.cid&0xC0 == CryptogramARQC {
		return fmt.Errorf("%w: second GENERATE AC answered ARQC", ErrCard)
	}
	return s.runScripts(ctx, issuer.after, TVRScriptFailedAfterFinalAC)
}

// runScripts sends the commands of issuer script templates to the card and
// records their results (9F5B): per script a result nibble (1 failed, 2
// done) with the failing command's number, then the script identifier.
func (s *Session) runScripts(ctx context.Context, scripts [][]byte, failBit Bit) error {
	for _, sc := range scripts {
		s.tsi.Set(TSIScriptProcessing)
		id := make([]byte, 4)
		var cmds [][]byte
		objs, err := ParseTLV(sc)
		for _, o := range objs {
			switch o.Tag {
			case TagScriptID:
				if len(o.Value) == 4 {
					copy(id, o.Value)
				}
			case TagIssuerScriptCommand:
				cmds = append(cmds, o.Value)
			}
		}
		result := byte(0x20)
		if err != nil || len(cmds) == 0 {
			result = 0x00
			s.tvr.Set(failBit)
		}
		for i, c := range cmds {
			if err != nil {
				break
			}
			_, sw, xerr := s.exchange(ctx, "issuer script command", c)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			sw1 := byte(sw >> 8)
			if xerr != nil || (sw1 != 0x90 && sw1 != 0x62 && sw1 != 0x63) {
				result = 0x10 | byte(min(i+1, 15))
				s.tvr.Set(failBit)
				break
			}
		}
		s.scriptResults = append(append(s.scriptResults, result), id...)
	}
	return nil
}
