package reader

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Frame layout (docs/reader-protocol.md, "Frames"):
//
//	STX | LEN (2, big-endian) | SEQ | TYPE | PAYLOAD (LEN bytes) | CRC (2, big-endian)
//
// The CRC is CRC-16/CCITT-FALSE over LEN, SEQ, TYPE and PAYLOAD.
const (
	// STX starts every frame.
	STX = 0x02
	// MaxPayload is the largest payload a frame may carry. A receiver
	// treats a larger LEN as line noise.
	MaxPayload = 1024
	// Overhead is the number of bytes a frame adds to its payload:
	// STX, LEN, SEQ, TYPE and CRC.
	Overhead = 7
	// headerLen is STX, LEN, SEQ and TYPE.
	headerLen = 5
)

// Type is a frame's TYPE byte: a link control frame (ACK, NAK), a command
// (0x20–0x3F, terminal to reader), an event (0x40–0x5F, reader to
// terminal) or a response (0x80–0x9F, reader to terminal), whose TYPE is
// also its status.
type Type byte

// Link control frames.
const (
	TypeACK Type = 0x06 // the frame with this SEQ arrived (and, for a command, is being executed)
	TypeNAK Type = 0x15 // a frame arrived damaged: send again
)

// Commands, from the terminal to the reader.
const (
	CmdInfo       Type = 0x20 // reader identity and capabilities
	CmdStatus     Type = 0x21 // card presence and prompt state (also the heartbeat)
	CmdDetect     Type = 0x22 // show the amount and wait for a card
	CmdCancel     Type = 0x23 // stop detection, PIN entry or a card exchange
	CmdPowerOn    Type = 0x24 // activate the card, answer its ATR
	CmdAPDU       Type = 0x25 // one command APDU to the card
	CmdPowerOff   Type = 0x26 // deactivate the card
	CmdDisplay    Type = 0x27 // show lines of text
	CmdOnlinePIN  Type = 0x28 // take a PIN and return it encrypted (DUKPT)
	CmdOfflinePIN Type = 0x29 // take a PIN and present it to the card (VERIFY)
	CmdBeep       Type = 0x2A // sound the buzzer
	CmdLEDs       Type = 0x2B // set the contactless status LEDs
	CmdAPDUs      Type = 0x2C // several command APDUs to the card, run in order
)

// Events, from the reader to the terminal. Each is acknowledged with ACK.
const (
	EvtCardInserted Type = 0x40 // a chip card is in the contact slot
	EvtCardTapped   Type = 0x41 // a contactless card is in the field
	EvtCardSwiped   Type = 0x42 // a magnetic stripe was read; payload: track 2
	EvtCardRemoved  Type = 0x43 // the card left the slot or the field
	EvtKeyCancel    Type = 0x44 // the cardholder pressed the cancel key
	EvtTimeout      Type = 0x45 // detection or PIN entry timed out on the reader
	EvtPIN          Type = 0x46 // PIN entry finished (online block, offline result or bypass)
)

// Responses, from the reader to the terminal. A response carries the SEQ
// of the command it answers and acknowledges it; its TYPE is the status.
const (
	RespOK             Type = 0x80 // done; the payload is the command's result
	RespUnknownCommand Type = 0x81 // the reader does not know this command
	RespBadParameter   Type = 0x82 // the payload is malformed or out of range
	RespBusy           Type = 0x83 // another prompt (detection, PIN entry) is active
	RespNoCard         Type = 0x84 // no card on the requested interface
	RespCardRemoved    Type = 0x85 // the card was removed during the session or the exchange
	RespNotPowered     Type = 0x86 // APDU without an active card
	RespCardError      Type = 0x87 // the card did not answer or answered wrongly
	RespPINPadError    Type = 0x88 // the PIN pad cannot take a PIN (no key, keys exhausted)
	RespInternal       Type = 0x8F // anything else that went wrong in the reader
)

// IsCommand reports whether t is a command type.
func (t Type) IsCommand() bool { return t >= 0x20 && t <= 0x3F }

// IsEvent reports whether t is an event type.
func (t Type) IsEvent() bool { return t >= 0x40 && t <= 0x5F }

// IsResponse reports whether t is a response type.
func (t Type) IsResponse() bool { return t >= 0x80 && t <= 0x9F }

