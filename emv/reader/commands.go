package reader

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vinr/cashlessd/pan"
)

// This file holds the payloads of commands, responses and events, shared
// by the driver and by the reader simulator (package virtual). Each has a
// Marshal method and a Parse function; parsers accept and ignore trailing
// bytes they do not know, so that later protocol versions can add fields.

// ProtocolVersion is the version of the protocol in docs/reader-protocol.md
// that this package speaks. INFO reports the reader's.
const ProtocolVersion = 1

// errShort is returned by parsers for a payload shorter than its fixed part.
var errShort = errors.New("reader: payload too short")

// Interface is a card interface. Values combine as a set: Contact|Magstripe.
type Interface byte

// Card interfaces.
const (
	Contact     Interface = 1 << iota // chip, ISO 7816 contact slot
	Contactless                       // ISO 14443 field
	Magstripe                         // magnetic stripe, track 2
	// AllInterfaces is every interface.
	AllInterfaces = Contact | Contactless | Magstripe
)

// String lists the interfaces, such as "contact|magstripe".
func (i Interface) String() string {
	var parts []string
	for _, x := range []struct {
		bit  Interface
		name string
	}{{Contact, "contact"}, {Contactless, "contactless"}, {Magstripe, "magstripe"}} {
		if i&x.bit != 0 {
			parts = append(parts, x.name)
		}
	}
	if rest := i &^ AllInterfaces; rest != 0 {
		parts = append(parts, fmt.Sprintf("0x%02X", byte(rest)))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "|")
}

// Capability is a set of reader features, reported by INFO.
type Capability byte

// Reader features.
const (
	CapContact     Capability = 1 << iota // contact chip slot
	CapContactless                        // contactless field
	CapMagstripe                          // magnetic stripe head
	CapPINPad                             // PIN entry with DUKPT
	CapDisplay                            // text display
	CapBuzzer                             // beeper
	CapLEDs                               // contactless status LEDs
	CapAPDUBatch                          // APDUS: several APDUs in one exchange
)

// Info is the reader's identity and capabilities, the answer to INFO.
type Info struct {
	Protocol     byte
	Capabilities Capability
	MaxPayload   int // the largest frame payload the reader accepts
	DisplayRows  int
	DisplayCols  int
	Model        string
	Serial       string
	Firmware     string
}

// Marshal encodes the INFO answer.
func (in Info) Marshal() []byte {
	b := []byte{in.Protocol, byte(in.Capabilities), byte(in.MaxPayload >> 8), byte(in.MaxPayload), byte(in.DisplayRows), byte(in.DisplayCols)}
	for _, s := range []string{in.Model, in.Serial, in.Firmware} {
		s = truncate(s, 255)
		b = append(b, byte(len(s)))
		b = append(b, s...)
	}
	return b
}

// ParseInfo decodes the INFO answer.
func ParseInfo(p []byte) (Info, error) {
	if len(p) < 6 {
		return Info{}, fmt.Errorf("INFO: %w", errShort)
	}
	in := Info{
		Protocol:     p[0],
		Capabilities: Capability(p[1]),
		MaxPayload:   int(binary.BigEndian.Uint16(p[2:4])),
		DisplayRows:  int(p[4]),
		DisplayCols:  int(p[5]),
	}
	p = p[6:]
	for _, dst := range []*string{&in.Model, &in.Serial, &in.Firmware} {
		if len(p) == 0 {
			break
		}
		n := int(p[0])
		if len(p) < 1+n {
			return Info{}, fmt.Errorf("INFO: %w", errShort)
		}
		*dst = string(p[1 : 1+n])
		p = p[1+n:]
	}
	return in, nil
}

// MaxShortResponse is the largest response APDU a short command APDU can
// get: 256 data bytes and SW1 SW2. A reader running APDUS starts a
// command only while this much (and its 2-byte length) still fits.
const MaxShortResponse = 258

