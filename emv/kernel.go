package emv

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/vinr/cashlessd/emv/oda"
)

// Interface is how the card reached the terminal.
type Interface int

// Card interfaces.
const (
	Contact Interface = iota + 1
	Contactless
	Magstripe
)

// String names the interface as the API's entry method does: chip,
// contactless, swipe.
func (i Interface) String() string {
	switch i {
	case Contact:
		return "chip"
	case Contactless:
		return "contactless"
	case Magstripe:
		return "swipe"
	}
	return "unknown"
}

// ErrInsertCard means the card must be inserted instead: a chip card was
// swiped, or a contactless transaction cannot go on (over the contactless
// limit, no contactless application, the card asked for another interface).
var ErrInsertCard = errors.New("emv: insert card")

// ErrDeclined is matched by a *DeclineError: the card declined (answered
// AAC).
var ErrDeclined = errors.New("emv: declined by card")

// ErrSession means a session method was called out of turn.
var ErrSession = errors.New("emv: session used out of turn")

// DeclineError is the card's refusal: it answered GENERATE AC (or GET
// PROCESSING OPTIONS) with an AAC. The Outcome returned with it still
// describes the card for the receipt.
type DeclineError struct {
	Reason string
}

// Error says why the card declined.
func (e *DeclineError) Error() string { return "emv: declined by card: " + e.Reason }

// Is makes a DeclineError match ErrDeclined.
func (e *DeclineError) Is(target error) bool { return target == ErrDeclined }

// Kernel runs EMV transactions with one configuration. It is safe for
// concurrent use; each transaction gets its own Session.
type Kernel struct {
	cfg  Config
	keys *oda.Keys // CA public keys, nil without any
}

// NewKernel checks the configuration and returns a kernel holding a copy
// of it.
func NewKernel(cfg Config) (*Kernel, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c := cfg
	c.AIDs = make([]AIDConfig, len(cfg.AIDs))
	for i, a := range cfg.AIDs {
		c.AIDs[i] = AIDConfig{
			AID: bytes.Clone(a.AID), Scheme: strings.ToLower(a.Scheme), PartialMatch: a.PartialMatch,
			Contact: a.Contact, Contactless: a.Contactless, Version: bytes.Clone(a.Version),
			TACDenial: bytes.Clone(a.TACDenial), TACOnline: bytes.Clone(a.TACOnline), TACDefault: bytes.Clone(a.TACDefault),
			ContactlessCVMLimit: a.ContactlessCVMLimit, ContactlessTransactionLimit: a.ContactlessTransactionLimit,
		}
	}
	c.Capabilities = bytes.Clone(cfg.Capabilities)
	c.AdditionalCapabilities = bytes.Clone(cfg.AdditionalCapabilities)
	c.DefaultDDOL = bytes.Clone(cfg.DefaultDDOL)
	c.CAPKs = nil // the kernel keeps them as its table
	k := &Kernel{cfg: c}
	if len(cfg.CAPKs) > 0 {
		keys, err := oda.NewKeys(cfg.CAPKs)
		if err != nil {
			return nil, fmt.Errorf("emv: config: %w", err)
		}
		k.keys = keys
	}
	k.adjust()
	return k, nil
}

// Contact starts a chip transaction with an inserted card.
func (k *Kernel) Contact(card Transport, pins PINPad, tx Transaction) *Session {
	return k.newSession(Contact, card, pins, tx)
}

// Contactless starts a contactless transaction with a card in the field.
func (k *Kernel) Contactless(card Transport, pins PINPad, tx Transaction) *Session {
	return k.newSession(Contactless, card, pins, tx)
}

// Swipe starts a magnetic stripe transaction with the track 2 the reader
// read (";PAN=YYMMSSS...?" or without sentinels). afterChipFailure says
// that a chip read of this card failed just before, which permits a
// fallback swipe of a chip card when the configuration allows fallback.
func (k *Kernel) Swipe(track2 string, pins PINPad, tx Transaction, afterChipFailure bool) *Session {
	s := k.newSession(Magstripe, nil, pins, tx)
	s.rawTrack2 = track2
	s.fallback = afterChipFailure
	return s
}

func (k *Kernel) newSession(iface Interface, card Transport, pins PINPad, tx Transaction) *Session {
	return &Session{cfg: &k.cfg, keys: k.keys, iface: iface, card: card, pins: pins, tx: tx}
}