// String names the type, as in the protocol document.
func (t Type) String() string {
	switch t {
	case TypeACK:
		return "ACK"
	case TypeNAK:
		return "NAK"
	case CmdInfo:
		return "INFO"
	case CmdStatus:
		return "STATUS"
	case CmdDetect:
		return "DETECT"
	case CmdCancel:
		return "CANCEL"
	case CmdPowerOn:
		return "POWER_ON"
	case CmdAPDU:
		return "APDU"
	case CmdPowerOff:
		return "POWER_OFF"
	case CmdDisplay:
		return "DISPLAY"
	case CmdOnlinePIN:
		return "ONLINE_PIN"
	case CmdOfflinePIN:
		return "OFFLINE_PIN"
	case CmdBeep:
		return "BEEP"
	case CmdLEDs:
		return "LEDS"
	case CmdAPDUs:
		return "APDUS"
	case EvtCardInserted:
		return "CARD_INSERTED"
	case EvtCardTapped:
		return "CARD_TAPPED"
	case EvtCardSwiped:
		return "CARD_SWIPED"
	case EvtCardRemoved:
		return "CARD_REMOVED"
	case EvtKeyCancel:
		return "KEY_CANCEL"
	case EvtTimeout:
		return "TIMEOUT"
	case EvtPIN:
		return "PIN"
	case RespOK:
		return "OK"
	case RespUnknownCommand:
		return "UNKNOWN_COMMAND"
	case RespBadParameter:
		return "BAD_PARAMETER"
	case RespBusy:
		return "BUSY"
	case RespNoCard:
		return "NO_CARD"
	case RespCardRemoved:
		return "CARD_REMOVED"
	case RespNotPowered:
		return "NOT_POWERED"
	case RespCardError:
		return "CARD_ERROR"
	case RespPINPadError:
		return "PIN_PAD_ERROR"
	case RespInternal:
		return "INTERNAL_ERROR"
	}
	return fmt.Sprintf("TYPE_%02X", byte(t))
}

// Frame is one link-layer frame. Payload may hold card data (track 2, a
// PAN for the PIN block): Frame's String never shows it.
type Frame struct {
	Seq     byte
	Type    Type
	Payload []byte
}

// String describes the frame without its payload.
func (f Frame) String() string {
	return fmt.Sprintf("%s seq=%d len=%d", f.Type, f.Seq, len(f.Payload))
}

// GoString describes the frame without its payload, like String.
func (f Frame) GoString() string { return "reader.Frame{" + f.String() + "}" }

// WireLen is the number of bytes the frame takes on the wire.
func (f Frame) WireLen() int { return len(f.Payload) + Overhead }

// AppendBinary appends the encoded frame to b. It fails only when the
// payload is longer than MaxPayload.
func (f Frame) AppendBinary(b []byte) ([]byte, error) {
	if len(f.Payload) > MaxPayload {
		return b, fmt.Errorf("reader: frame payload of %d bytes (max %d)", len(f.Payload), MaxPayload)
	}
	start := len(b)
	b = append(b, STX, byte(len(f.Payload)>>8), byte(len(f.Payload)), f.Seq, byte(f.Type))
	b = append(b, f.Payload...)
	return binary.BigEndian.AppendUint16(b, CRC16(b[start+1:])), nil
}

// MarshalBinary encodes the frame.
func (f Frame) MarshalBinary() ([]byte, error) {
	return f.AppendBinary(make([]byte, 0, f.WireLen()))
}

// Decoder turns a byte stream into frames. It hunts for STX, checks the
// length and the CRC, and on any mismatch drops the STX and hunts again
// from the next byte, so that it resynchronises after line noise, damaged
// frames and lost bytes. Feed it with Write and take frames with Next.
// A Decoder is not safe for concurrent use.
type Decoder struct {
	buf       []byte
	discarded int
	// synced is set by an intact frame and cleared by anything dropped:
	// while it is clear, the decoder also looks past an incomplete frame
	// for a later one that is complete and intact (see Next).
	synced bool
	// seen is how much of buf laterFrame has looked at: a frame that was
	// complete by then and not taken is damaged, and bytes never change,
	// so its CRC is not computed again.
	seen int
}

// Write adds received bytes. It never fails.
func (d *Decoder) Write(p []byte) (int, error) {
	d.buf = append(d.buf, p...)
	return len(p), nil
}