// MarshalAPDUs encodes the payload of APDUS and of its answer: each APDU
// as a 2-byte length and its bytes, in order.
func MarshalAPDUs(apdus [][]byte) []byte {
	n := 0
	for _, a := range apdus {
		n += 2 + len(a)
	}
	b := make([]byte, 0, n)
	for _, a := range apdus {
		b = binary.BigEndian.AppendUint16(b, uint16(len(a)))
		b = append(b, a...)
	}
	return b
}

// ParseAPDUs decodes the payload of APDUS or of its answer.
func ParseAPDUs(p []byte) ([][]byte, error) {
	var out [][]byte
	for len(p) > 0 {
		if len(p) < 2 {
			return nil, fmt.Errorf("APDUS: %w", errShort)
		}
		n := int(binary.BigEndian.Uint16(p))
		if len(p) < 2+n {
			return nil, fmt.Errorf("APDUS: %w", errShort)
		}
		out = append(out, p[2:2+n])
		p = p[2+n:]
	}
	return out, nil
}

// BatchFits reports whether a reader running APDUS, with used bytes of
// answer payload so far, starts the next command: its largest short
// response and its length must still fit in MaxPayload.
func BatchFits(used int) bool { return used+2+MaxShortResponse <= MaxPayload }

// Status is the reader's state, the answer to STATUS.
type Status struct {
	CardInSlot  bool // a card is in the contact slot
	CardInField bool // a card is in the contactless field
	Powered     bool // a card is active (powered on)
	Detecting   bool // detection is running
	PINEntry    bool // PIN entry is running
}

// Marshal encodes the STATUS answer.
func (s Status) Marshal() []byte {
	var f byte
	for i, v := range []bool{s.CardInSlot, s.CardInField, s.Powered, s.Detecting, s.PINEntry} {
		if v {
			f |= 1 << i
		}
	}
	return []byte{f}
}

// ParseStatus decodes the STATUS answer.
func ParseStatus(p []byte) (Status, error) {
	if len(p) < 1 {
		return Status{}, fmt.Errorf("STATUS: %w", errShort)
	}
	f := p[0]
	return Status{
		CardInSlot:  f&0x01 != 0,
		CardInField: f&0x02 != 0,
		Powered:     f&0x04 != 0,
		Detecting:   f&0x08 != 0,
		PINEntry:    f&0x10 != 0,
	}, nil
}

// DetectRequest asks the reader to show an amount and wait for a card.
type DetectRequest struct {
	// AmountText is shown to the cardholder, such as "EUR 12.50". UTF-8,
	// at most MaxText bytes.
	AmountText string
	// Interfaces to enable; zero means all.
	Interfaces Interface
	// Timeout ends detection on the reader (a TIMEOUT event). Zero means
	// the context's deadline, or no timeout on the reader when the
	// context has none. It is sent in whole seconds, rounded up.
	Timeout time.Duration
}

// MaxText is the longest text, in bytes, a prompt carries.
const MaxText = 128

// Marshal encodes DETECT.
func (r DetectRequest) Marshal() []byte {
	b := []byte{byte(r.Interfaces)}
	b = binary.BigEndian.AppendUint16(b, seconds(r.Timeout))
	return append(b, truncate(r.AmountText, MaxText)...)
}

// ParseDetect decodes DETECT.
func ParseDetect(p []byte) (DetectRequest, error) {
	if len(p) < 3 {
		return DetectRequest{}, fmt.Errorf("DETECT: %w", errShort)
	}
	return DetectRequest{
		Interfaces: Interface(p[0]),
		Timeout:    time.Duration(binary.BigEndian.Uint16(p[1:3])) * time.Second,
		AmountText: string(p[3:]),
	}, nil
}

// OnlinePINRequest asks the PIN pad for an online PIN. PAN is the card
// number for the ISO 9564 format 0 PIN block: memory only; String masks it.
type OnlinePINRequest struct {
	Timeout    time.Duration // whole seconds on the wire, rounded up; zero: the reader's default
	PAN        string        // 12 to 19 digits
	AmountText string
}

