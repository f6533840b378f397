package emv

import (
	"bytes"
	"fmt"

	"github.com/vinr/cashlessd/pan"
)

// Decision is where a transaction stands after Read or Complete.
type Decision int

// Decisions.
const (
	// DecisionOnline: the card asks for the host (ARQC); call Complete
	// with the host's answer.
	DecisionOnline Decision = iota + 1
	// DecisionApproved: approved (TC at the second GENERATE AC, or the
	// host's approval for contactless and swipe).
	DecisionApproved
	// DecisionDeclined: declined by the card (AAC) or by the host.
	DecisionDeclined
)

// String names the decision.
func (d Decision) String() string {
	switch d {
	case DecisionOnline:
		return "online"
	case DecisionApproved:
		return "approved"
	case DecisionDeclined:
		return "declined"
	}
	return "none"
}

// Outcome is what the kernel learned from the card. PAN, Track2, PINBlock
// and KSN are sensitive: memory only, never stored or logged; String and
// GoString leave them out.
type Outcome struct {
	Decision  Decision
	Interface Interface

	// PAN is the full card number. Memory only.
	PAN string
	// Track2 is track 2 (swipe) or the chip's track 2 equivalent as
	// "PAN=YYMMSSS...". Memory only.
	Track2      string
	ExpiryYYMM  string
	PANSequence string // 5F34, two digits, "" when the card has none
	ServiceCode string

	Scheme           string
	CardholderName   string
	AID              string // hex
	ApplicationLabel string // preferred name when printable, else label

	TVR            TVR
	TSI            TSI
	CryptogramType string // ARQC, TC or AAC
	Cryptogram     Hex    // 9F26
	ATC            Hex    // 9F36
	CID            byte   // 9F27

	CVM               CVMMethod
	CVMResults        [3]byte // 9F34
	SignatureRequired bool
	// PINVerified: an offline PIN was verified by the card, or a
	// consumer device CVM was performed.
	PINVerified bool
	// OnlinePIN: an enciphered PIN goes to the host in PINBlock.
	OnlinePIN bool
	PINBlock  []byte
	KSN       []byte

	// ICCData is the chip data for the host (the contents of ISO 8583
	// field 55, without the 55 tag itself).
	ICCData []byte
	// ScriptResults is the Issuer Script Results (9F5B) after Complete.
	ScriptResults []byte
	// AuthResponseCode is the code sent to the card in the second
	// GENERATE AC (8A): the host's response code, Y3 when the terminal
	// asked for an offline approval, Z3 when the host could not be reached
	// and the terminal declined.
	AuthResponseCode string
	// Offline is set after Complete when the card approved offline (TC at
	// the second GENERATE AC, ARC Y3) because the host could not be
	// reached: the host knows nothing of the transaction until the advice
	// reaches it, which carries this outcome's ICCData (the TC).
	Offline bool
	// POSEntryMode is "05" chip, "07" contactless, "90" swipe, "80"
	// fallback swipe.
	POSEntryMode string
	Fallback     bool

	// ODA is the offline data authentication performed (ODANone when the
	// card and the terminal share none); the TVR says whether it failed,
	// and ODAError why.
	ODA    ODAMethod
	odaErr error
}

// MaskedPAN is the PAN with every digit but the last four masked.
func (o Outcome) MaskedPAN() string { return pan.Mask(o.PAN) }

// Approved reports whether the transaction is approved.
func (o Outcome) Approved() bool { return o.Decision == DecisionApproved }

// String describes the outcome without sensitive data.
func (o Outcome) String() string {
	return fmt.Sprintf("Outcome{%s %s %s %s AID:%s TVR:%s TSI:%s %s CVM:%q}",
		o.Decision, o.Interface, o.Scheme, o.MaskedPAN(), o.AID, o.TVR, o.TSI, o.CryptogramType, o.CVM)
}

// GoString is String: %#v must not print the PAN either.
func (o Outcome) GoString() string { return o.String() }

// aidSchemes maps RID and AID prefixes to schemes, longest first. It is
// read-only.
var aidSchemes = []struct {
	prefix []byte
	scheme string
}{
	{[]byte{0xA0, 0x00, 0x00, 0x00, 0x04, 0x30, 0x60}, "maestro"},
	{[]byte{0xA0, 0x00, 0x00, 0x00, 0x03}, "visa"},
	{[]byte{0xA0, 0x00, 0x00, 0x00, 0x04}, "mastercard"},
	{[]byte{0xA0, 0x00, 0x00, 0x00, 0x25}, "amex"},
	{[]byte{0xA0, 0x00, 0x00, 0x01, 0x52}, "discover"},
	{[]byte{0xA0, 0x00, 0x00, 0x03, 0x24}, "discover"},
	{[]byte{0xA0, 0x00, 0x00, 0x00, 0x65}, "jcb"},
	{[]byte{0xA0, 0x00, 0x00, 0x03, 0x33}, "unionpay"},
	{[]byte{0xA0, 0x00, 0x00, 0x02, 0x77}, "interac"},
}