type sessionState int

const (
	stateNew sessionState = iota
	stateOnline
	stateDone
)

// Session is one transaction with one card. Read runs it up to the online
// request; Complete finishes it with the host's answer. A Session is not
// safe for concurrent use.
type Session struct {
	cfg   *Config
	keys  *oda.Keys
	iface Interface
	card  Transport
	pins  PINPad
	tx    Transaction
	state sessionState

	rawTrack2 string
	fallback  bool
	track     Track2

	term map[Tag][]byte // terminal data
	icc  map[Tag][]byte // card data
	app  Candidate
	aip  [2]byte
	tvr  TVR
	tsi  TSI
	cvm  cvmOutcome
	cid  byte // Cryptogram Information Data of the last GENERATE AC
	// kernel is the contactless kernel of the selected application.
	kernel KernelID
	// requested is the cryptogram the first GENERATE AC asked for.
	requested byte
	// deferPIN makes CVM processing note an online PIN instead of asking.
	deferPIN bool
	arc      string // Authorisation Response Code sent to the card

	scriptResults []byte
	scriptBytes   int // issuer script bytes met so far (ScriptLimit)
	out           Outcome

	oda    odaState // offline data authentication
	odaErr error    // why it failed
}

// Read runs the transaction up to the point where it needs the host:
// application selection, reading the card, restrictions, cardholder
// verification, risk management and the first GENERATE AC (contact), or the
// contactless equivalent, or the track 2 checks of a swipe. On success the
// outcome's Decision is DecisionOnline. A card that declines yields a
// *DeclineError together with an Outcome describing the card.
func (s *Session) Read(ctx context.Context) (Outcome, error) {
	if s.state != stateNew {
		return Outcome{}, ErrSession
	}
	s.state = stateDone
	if err := s.prepare(); err != nil {
		return Outcome{}, err
	}
	var err error
	switch s.iface {
	case Contact:
		err = s.readContact(ctx)
	case Contactless:
		err = s.readContactless(ctx)
	case Magstripe:
		err = s.readSwipe(ctx)
	}
	if err != nil {
		var decline *DeclineError
		if errors.As(err, &decline) {
			s.out = s.outcome(DecisionDeclined)
			return s.out, err
		}
		return Outcome{}, err
	}
	if s.cid&0xC0 == CryptogramAAC && s.iface != Magstripe && s.tx.Type != TypeRefund {
		s.out = s.outcome(DecisionDeclined)
		return s.out, &DeclineError{Reason: s.declineReason()}
	}
	s.state = stateOnline
	s.out = s.outcome(DecisionOnline)
	return s.out, nil
}

// HostResponse is the acquirer host's answer, as the card needs it.
type HostResponse struct {
	Approved bool
	// ResponseCode is the two-character response code (ISO 8583 field 39),
	// passed to the card as the Authorisation Response Code (8A).
	ResponseCode string
	AuthCode     string
	// IssuerData holds issuer authentication data (91) and issuer scripts
	// (71, 72) as BER-TLV, optionally inside a tag 55.
	IssuerData []byte
	// Unreachable means the host could not be asked: the request never
	// left, so nothing can have been authorised there. Only then may the
	// card approve offline (see Config.OfflineApprovals). A request that
	// left but got no answer is not Unreachable: pass a decline with
	// ResponseCode "Z3" instead, so the card declines and the authorisation
	// can be reversed.
	Unreachable bool
}

// HostUnreachable is the answer to give Complete when the request never
// reached the host.
func HostUnreachable() HostResponse { return HostResponse{Unreachable: true} }

// Authorisation Response Codes (8A) the terminal itself sets when the host
// could not be reached (EMV Book 4, A6).
const (
	ARCOfflineApproved = "Y3" // unable to go online, approved offline
	ARCOfflineDeclined = "Z3" // unable to go online, declined offline
)