// String masks the PAN.
func (r OnlinePINRequest) String() string {
	return fmt.Sprintf("OnlinePINRequest{Timeout:%s PAN:%s AmountText:%q}", r.Timeout, pan.Mask(r.PAN), r.AmountText)
}

// GoString masks the PAN, like String.
func (r OnlinePINRequest) GoString() string { return r.String() }

// Marshal encodes ONLINE_PIN.
func (r OnlinePINRequest) Marshal() []byte {
	b := binary.BigEndian.AppendUint16(nil, seconds(r.Timeout))
	b = append(b, byte(len(r.PAN)))
	b = append(b, r.PAN...)
	return append(b, truncate(r.AmountText, MaxText)...)
}

// ParseOnlinePIN decodes ONLINE_PIN and checks the PAN.
func ParseOnlinePIN(p []byte) (OnlinePINRequest, error) {
	if len(p) < 3 {
		return OnlinePINRequest{}, fmt.Errorf("ONLINE_PIN: %w", errShort)
	}
	n := int(p[2])
	if len(p) < 3+n {
		return OnlinePINRequest{}, fmt.Errorf("ONLINE_PIN: %w", errShort)
	}
	r := OnlinePINRequest{
		Timeout:    time.Duration(binary.BigEndian.Uint16(p[0:2])) * time.Second,
		PAN:        string(p[3 : 3+n]),
		AmountText: string(p[3+n:]),
	}
	if err := CheckPAN(r.PAN); err != nil {
		return OnlinePINRequest{}, fmt.Errorf("ONLINE_PIN: %w", err)
	}
	return r, nil
}

// OfflinePINRequest asks the reader to take a PIN and present it to the
// card in the clear (VERIFY, P2 80). The PIN never leaves the reader.
type OfflinePINRequest struct {
	Timeout time.Duration // whole seconds on the wire, rounded up; zero: the reader's default
	// AmountText is shown with the prompt; empty: the text of the last
	// detection.
	AmountText string
}

// Marshal encodes OFFLINE_PIN.
func (r OfflinePINRequest) Marshal() []byte {
	b := binary.BigEndian.AppendUint16(nil, seconds(r.Timeout))
	return append(b, truncate(r.AmountText, MaxText)...)
}

// ParseOfflinePIN decodes OFFLINE_PIN.
func ParseOfflinePIN(p []byte) (OfflinePINRequest, error) {
	if len(p) < 2 {
		return OfflinePINRequest{}, fmt.Errorf("OFFLINE_PIN: %w", errShort)
	}
	return OfflinePINRequest{
		Timeout:    time.Duration(binary.BigEndian.Uint16(p[0:2])) * time.Second,
		AmountText: string(p[2:]),
	}, nil
}

// PINOutcome says how PIN entry ended, in a PIN event.
type PINOutcome byte

// PIN event outcomes.
const (
	PINOnline   PINOutcome = 0x00 // an online PIN: encrypted block and KSN
	PINOffline  PINOutcome = 0x01 // an offline PIN was presented: the card's status word
	PINBypassed PINOutcome = 0x02 // the cardholder pressed Enter without digits
)

// PINEvent is the payload of the PIN event. Block is encrypted; it is
// still treated as sensitive (memory only, never logged).
type PINEvent struct {
	Outcome PINOutcome
	Block   []byte // PINOnline: 8-byte ISO 9564 format 0 block, TDES-encrypted under the DUKPT PIN key
	KSN     []byte // PINOnline: the 10-byte key serial number
	SW      uint16 // PINOffline: SW1 SW2 of the card's answer to VERIFY
}