// SchemeFromAID names the scheme of an application identifier, "" when
// unknown.
func SchemeFromAID(aid []byte) string {
	for _, e := range aidSchemes {
		if bytes.HasPrefix(aid, e.prefix) {
			return e.scheme
		}
	}
	return ""
}

// iccDataTags are the chip data sent to the host, in order.
var iccDataTags = [...]Tag{
	TagCryptogram, TagCID, TagIAD, TagUnpredictableNumber, TagATC, TagTVR,
	TagTransactionDate, TagTransactionType, TagAmountAuthorised, TagTransactionCurrency,
	TagAIP, TagTerminalCountry, TagAmountOther, TagTerminalCapabilities, TagCVMResults,
	TagDFName, TagTerminalType, TagAppVersionCard, TagAppVersionTerminal, TagIFDSerial, TagSequenceCounter,
	TagPANSequence, TagTTQ, TagTransactionCategory, TagFormFactor, TagCustomerExclusiveData, TagIssuerScriptResults,
	TagARC,
}

// iccData builds the chip data for the host.
func (s *Session) iccData() []byte {
	var out []byte
	for _, t := range iccDataTags {
		var v []byte
		ok := false
		switch t {
		case TagTVR, TagCVMResults:
			v, ok = s.lookup(t)
		case TagIssuerScriptResults:
			v, ok = s.scriptResults, len(s.scriptResults) > 0
		case TagDFName:
			v, ok = s.app.AID, len(s.app.AID) > 0
		case TagTTQ, TagARC, TagAppVersionTerminal, TagTransactionCategory, TagIFDSerial, TagSequenceCounter:
			// 8A only after Complete: the code the card was given.
			v, ok = s.term[t]
		default:
			if v, ok = s.icc[t]; !ok {
				v, ok = s.term[t]
			}
		}
		if ok {
			out = AppendTLV(out, t, v)
		}
	}
	return out
}

// outcome describes the session as it stands.
func (s *Session) outcome(d Decision) Outcome {
	o := Outcome{
		Decision:          d,
		Interface:         s.iface,
		TVR:               s.tvr,
		TSI:               s.tsi,
		CVM:               s.cvm.method,
		CVMResults:        s.cvm.results,
		SignatureRequired: s.cvm.signature,
		PINVerified:       s.cvm.offline || s.cvm.cdcvm,
		OnlinePIN:         s.cvm.onlinePIN,
		PINBlock:          s.cvm.pinBlock,
		KSN:               s.cvm.ksn,
		AuthResponseCode:  s.arc,
		ScriptResults:     bytes.Clone(s.scriptResults),
		ODA:               s.oda.method,
		odaErr:            s.odaErr,
	}
	if s.iface == Magstripe {
		o.PAN = s.track.PAN
		o.ExpiryYYMM = s.track.Expiry
		o.ServiceCode = s.track.ServiceCode
		o.Track2 = s.track.ASCII()
		o.Scheme = pan.Scheme(o.PAN)
		o.POSEntryMode = "90"
		if s.fallback && s.track.ChipCard() {
			o.POSEntryMode = "80"
			o.Fallback = true
		}
		return o
	}
	o.POSEntryMode = "05"
	if s.iface == Contactless {
		o.POSEntryMode = "07"
	}
	o.PAN = digits(s.icc[TagPAN])
	if exp := digits(s.icc[TagExpiryDate]); len(exp) == 6 {
		o.ExpiryYYMM = exp[:4]
	}
	if v, ok := s.icc[TagPANSequence]; ok && len(v) == 1 {
		o.PANSequence = digits(v)
	}
	if v := digits(s.icc[TagServiceCode]); len(v) >= 3 {
		o.ServiceCode = v[len(v)-3:]
	} else if s.track.ServiceCode != "" {
		o.ServiceCode = s.track.ServiceCode
	}
	if s.track.PAN != "" {
		o.Track2 = s.track.ASCII()
	}
	o.AID = s.app.AID.String()
	o.Scheme = s.app.Scheme
	if o.Scheme == "" {
		o.Scheme = SchemeFromAID(s.app.AID)
	}
	if o.Scheme == "" {
		o.Scheme = pan.Scheme(o.PAN)
	}
	o.ApplicationLabel = s.app.DisplayName()
	if v, ok := s.icc[TagCardholderName]; ok {
		o.CardholderName = printable(v)
	}
	if v, ok := s.icc[TagCryptogram]; ok {
		o.Cryptogram = bytes.Clone(v)
		o.CryptogramType = CryptogramName(s.cid)
		o.CID = s.cid
	}
	if v, ok := s.icc[TagATC]; ok {
		o.ATC = bytes.Clone(v)
	}
	o.ICCData = s.iccData()
	return o
}