// Complete finishes an online transaction with the host's answer. On a
// chip card it performs issuer authentication, runs issuer scripts and
// sends the second GENERATE AC, asking for a TC when the host approved and
// an AAC otherwise. The transaction is approved only when the returned
// outcome's Decision is DecisionApproved; a card that refuses an approved
// transaction yields a *DeclineError, and the authorisation must then be
// reversed.
//
// When the host was unreachable the second GENERATE AC asks for an AAC
// (ARC Z3), unless the transaction may be approved offline: offline
// approvals configured, contact chip, a purchase without
// NoOfflineApproval, the amount under the floor limit, and default action
// analysis (TAC-Default and IAC-Default against the TVR) finding nothing.
// Then it asks for a TC with ARC Y3, and a card that gives it yields an
// approved outcome with Offline set, whose ICCData (with the TC) is what
// the advice to the host carries. A card that answers AAC instead is a
// plain decline (no error): nothing was authorised anywhere.
func (s *Session) Complete(ctx context.Context, host HostResponse) (Outcome, error) {
	if s.state != stateOnline {
		return s.out, ErrSession
	}
	s.state = stateDone
	approved := host.Approved && !host.Unreachable
	offline := host.Unreachable && s.offlineAllowed()
	s.arc = host.arcCode()
	if offline {
		approved = s.defaultActionAnalysis() == CryptogramTC
		if approved {
			s.arc = ARCOfflineApproved
		}
	}
	s.term[TagARC] = []byte(s.arc)
	if host.AuthCode != "" && !host.Unreachable {
		s.term[TagAuthCode] = []byte(host.AuthCode)
	}
	if s.iface != Contact || s.tx.Type == TypeRefund {
		s.out = s.outcome(decisionOf(approved))
		return s.out, nil
	}
	if err := s.completeContact(ctx, host, approved); err != nil {
		s.out = s.outcome(DecisionDeclined)
		return s.out, err
	}
	tc := s.cid&0xC0 == CryptogramTC
	s.out = s.outcome(decisionOf(tc))
	s.out.Offline = offline && tc
	if approved && !offline && !tc {
		return s.out, &DeclineError{Reason: "card refused the approved transaction (AAC at second GENERATE AC)"}
	}
	return s.out, nil
}

// offlineAllowed reports whether this transaction may be approved offline
// when the host cannot be reached: the configuration allows it, it is a
// contact purchase the engine did not exclude, and the amount is under the
// floor limit (at the floor limit the TVR already says it is exceeded).
func (s *Session) offlineAllowed() bool {
	return s.cfg.OfflineApprovals && s.iface == Contact && s.tx.Type == TypePurchase &&
		!s.tx.NoOfflineApproval && s.tx.Amount < s.cfg.FloorLimit && !s.tvr.Has(TVRFloorLimitExceeded)
}

func decisionOf(approved bool) Decision {
	if approved {
		return DecisionApproved
	}
	return DecisionDeclined
}

// arcCode is the Authorisation Response Code for the card: the host's
// code, or Z3 (unable to go online) when it could not be reached.
func (h HostResponse) arcCode() string {
	switch {
	case h.Unreachable:
		return ARCOfflineDeclined
	case len(h.ResponseCode) == 2:
		return h.ResponseCode
	case h.Approved:
		return "00"
	default:
		return "05"
	}
}