// String leaves the PIN block out.
func (e PINEvent) String() string {
	switch e.Outcome {
	case PINOnline:
		return fmt.Sprintf("PIN{online, block: %d bytes, KSN: %X}", len(e.Block), e.KSN)
	case PINOffline:
		return fmt.Sprintf("PIN{offline, SW %04X}", e.SW)
	case PINBypassed:
		return "PIN{bypassed}"
	}
	return fmt.Sprintf("PIN{outcome %02X}", byte(e.Outcome))
}

// GoString leaves the PIN block out, like String.
func (e PINEvent) GoString() string { return e.String() }

// Marshal encodes the PIN event.
func (e PINEvent) Marshal() []byte {
	b := []byte{byte(e.Outcome)}
	switch e.Outcome {
	case PINOnline:
		b = append(b, e.Block...)
		b = append(b, e.KSN...)
	case PINOffline:
		b = binary.BigEndian.AppendUint16(b, e.SW)
	}
	return b
}

// ParsePINEvent decodes the PIN event.
func ParsePINEvent(p []byte) (PINEvent, error) {
	if len(p) < 1 {
		return PINEvent{}, fmt.Errorf("PIN: %w", errShort)
	}
	e := PINEvent{Outcome: PINOutcome(p[0])}
	switch e.Outcome {
	case PINOnline:
		if len(p) < 1+8+10 {
			return PINEvent{}, fmt.Errorf("PIN: %w", errShort)
		}
		e.Block = append([]byte(nil), p[1:9]...)
		e.KSN = append([]byte(nil), p[9:19]...)
	case PINOffline:
		if len(p) < 3 {
			return PINEvent{}, fmt.Errorf("PIN: %w", errShort)
		}
		e.SW = binary.BigEndian.Uint16(p[1:3])
	case PINBypassed:
	default:
		return PINEvent{}, fmt.Errorf("PIN: unknown outcome %02X", p[0])
	}
	return e, nil
}

// BeepRequest sounds the buzzer Count times for Duration each (sent in
// 10 ms units, at most 2.55 s).
type BeepRequest struct {
	Count    int
	Duration time.Duration
}

// Marshal encodes BEEP.
func (r BeepRequest) Marshal() []byte {
	d := min(max((r.Duration+9*time.Millisecond)/(10*time.Millisecond), 0), 255)
	return []byte{byte(min(max(r.Count, 0), 255)), byte(d)}
}

// ParseBeep decodes BEEP.
func ParseBeep(p []byte) (BeepRequest, error) {
	if len(p) < 2 {
		return BeepRequest{}, fmt.Errorf("BEEP: %w", errShort)
	}
	return BeepRequest{Count: int(p[0]), Duration: time.Duration(p[1]) * 10 * time.Millisecond}, nil
}

// LEDs is the set of lit contactless status LEDs (EMV contactless
// indicators 1 to 4, bits 0 to 3).
type LEDs byte

// Display text conventions: DISPLAY carries UTF-8 lines separated by LF.

// MarshalLines encodes DISPLAY's lines.
func MarshalLines(lines []string) []byte {
	return []byte(strings.Join(lines, "\n"))
}

// ParseLines decodes DISPLAY's lines.
func ParseLines(p []byte) []string {
	if len(p) == 0 {
		return nil
	}
	return strings.Split(string(p), "\n")
}

// CheckPAN checks that pan is 12 to 19 decimal digits.
func CheckPAN(pan string) error {
	if len(pan) < 12 || len(pan) > 19 {
		return fmt.Errorf("reader: a PAN has 12 to 19 digits, not %d", len(pan))
	}
	for i := 0; i < len(pan); i++ {
		if pan[i] < '0' || pan[i] > '9' {
			return errors.New("reader: a PAN has digits only")
		}
	}
	return nil
}

// seconds rounds d up to whole seconds for the wire, at most 65535.
func seconds(d time.Duration) uint16 {
	if d <= 0 {
		return 0
	}
	s := (d + time.Second - 1) / time.Second
	return uint16(min(s, 0xFFFF))
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
