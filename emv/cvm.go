package emv

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
)

// CVMMethod is a cardholder verification method code (the low six bits of
// a CVM rule's first byte, EMV Book 3 Annex C3).
type CVMMethod byte

// CVM methods.
const (
	CVMFail                   CVMMethod = 0x00
	CVMPlaintextPIN           CVMMethod = 0x01
	CVMOnlinePIN              CVMMethod = 0x02
	CVMPlaintextPINSignature  CVMMethod = 0x03
	CVMEncipheredPIN          CVMMethod = 0x04
	CVMEncipheredPINSignature CVMMethod = 0x05
	CVMSignature              CVMMethod = 0x1E
	CVMNoCVM                  CVMMethod = 0x1F
	CVMNone                   CVMMethod = 0x3F // no CVM performed (in CVM Results)
)

// String names the method.
func (m CVMMethod) String() string {
	switch m {
	case CVMFail:
		return "fail CVM processing"
	case CVMPlaintextPIN:
		return "plaintext PIN verified by ICC"
	case CVMOnlinePIN:
		return "enciphered PIN verified online"
	case CVMPlaintextPINSignature:
		return "plaintext PIN verified by ICC and signature"
	case CVMEncipheredPIN:
		return "enciphered PIN verified by ICC"
	case CVMEncipheredPINSignature:
		return "enciphered PIN verified by ICC and signature"
	case CVMSignature:
		return "signature"
	case CVMNoCVM:
		return "no CVM required"
	case CVMNone:
		return "no CVM performed"
	}
	return fmt.Sprintf("CVM %02X", byte(m))
}

func (m CVMMethod) recognised() bool {
	return m <= CVMEncipheredPINSignature || m == CVMSignature || m == CVMNoCVM
}

// CVMRule is one rule of a CVM list.
type CVMRule struct {
	Method    CVMMethod
	Condition byte
	// ApplyNext says to try the next rule when this one fails (bit 7).
	ApplyNext bool
}

// CVMList is the card's Cardholder Verification Method List (8E): amounts
// X and Y in the application currency, then the rules in order.
type CVMList struct {
	X, Y  uint32
	Rules []CVMRule
}

// ParseCVMList parses tag 8E.
func ParseCVMList(b []byte) (CVMList, error) {
	if len(b) < 8 || len(b)%2 != 0 {
		return CVMList{}, fmt.Errorf("%w: CVM list of %d bytes", ErrCard, len(b))
	}
	l := CVMList{X: binary.BigEndian.Uint32(b), Y: binary.BigEndian.Uint32(b[4:])}
	for i := 8; i < len(b); i += 2 {
		l.Rules = append(l.Rules, CVMRule{Method: CVMMethod(b[i] & 0x3F), Condition: b[i+1], ApplyNext: b[i]&0x40 != 0})
	}
	return l, nil
}

// cvmConditions is what CVM conditions are evaluated against.
type cvmConditions struct {
	txType      TransactionType
	amount      int64
	appCurrency bool // the transaction is in the application currency
	unattended  bool
	supports    func(CVMMethod) bool
}

// met evaluates a CVM condition code (EMV Book 3 Annex C3). understood is
// false for codes the terminal does not know, which skip the rule.
func (c cvmConditions) met(cond byte, m CVMMethod, x, y uint32) (met, understood bool) {
	cash := c.txType == TypeCash
	switch cond {
	case 0x00:
		return true, true
	case 0x01:
		return c.unattended && cash, true
	case 0x02:
		return !cash && c.txType != TypeCashback, true
	case 0x03:
		return c.supports(m), true
	case 0x04:
		return !c.unattended && cash, true
	case 0x05:
		return c.txType == TypeCashback, true
	case 0x06:
		return c.appCurrency && c.amount < int64(x), true
	case 0x07:
		return c.appCurrency && c.amount > int64(x), true
	case 0x08:
		return c.appCurrency && c.amount < int64(y), true
	case 0x09:
		return c.appCurrency && c.amount > int64(y), true
	}
	return false, false
}

// cvmOutcome is what cardholder verification did.
type cvmOutcome struct {
	results   [3]byte
	method    CVMMethod
	signature bool
	offline   bool // offline PIN verified
	onlinePIN bool
	cdcvm     bool
	// pendingOnlinePIN is an online PIN decided on a contactless card and
	// asked for after the card has answered.
	pendingOnlinePIN bool
	pinBlock         []byte
	ksn              []byte
}