// prepare sets up the terminal data of the transaction.
func (s *Session) prepare() error {
	code, exp, ok := CurrencyCode(s.tx.Currency)
	if !ok {
		return fmt.Errorf("emv: unknown currency %q", s.tx.Currency)
	}
	if s.tx.Amount < 0 || s.tx.AmountOther < 0 || s.tx.AmountOther > s.tx.Amount {
		return errors.New("emv: bad amounts")
	}
	if s.tx.Time.IsZero() {
		return errors.New("emv: transaction time not set")
	}
	cur, _ := bcd(code, 2)
	country, _ := bcd(s.cfg.CountryCode, 2)
	un := make([]byte, 4)
	r := s.cfg.Rand
	if r == nil {
		r = rand.Reader
	}
	if _, err := io.ReadFull(r, un); err != nil {
		return fmt.Errorf("emv: unpredictable number: %w", err)
	}
	t := s.tx.Time
	date, _ := bcd(fmt.Sprintf("%02d%02d%02d", t.Year()%100, int(t.Month()), t.Day()), 3)
	clock, _ := bcd(fmt.Sprintf("%02d%02d%02d", t.Hour(), t.Minute(), t.Second()), 3)
	seq, _ := bcd(fmt.Sprintf("%08d", s.tx.SequenceCounter%100000000), 4)
	s.term = map[Tag][]byte{
		TagAmountAuthorised:       bcdAmount(s.tx.Amount),
		TagAmountOther:            bcdAmount(s.tx.AmountOther),
		0x81:                      be32(s.tx.Amount),
		0x9F04:                    be32(s.tx.AmountOther),
		TagTerminalCountry:        country,
		TagTransactionCurrency:    cur,
		TagCurrencyExponent:       {byte(exp)},
		TagTransactionDate:        date,
		TagTransactionTime:        clock,
		TagTransactionType:        {byte(s.tx.Type)},
		TagTerminalType:           {s.cfg.TerminalType},
		TagTerminalCapabilities:   bytes.Clone(s.cfg.Capabilities),
		TagAdditionalCapabilities: bytes.Clone(s.cfg.AdditionalCapabilities),
		TagUnpredictableNumber:    un,
		TagSequenceCounter:        seq,
		TagPOSEntryMode:           {0x05},
	}
	if s.iface == Contactless {
		s.term[TagPOSEntryMode] = []byte{0x07}
	}
	put := func(t Tag, v string) {
		if v != "" {
			s.term[t] = []byte(v)
		}
	}
	put(TagMerchantID, s.cfg.MerchantID)
	put(TagTerminalID, s.cfg.TerminalID)
	put(TagMerchantNameLocation, s.cfg.MerchantNameLocation)
	if serial := s.tx.IFDSerial; serial != "" {
		put(TagIFDSerial, ifdSerial(serial))
	} else {
		put(TagIFDSerial, s.cfg.IFDSerial)
	}
	if s.cfg.MerchantCategoryCode != "" {
		s.term[TagMCC], _ = bcd(s.cfg.MerchantCategoryCode, 2)
	}
	if s.cfg.AcquirerID != "" {
		if v, err := bcd(s.cfg.AcquirerID, 6); err == nil {
			s.term[TagAcquirerID] = v
		}
	}
	s.icc = map[Tag][]byte{}
	if s.tx.ForceOnline {
		s.tvr.Set(TVRMerchantForcedOnline)
	}
	return nil
}

// ifdSerial fits a serial number to 9F1E's eight characters: the last
// eight of a longer one, a shorter one padded with spaces.
func ifdSerial(s string) string {
	if len(s) > 8 {
		return s[len(s)-8:]
	}
	return s + strings.Repeat(" ", 8-len(s))
}

func be32(v int64) []byte {
	if v < 0 || v > 0xFFFFFFFF {
		v = 0xFFFFFFFF
	}
	return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
}

// lookup finds a data element for a DOL: the terminal's live values first,
// then its fixed ones, then the card's.
func (s *Session) lookup(t Tag) ([]byte, bool) {
	switch t {
	case TagTVR:
		return s.tvr[:], true
	case TagTSI:
		return s.tsi[:], true
	case TagCVMResults:
		return s.cvm.results[:], true
	}
	if v, ok := s.term[t]; ok {
		return v, true
	}
	v, ok := s.icc[t]
	return v, ok
}

// exchange sends a command to the card and names it in errors.
func (s *Session) exchange(ctx context.Context, name string, cmd []byte) ([]byte, uint16, error) {
	data, sw, err := Exchange(ctx, s.card, cmd)
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0, ctx.Err()
		}
		return nil, 0, fmt.Errorf("%s: %w", name, err)
	}
	return data, sw, nil
}

// readContact is the contact flow up to the first GENERATE AC.
func (s *Session) readContact(ctx context.Context) error {
	list, err := s.candidates(ctx)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		return ErrNoApplication
	}
	for {
		c, fci, err := s.finalSelect(ctx, &list)
		if err != nil {
			return err
		}
		err = s.initiate(ctx, c, fci)
		if errors.Is(err, errGPORefused) {
			continue // EMV Book 3 10.1: back to the candidate list
		}
		if err != nil {
			return err
		}
		break
	}
	if err := s.readRecords(ctx); err != nil {
		return err
	}
	if err := s.checkMandatory(); err != nil {
		return err
	}
	if err := s.offlineDataAuthentication(ctx); err != nil {
		return err
	}
	s.processingRestrictions()
	if err := s.verifyCardholder(ctx); err != nil {
		return err
	}
	if err := s.terminalRiskManagement(ctx); err != nil {
		return err
	}
	return s.firstGenerateAC(ctx, s.terminalActionAnalysis())
}
