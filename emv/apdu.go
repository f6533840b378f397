package emv

import (
	"context"
	"errors"
	"fmt"
)

// Transport carries one command APDU to the card and returns the response:
// the response data followed by SW1 SW2. Transmit returns ctx.Err() when ctx
// ends first. The serial reader driver, the virtual card and test doubles
// implement it.
type Transport interface {
	Transmit(ctx context.Context, apdu []byte) ([]byte, error)
}

// Status words the kernel acts on.
const (
	SWOK                   uint16 = 0x9000
	SWWarningBlocked       uint16 = 0x6283 // selected file invalidated (application blocked)
	SWAuthFailed           uint16 = 0x6300 // authentication failed (EXTERNAL AUTHENTICATE)
	SWWrongLength          uint16 = 0x6700
	SWPINBlocked           uint16 = 0x6983 // authentication method blocked
	SWDataInvalidated      uint16 = 0x6984 // referenced data invalidated
	SWConditionsNotMet     uint16 = 0x6985 // conditions of use not satisfied
	SWFunctionNotSupported uint16 = 0x6A81 // function not supported (card blocked on SELECT)
	SWFileNotFound         uint16 = 0x6A82
	SWRecordNotFound       uint16 = 0x6A83
	SWDataNotFound         uint16 = 0x6A88
	SWINSNotSupported      uint16 = 0x6D00
	SWCLANotSupported      uint16 = 0x6E00
)

// ErrCard is wrapped by every error that comes from what the card sent (a
// status word the kernel cannot continue after, a malformed response,
// missing mandatory data). A chip read that failed this way allows a
// magnetic stripe fallback when the configuration permits one.
var ErrCard = errors.New("emv: card error")

// StatusError is a status word the kernel did not expect.
type StatusError struct {
	Command string
	SW      uint16
}

// Error names the command and the status word.
func (e *StatusError) Error() string {
	return fmt.Sprintf("emv: %s: card answered %04X", e.Command, e.SW)
}

// Is makes a StatusError match ErrCard.
func (e *StatusError) Is(target error) bool { return target == ErrCard }

// maxChain bounds the GET RESPONSE and wrong-length retries of one exchange.
const maxChain = 32

// Exchange sends one command APDU and returns the response data and status
// word, handling the T=0 procedure bytes as EMV Book 1 9.3 says: on 61xx it
// fetches the rest with GET RESPONSE, on 6Cxx it sends the command again
// with Le set to xx.
func Exchange(ctx context.Context, t Transport, apdu []byte) ([]byte, uint16, error) {
	if len(apdu) < 4 {
		return nil, 0, fmt.Errorf("emv: command APDU of %d bytes", len(apdu))
	}
	return exchangeFrom(ctx, t, apdu, nil)
}

// exchangeFrom is Exchange when the card's first response to apdu may
// already be known (first, from a batch): it goes on from there.
func exchangeFrom(ctx context.Context, t Transport, apdu, first []byte) ([]byte, uint16, error) {
	var data []byte
	cmd := apdu
	for range maxChain {
		resp := first
		first = nil
		if resp == nil {
			if err := ctx.Err(); err != nil {
				return nil, 0, err
			}
			var err error
			if resp, err = t.Transmit(ctx, cmd); err != nil {
				return nil, 0, err
			}
		}
		if len(resp) < 2 {
			return nil, 0, fmt.Errorf("%w: response of %d bytes", ErrCard, len(resp))
		}
		n := len(resp) - 2
		sw1, sw2 := resp[n], resp[n+1]
		data = append(data, resp[:n]...)
		switch sw1 {
		case 0x61:
			cmd = []byte{0x00, 0xC0, 0x00, 0x00, sw2}
		case 0x6C:
			cmd = withLe(cmd, sw2)
		default:
			return data, uint16(sw1)<<8 | uint16(sw2), nil
		}
	}
	return nil, 0, fmt.Errorf("%w: more than %d GET RESPONSE or wrong-length retries", ErrCard, maxChain)
}

// withLe returns the command with its Le set (replaced or appended).
func withLe(apdu []byte, le byte) []byte {
	out := append([]byte(nil), apdu...)
	switch {
	case len(out) == 4:
		return append(out, le)
	case len(out) == 5:
		out[4] = le
		return out
	}
	lc := int(out[4])
	if len(out) == 5+lc {
		return append(out, le)
	}
	out[len(out)-1] = le
	return out
}

// command builds a short command APDU. le < 0 leaves Le out.
func command(cla, ins, p1, p2 byte, data []byte, le int) []byte {
	out := make([]byte, 0, 6+len(data))
	out = append(out, cla, ins, p1, p2)
	if len(data) > 0 {
		out = append(out, byte(len(data)))
		out = append(out, data...)
	}
	if le >= 0 {
		out = append(out, byte(le))
	}
	return out
}

// SelectCommand builds SELECT by DF name; next asks for the next occurrence
// of a partial name (P2 = 02).
func SelectCommand(name []byte, next bool) []byte {
	p2 := byte(0x00)
	if next {
		p2 = 0x02
	}
	return command(0x00, 0xA4, 0x04, p2, name, 0)
}

// ReadRecordCommand builds READ RECORD for a record of a short file.
func ReadRecordCommand(sfi, record byte) []byte {
	return command(0x00, 0xB2, record, sfi<<3|0x04, nil, 0)
}

// GPOCommand builds GET PROCESSING OPTIONS with the PDOL data wrapped in
// the command template 83.
func GPOCommand(pdolData []byte) []byte {
	return command(0x80, 0xA8, 0x00, 0x00, AppendTLV(nil, TagCommandTemplate, pdolData), 0)
}

// GetDataCommand builds GET DATA for a tag of one or two bytes.
func GetDataCommand(t Tag) []byte {
	return command(0x80, 0xCA, byte(t>>8), byte(t), nil, 0)
}

// Cryptogram types, as the top two bits of GENERATE AC's P1 and of the
// Cryptogram Information Data.
const (
	CryptogramAAC  byte = 0x00
	CryptogramTC   byte = 0x40
	CryptogramARQC byte = 0x80
)

// GenerateACCommand builds GENERATE AC asking for a cryptogram type
// (CryptogramAAC, CryptogramTC or CryptogramARQC) with CDOL data.
func GenerateACCommand(cryptogram byte, cdolData []byte) []byte {
	return command(0x80, 0xAE, cryptogram, 0x00, cdolData, 0)
}

// ExternalAuthenticateCommand builds EXTERNAL AUTHENTICATE with the issuer
// authentication data (tag 91's value).
func ExternalAuthenticateCommand(issuerAuthData []byte) []byte {
	return command(0x00, 0x82, 0x00, 0x00, issuerAuthData, -1)
}

// VerifyPlaintextPINCommand builds VERIFY with a plaintext offline PIN
// block (format 2: 2, length, digits, F padding). It is for PIN pad and
// simulator implementations; the kernel never holds a clear PIN.
func VerifyPlaintextPINCommand(pin []byte) ([]byte, error) {
	if len(pin) < 4 || len(pin) > 12 {
		return nil, errors.New("emv: a PIN has 4 to 12 digits")
	}
	block := [8]byte{0x20 | byte(len(pin)), 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}
	for i, c := range pin {
		if c < '0' || c > '9' {
			return nil, errors.New("emv: a PIN has digits only")
		}
		d := c - '0'
		if i%2 == 0 {
			block[1+i/2] = d<<4 | 0x0F
		} else {
			block[1+i/2] = block[1+i/2]&0xF0 | d
		}
	}
	return command(0x00, 0x20, 0x00, 0x80, block[:], -1), nil
}