// CVM Results byte 3.
const (
	cvmResultUnknown    = 0x00
	cvmResultFailed     = 0x01
	cvmResultSuccessful = 0x02
)

// verifyCardholder runs CVM processing for a contact transaction (EMV
// Book 3, 10.5).
func (s *Session) verifyCardholder(ctx context.Context) error {
	s.cvm.results = [3]byte{byte(CVMNone), 0x00, cvmResultUnknown}
	s.cvm.method = CVMNone
	if s.aip[0]&aipCVM == 0 {
		return nil
	}
	raw, ok := s.icc[TagCVMList]
	list, err := ParseCVMList(raw)
	if !ok || err != nil || len(list.Rules) == 0 {
		s.tvr.Set(TVRICCDataMissing)
		return nil
	}
	s.tsi.Set(TSICardholderVerification)
	return s.processCVMList(ctx, list, s.contactSupports)
}

// processCVMList applies the rules of a CVM list in order until one
// succeeds or a failing one says not to go on.
func (s *Session) processCVMList(ctx context.Context, list CVMList, supports func(CVMMethod) bool) error {
	cond := s.cvmConditions(supports)
	var last *CVMRule
	for i := range list.Rules {
		r := list.Rules[i]
		met, understood := cond.met(r.Condition, r.Method, list.X, list.Y)
		if !understood || !met {
			continue
		}
		last = &list.Rules[i]
		ok, err := s.performCVM(ctx, r, supports)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if !r.ApplyNext {
			break
		}
	}
	s.tvr.Set(TVRCVMFailed)
	s.cvm.signature, s.cvm.offline = false, false
	s.cvm.method = CVMNone
	if last == nil {
		s.cvm.results = [3]byte{byte(CVMNone), 0x00, cvmResultFailed}
	} else {
		s.cvm.results = [3]byte{ruleByte(*last), last.Condition, cvmResultFailed}
	}
	return nil
}

func ruleByte(r CVMRule) byte {
	b := byte(r.Method)
	if r.ApplyNext {
		b |= 0x40
	}
	return b
}

func (s *Session) cvmConditions(supports func(CVMMethod) bool) cvmConditions {
	appCur, ok := s.icc[TagApplicationCurrency]
	tt := s.cfg.TerminalType & 0x0F
	return cvmConditions{
		txType:      s.tx.Type,
		amount:      s.tx.Amount,
		appCurrency: ok && string(appCur) == string(s.term[TagTransactionCurrency]),
		unattended:  tt >= 4,
		supports:    supports,
	}
}

// contactSupports says which CVMs the terminal can perform on a contact
// transaction.
func (s *Session) contactSupports(m CVMMethod) bool {
	caps := s.cfg.Capabilities[1]
	switch m {
	case CVMFail:
		return true
	case CVMPlaintextPIN:
		return caps&capPlaintextPIN != 0 && s.pins != nil
	case CVMOnlinePIN:
		return caps&capOnlinePIN != 0 && s.pins != nil
	case CVMPlaintextPINSignature:
		return caps&capPlaintextPIN != 0 && caps&capSignature != 0 && s.pins != nil
	case CVMSignature:
		return caps&capSignature != 0
	case CVMNoCVM:
		return caps&capNoCVM != 0
	}
	return false // enciphered offline PIN needs the ICC's public key
}

func isPIN(m CVMMethod) bool {
	return m >= CVMPlaintextPIN && m <= CVMEncipheredPINSignature
}