// Next returns the next complete, intact frame. It returns false when the
// bytes held are not (yet) a whole frame: more must be written first.
// Bytes that cannot be part of a frame are dropped and counted (see
// Discarded).
func (d *Decoder) Next() (Frame, bool) {
	for {
		i := bytes.IndexByte(d.buf, STX)
		if i < 0 {
			d.drop(len(d.buf))
			return Frame{}, false
		}
		d.drop(i)
		f, n, st := parseFrame(d.buf)
		switch st {
		case frameOK:
			d.consume(n)
			d.synced = true
			return f, true
		case frameShort:
			if !d.synced {
				if j := d.laterFrame(); j > 0 {
					d.drop(j)
					continue
				}
			}
			return Frame{}, false
		default: // not a frame here: try the next STX
			d.drop(1)
		}
	}
}

// laterFrame returns the offset of the first STX after the start that
// begins a complete, intact frame, or 0. Out of sync (at the start, and
// after damage) an STX that announces more bytes than have come may be
// noise, or a data byte of a damaged frame; a complete frame behind it is
// then taken at once rather than after a quiet gap. In sync, the STX that
// follows an intact frame is trusted: a valid-looking frame inside the
// payload of one still arriving must not be taken for a frame.
func (d *Decoder) laterFrame() int {
	seen := d.seen
	d.seen = len(d.buf)
	for i := 1; i+Overhead <= len(d.buf); i++ {
		if d.buf[i] != STX {
			continue
		}
		end := i + Overhead + int(binary.BigEndian.Uint16(d.buf[i+1:i+3]))
		if end > len(d.buf) || end <= seen {
			continue // not complete yet, or already found damaged
		}
		if _, _, st := parseFrame(d.buf[i:]); st == frameOK {
			return i
		}
	}
	return 0
}

// Pending is the number of bytes held: the start of a frame still being
// received, or nothing.
func (d *Decoder) Pending() int { return len(d.buf) }

// Discarded returns the number of bytes dropped as noise or as parts of
// damaged frames since the last call, and resets the count. A receiver
// answers a non-zero count with NAK.
func (d *Decoder) Discarded() int {
	n := d.discarded
	d.discarded = 0
	return n
}

// Flush gives up on the frame being received, as a receiver does when the
// line has been quiet for a while in the middle of a frame (bytes were
// lost, or a noise byte looked like STX). It keeps the bytes from the
// first later STX that starts a complete, intact frame, and drops the
// rest. Call Next afterwards.
func (d *Decoder) Flush() {
	if len(d.buf) == 0 {
		return
	}
	if j := d.laterFrame(); j > 0 {
		d.drop(j)
		return
	}
	d.drop(len(d.buf))
}

func (d *Decoder) drop(n int) {
	if n == 0 {
		return
	}
	d.discarded += n
	d.synced = false
	d.consume(n)
}

// consume removes n bytes from the front, clearing them: the buffer may
// hold card data.
func (d *Decoder) consume(n int) {
	clear(d.buf[:n])
	d.buf = d.buf[n:]
	d.seen = max(d.seen-n, 0)
	if len(d.buf) == 0 {
		d.buf = d.buf[:0:0] // let the old array go
	}
}

type frameStatus int

const (
	frameOK    frameStatus = iota
	frameShort             // a possible frame, not complete yet
	frameBad               // not a frame: length out of range or CRC mismatch
)

// parseFrame decodes the frame at the start of b, which begins with STX.
// The payload is copied.
func parseFrame(b []byte) (Frame, int, frameStatus) {
	if len(b) < 3 {
		return Frame{}, 0, frameShort
	}
	n := int(binary.BigEndian.Uint16(b[1:3]))
	if n > MaxPayload {
		return Frame{}, 0, frameBad
	}
	total := n + Overhead
	if len(b) < total {
		return Frame{}, 0, frameShort
	}
	if CRC16(b[1:total-2]) != binary.BigEndian.Uint16(b[total-2:total]) {
		return Frame{}, 0, frameBad
	}
	f := Frame{Seq: b[3], Type: Type(b[4])}
	if n > 0 {
		f.Payload = bytes.Clone(b[headerLen : headerLen+n])
	}
	return f, total, frameOK
}
