package emv

import (
	"bytes"
	"context"
	"errors"
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
	data := cdol.Build(s.lookup)
	p1 := requested
	cda := s.oda.cda && requested != CryptogramAAC
	if cda {
		p1 |= cdaRequested
	}
	resp, sw, err := s.exchange(ctx, name, GenerateACCommand(p1, data))
	if err != nil {
		return err
	}
	if sw != SWOK {
		return &StatusError{Command: name, SW: sw}
	}
	s.oda.cdolData = append(s.oda.cdolData, data)
	cid, err := s.parseGenerateAC(resp)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if cid&0xC0 == 0xC0 || cryptogramRank(cid) > cryptogramRank(requested) {
		return fmt.Errorf("%w: %s: asked for %s, card answered %s", ErrCard, name, CryptogramName(requested), CryptogramName(cid))
	}
	s.cid = cid
	if cda && cid&0xC0 != CryptogramAAC {
		if err := s.verifyCDA(resp, cid); err != nil {
			return err
		}
	}
	if _, ok := s.icc[TagCryptogram]; !ok {
		return fmt.Errorf("%w: %s: answer without cryptogram", ErrCard, name)
	}
	return nil
}

// firstGenerateAC asks the card for its first cryptogram (EMV Book 3,
// 10.8).
func (s *Session) firstGenerateAC(ctx context.Context, requested byte) error {
	s.requested = requested
	err := s.generateAC(ctx, "first GENERATE AC", TagCDOL1, requested)
	if errors.Is(err, errCDAFailed) {
		s.tsi.Set(TSICardRiskManagement)
		return s.declineAfterCDAFailure(ctx, err)
	}
	if err != nil {
		return err
	}
	s.tsi.Set(TSICardRiskManagement)
	return nil
}

// declineAfterCDAFailure ends a transaction whose first GENERATE AC
// answer failed CDA: the card gets a second GENERATE AC asking for an AAC
// (ARC Z1, declined offline) and the transaction is declined (EMV Book 2,
// 6.6.2; Book 3, 10.8).
func (s *Session) declineAfterCDAFailure(ctx context.Context, cause error) error {
	s.arc = "Z1"
	s.term[TagARC] = []byte(s.arc)
	err := s.generateAC(ctx, "second GENERATE AC", TagCDOL2, CryptogramAAC)
	var status *StatusError
	if err != nil && !errors.Is(err, ErrCard) && !errors.As(err, &status) {
		return err // the card link broke, or a cancel
	}
	return &DeclineError{Reason: cause.Error()}
}

// parseGenerateAC reads a GENERATE AC (or cryptogram-bearing GPO)
// response in format 1 (80: CID, ATC, AC, IAD) or format 2 (77), stores
// the values and returns the Cryptogram Information Data.
func (s *Session) parseGenerateAC(resp []byte) (byte, error) {
	objs, err := ParseTLV(resp)
	if err != nil || len(objs) != 1 {
		return 0, fmt.Errorf("%w: response is not one template", ErrCard)
	}
	delete(s.icc, TagCryptogram)
	delete(s.icc, TagSignedDynamicData)
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
	if _, signed := s.icc[TagSignedDynamicData]; !ok3 && signed {
		ok3, ac = true, make([]byte, 8) // CDA: the cryptogram is in the signature
	}
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
		if errors.Is(err, errCDAFailed) {
			return &DeclineError{Reason: err.Error()}
		}
		return err
	}
	if s.cid&0xC0 == CryptogramARQC {
		return fmt.Errorf("%w: second GENERATE AC answered ARQC", ErrCard)
	}
	return s.runScripts(ctx, issuer.after, TVRScriptFailedAfterFinalAC)
}

// Issuer script results (9F5B), high nibble of the first byte (EMV Book 3,
// Annex A): the low nibble is the number of the failing command (0 when
// none is to blame, F for the 15th and later).
const (
	scriptNotPerformed = 0x00
	scriptFailed       = 0x10
	scriptDone         = 0x20
)

// runScripts sends the commands of issuer script templates to the card and
// records their results (9F5B): per script a result byte, then the script
// identifier (zeros when the script has none). A script that does not
// parse, carries no command, or names a script identifier of the wrong
// length failed (1, command 0); a command the card refuses fails the
// script at that command. Scripts past the terminal's script limit
// (Config.ScriptLimit, counted over 71 and 72 together with tag and
// length) are not performed (0), and the TVR says script processing
// failed: the issuer's update did not reach the card.
func (s *Session) runScripts(ctx context.Context, scripts [][]byte, failBit Bit) error {
	for _, sc := range scripts {
		s.tsi.Set(TSIScriptProcessing)
		id := make([]byte, 4)
		var cmds [][]byte
		objs, err := ParseTLV(sc)
		for _, o := range objs {
			switch o.Tag {
			case TagScriptID:
				if len(o.Value) != 4 {
					err = fmt.Errorf("script identifier of %d bytes", len(o.Value))
				}
				copy(id, o.Value)
			case TagIssuerScriptCommand:
				cmds = append(cmds, o.Value)
			default:
				err = fmt.Errorf("tag %s in an issuer script", o.Tag)
			}
		}
		s.scriptBytes += len(AppendTLV(nil, TagIssuerScript1, sc))
		result := byte(scriptDone)
		switch {
		case s.scriptBytes > s.cfg.ScriptLimit:
			result, err = scriptNotPerformed, errors.New("over the script limit")
			s.tvr.Set(failBit)
		case err != nil || len(cmds) == 0:
			result, err = scriptFailed, errors.New("malformed script")
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
				result = scriptFailed | byte(min(i+1, 15))
				s.tvr.Set(failBit)
				break
			}
		}
		s.scriptResults = append(append(s.scriptResults, result), id...)
	}
	return nil
}