// performCVM performs one rule's method and reports whether it succeeded.
func (s *Session) performCVM(ctx context.Context, r CVMRule, supports func(CVMMethod) bool) (bool, error) {
	m := r.Method
	if !m.recognised() {
		s.tvr.Set(TVRUnrecognisedCVM)
		return false, nil
	}
	if !supports(m) {
		if isPIN(m) {
			s.tvr.Set(TVRPINPadNotPresent)
		}
		return false, nil
	}
	result := byte(cvmResultUnknown)
	switch m {
	case CVMFail:
		return false, nil
	case CVMPlaintextPIN, CVMPlaintextPINSignature:
		ok, err := s.offlinePIN(ctx)
		if err != nil || !ok {
			return false, err
		}
		s.cvm.offline = true
		if m == CVMPlaintextPINSignature {
			s.cvm.signature = true
		} else {
			result = cvmResultSuccessful
		}
	case CVMOnlinePIN:
		if s.deferPIN {
			s.cvm.pendingOnlinePIN = true
			break
		}
		ok, err := s.onlinePIN(ctx)
		if err != nil || !ok {
			return false, err
		}
	case CVMSignature:
		s.cvm.signature = true
	case CVMNoCVM:
		result = cvmResultSuccessful
	default:
		return false, nil
	}
	s.cvm.method = m
	s.cvm.results = [3]byte{ruleByte(r), r.Condition, result}
	return true, nil
}

// pinRequest describes the transaction to the PIN pad.
func (s *Session) pinRequest(tries int) PINRequest {
	pan := s.track.PAN
	if v, ok := s.icc[TagPAN]; ok {
		pan = digits(v)
	}
	return PINRequest{PAN: pan, Amount: s.tx.Amount, Currency: s.tx.Currency, TriesLeft: tries}
}

// maxPINAttempts bounds the offline PIN prompts of one transaction.
const maxPINAttempts = 16

// offlinePIN has the PIN pad collect a plaintext offline PIN and present
// it to the card until it is verified or the tries run out.
func (s *Session) offlinePIN(ctx context.Context) (bool, error) {
	tries := -1
	if v, ok := s.icc[TagPINTryCounter]; ok && len(v) == 1 {
		tries = int(v[0])
	} else {
		resp, sw, err := s.exchange(ctx, "GET DATA PIN try counter", GetDataCommand(TagPINTryCounter))
		if err != nil {
			return false, err
		}
		if v, ok := Find(resp, TagPINTryCounter); sw == SWOK && ok && len(v) == 1 {
			tries = int(v[0])
		}
	}
	if tries == 0 {
		s.tvr.Set(TVRPINTryLimitExceeded)
		return false, nil
	}
	for range maxPINAttempts {
		res, err := s.pins.OfflinePIN(ctx, s.pinRequest(tries))
		if ended, err := s.pinEntryEnded(ctx, err, "offline PIN"); ended {
			return false, err
		}
		switch res.Status {
		case PINVerified:
			return true, nil
		case PINWrong:
			tries = res.TriesLeft
			if tries > 0 {
				continue
			}
			s.tvr.Set(TVRPINTryLimitExceeded)
			return false, nil
		case PINBlocked:
			s.tvr.Set(TVRPINTryLimitExceeded)
			return false, nil
		default:
			return false, fmt.Errorf("emv: PIN pad returned offline PIN status %d", res.Status)
		}
	}
	s.tvr.Set(TVRPINTryLimitExceeded)
	return false, nil
}

// pinEntryEnded reads the PIN pad's error: the entry ended without a PIN
// when the context ended, the cardholder bypassed it (TVR: PIN not
// entered) or there is no PIN pad (TVR: PIN pad not present), which are
// CVM failures and not errors, or when the PIN pad failed (an error).
func (s *Session) pinEntryEnded(ctx context.Context, err error, what string) (bool, error) {
	switch {
	case ctx.Err() != nil:
		return true, ctx.Err()
	case errors.Is(err, ErrPINBypassed):
		s.tvr.Set(TVRPINNotEntered)
		return true, nil
	case errors.Is(err, ErrPINPadUnavailable):
		s.tvr.Set(TVRPINPadNotPresent)
		return true, nil
	case err != nil:
		return true, fmt.Errorf("%s: %w", what, err)
	}
	return false, nil
}

// onlinePIN has the PIN pad collect an enciphered online PIN.
func (s *Session) onlinePIN(ctx context.Context) (bool, error) {
	pin, err := s.pins.OnlinePIN(ctx, s.pinRequest(-1))
	if ended, err := s.pinEntryEnded(ctx, err, "online PIN"); ended {
		return false, err
	}
	if len(pin.Block) == 0 {
		return false, errors.New("emv: PIN pad returned an empty PIN block")
	}
	s.tvr.Set(TVROnlinePINEntered)
	s.cvm.onlinePIN = true
	s.cvm.pinBlock, s.cvm.ksn = pin.Block, pin.KSN
	return true, nil
}
