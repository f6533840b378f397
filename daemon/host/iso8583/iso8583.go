// Package iso8583 packs and unpacks ISO 8583 messages as a Spec describes
// them: the MTI, a primary and (when a field above 64 is present) a
// secondary bitmap, then the present fields in order. A Spec says, per
// field, its length type (fixed, LLVAR, LLLVAR), its maximum or fixed
// length and its encoding (ASCII, BCD, binary), and for the message as a
// whole how the MTI, the bitmap and the variable-length prefixes are
// written and whether a 5-byte TPDU leads the message.
//
// Unpacking never trusts the input: every length is checked against the
// field's spec and against the bytes left, and bytes left over after the
// last field are an error.
package iso8583

import (
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// Encoding is how a value is written on the wire.
type Encoding uint8

// The encodings.
const (
	// ASCII writes one byte per character.
	ASCII Encoding = iota + 1
	// BCD writes two decimal digits per byte; an odd number of digits is
	// left-padded with a zero nibble. Only digits can be BCD-encoded.
	BCD
	// Binary writes the bytes as they are (bitmaps: 8 bytes per bitmap).
	Binary
	// Hex writes each byte as two upper-case hexadecimal characters; it
	// is only used for bitmaps (16 characters per bitmap).
	Hex
	// Track2 writes track 2 equivalent data (digits and the '=' field
	// separator) two characters per byte: digits as BCD, '=' as the
	// nibble D; an odd number of characters is right-padded with the
	// nibble F.
	Track2
)

func (e Encoding) String() string {
	switch e {
	case ASCII:
		return "ASCII"
	case BCD:
		return "BCD"
	case Binary:
		return "binary"
	case Hex:
		return "hex"
	case Track2:
		return "track 2"
	}
	return "encoding(" + strconv.Itoa(int(e)) + ")"
}

// LengthType says whether a field has a fixed length or a length prefix.
type LengthType uint8

// The length types.
const (
	// Fixed fields always have exactly Field.Length characters (bytes
	// for binary fields).
	Fixed LengthType = iota + 1
	// LLVAR fields carry a 2-digit length prefix (at most 99).
	LLVAR
	// LLLVAR fields carry a 3-digit length prefix (at most 999).
	LLLVAR
)

// Field describes one data element.
type Field struct {
	// Description names the field in errors and documentation.
	Description string
	// Type is the length type.
	Type LengthType
	// Length is the fixed length, or the maximum length of a variable
	// field: characters for ASCII, digits for BCD, bytes for binary.
	Length int
	// Enc is how the value is written: ASCII, BCD or Binary.
	Enc Encoding
}

// TPDULength is the size of the transport protocol data unit header: an
// ID byte (0x60), a 2-byte destination and a 2-byte source address.
const TPDULength = 5

// TPDUID is the first byte of every TPDU.
const TPDUID = 0x60

// MaxField is the highest field number a message with a secondary bitmap
// can carry.
const MaxField = 128

// Spec describes one message layout (a dialect).
type Spec struct {
	// Name identifies the layout.
	Name string
	// MTI is how the message type indicator is written: ASCII (4 bytes)
	// or BCD (2 bytes).
	MTI Encoding
	// Bitmap is how the bitmaps are written: Binary (8 bytes each) or Hex
	// (16 characters each).
	Bitmap Encoding
	// Prefix is how LLVAR and LLLVAR lengths are written: ASCII (2 or 3
	// characters) or BCD (1 or 2 bytes).
	Prefix Encoding
	// TPDU, when true, means every message starts with a 5-byte TPDU.
	TPDU bool
	// Fields are the data elements, by number (2 to 128).
	Fields map[int]Field
}

// Message is one message: its MTI, the values of its present fields and
// its TPDU when the spec has one. Values are the characters of ASCII and
// BCD fields (digits for BCD) and the raw bytes of binary fields.
type Message struct {
	TPDU   []byte
	MTI    string
	Fields map[int][]byte
}

// Validate checks the spec itself.
func (s *Spec) Validate() error {
	if s.MTI != ASCII && s.MTI != BCD {
		return fmt.Errorf("iso8583: spec %s: MTI encoding %v", s.Name, s.MTI)
	}
	if s.Bitmap != Binary && s.Bitmap != Hex {
		return fmt.Errorf("iso8583: spec %s: bitmap encoding %v", s.Name, s.Bitmap)
	}
	if s.Prefix != ASCII && s.Prefix != BCD {
		return fmt.Errorf("iso8583: spec %s: prefix encoding %v", s.Name, s.Prefix)
	}
	for n, f := range s.Fields {
		if n < 2 || n > MaxField || n == 65 {
			return fmt.Errorf("iso8583: spec %s: field number %d", s.Name, n)
		}
		if f.Enc != ASCII && f.Enc != BCD && f.Enc != Binary && f.Enc != Track2 {
			return fmt.Errorf("iso8583: spec %s: field %d encoding %v", s.Name, n, f.Enc)
		}
		maxLen := map[LengthType]int{Fixed: 999, LLVAR: 99, LLLVAR: 999}[f.Type]
		if f.Length < 1 || f.Length > maxLen {
			return fmt.Errorf("iso8583: spec %s: field %d length %d", s.Name, n, f.Length)
		}
	}
	return nil
}

// Pack writes m.
func (s *Spec) Pack(m *Message) ([]byte, error) {
	out := make([]byte, 0, 256)
	if s.TPDU {
		if len(m.TPDU) != TPDULength || m.TPDU[0] != TPDUID {
			return nil, fmt.Errorf("iso8583: TPDU %x is not %d bytes starting with %02x", m.TPDU, TPDULength, TPDUID)
		}
		out = append(out, m.TPDU...)
	}
	if len(m.MTI) != 4 {
		return nil, fmt.Errorf("iso8583: MTI %q is not 4 characters", m.MTI)
	}
	out, err := appendValue(out, []byte(m.MTI), s.MTI)
	if err != nil {
		return nil, fmt.Errorf("iso8583: MTI: %w", err)
	}
	numbers := make([]int, 0, len(m.Fields))
	for n := range m.Fields {
		if _, ok := s.Fields[n]; !ok {
			return nil, fmt.Errorf("iso8583: field %d is not in spec %s", n, s.Name)
		}
		numbers = append(numbers, n)
	}
	slices.Sort(numbers)
	var bitmap [16]byte
	size := 8
	for _, n := range numbers {
		if n > 64 {
			size = 16
		}
		bitmap[(n-1)/8] |= 0x80 >> ((n - 1) % 8)
	}
	if size == 16 {
		bitmap[0] |= 0x80
	}
	if s.Bitmap == Hex {
		out = append(out, []byte(fmt.Sprintf("%X", bitmap[:size]))...)
	} else {
		out = append(out, bitmap[:size]...)
	}
	for _, n := range numbers {
		if out, err = s.packField(out, n, m.Fields[n]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Spec) packField(out []byte, n int, v []byte) ([]byte, error) {
	f := s.Fields[n]
	switch f.Type {
	case Fixed:
		if len(v) != f.Length {
			return nil, fmt.Errorf("iso8583: field %d (%s): length %d, want %d", n, f.Description, len(v), f.Length)
		}
	case LLVAR, LLLVAR:
		if len(v) > f.Length {
			return nil, fmt.Errorf("iso8583: field %d (%s): length %d exceeds %d", n, f.Description, len(v), f.Length)
		}
		digits := 2
		if f.Type == LLLVAR {
			digits = 3
		}
		prefix := fmt.Sprintf("%0*d", digits, len(v))
		var err error
		if out, err = appendValue(out, []byte(prefix), s.Prefix); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("iso8583: field %d (%s): length type %d", n, f.Description, f.Type)
	}
	out, err := appendValue(out, v, f.Enc)
	if err != nil {
		return nil, fmt.Errorf("iso8583: field %d (%s): %w", n, f.Description, err)
	}
	return out, nil
}

func appendValue(out, v []byte, enc Encoding) ([]byte, error) {
	switch enc {
	case ASCII, Binary:
		return append(out, v...), nil
	case BCD:
		return appendBCD(out, v)
	case Track2:
		return appendTrack2(out, v)
	}
	return nil, fmt.Errorf("encoding %v", enc)
}

func appendTrack2(out, v []byte) ([]byte, error) {
	nibble := func(c byte) (byte, error) {
		switch {
		case c >= '0' && c <= '9':
			return c - '0', nil
		case c == '=':
			return 0xD, nil
		}
		return 0, fmt.Errorf("character %q is not allowed in track 2 data", c)
	}
	for i := 0; i < len(v); i += 2 {
		hi, err := nibble(v[i])
		if err != nil {
			return nil, err
		}
		lo := byte(0xF)
		if i+1 < len(v) {
			if lo, err = nibble(v[i+1]); err != nil {
				return nil, err
			}
		}
		out = append(out, hi<<4|lo)
	}
	return out, nil
}

func decodeTrack2(raw []byte, n int) ([]byte, error) {
	out := make([]byte, 0, n)
	for i := 0; i < n; i++ {
		b := raw[i/2]
		nb := b >> 4
		if i%2 == 1 {
			nb = b & 0x0F
		}
		switch {
		case nb <= 9:
			out = append(out, '0'+nb)
		case nb == 0xD:
			out = append(out, '=')
		default:
			return nil, fmt.Errorf("nibble %X is not allowed in track 2 data", nb)
		}
	}
	if n%2 == 1 && raw[len(raw)-1]&0x0F != 0xF {
		return nil, fmt.Errorf("odd-length track 2 data not padded with F")
	}
	return out, nil
}

func appendBCD(out, digits []byte) ([]byte, error) {
	for _, d := range digits {
		if d < '0' || d > '9' {
			return nil, fmt.Errorf("%q is not numeric", digits)
		}
	}
	i := 0
	if len(digits)%2 == 1 {
		out = append(out, digits[0]-'0')
		i = 1
	}
	for ; i < len(digits); i += 2 {
		out = append(out, (digits[i]-'0')<<4|(digits[i+1]-'0'))
	}
	return out, nil
}

// ErrShort means the message ended inside a part that needs more bytes.
var ErrShort = errors.New("iso8583: message too short")

// reader walks the bytes of a message being unpacked.
type reader struct {
	b   []byte
	off int
}

func (r *reader) take(n int) ([]byte, error) {
	if n < 0 || n > len(r.b)-r.off {
		return nil, fmt.Errorf("%w: need %d bytes at offset %d, have %d", ErrShort, n, r.off, len(r.b)-r.off)
	}
	v := r.b[r.off : r.off+n]
	r.off += n
	return v, nil
}

// value reads a value of n characters (digits for BCD).
func (r *reader) value(n int, enc Encoding) ([]byte, error) {
	switch enc {
	case ASCII, Binary:
		v, err := r.take(n)
		if err != nil {
			return nil, err
		}
		return slices.Clone(v), nil
	case BCD:
		raw, err := r.take((n + 1) / 2)
		if err != nil {
			return nil, err
		}
		return decodeBCD(raw, n)
	case Track2:
		raw, err := r.take((n + 1) / 2)
		if err != nil {
			return nil, err
		}
		return decodeTrack2(raw, n)
	}
	return nil, fmt.Errorf("encoding %v", enc)
}

func decodeBCD(raw []byte, n int) ([]byte, error) {
	out := make([]byte, 0, len(raw)*2)
	for _, b := range raw {
		hi, lo := b>>4, b&0x0F
		if hi > 9 || lo > 9 {
			return nil, fmt.Errorf("byte %02x is not BCD", b)
		}
		out = append(out, '0'+hi, '0'+lo)
	}
	if n%2 == 1 {
		if out[0] != '0' {
			return nil, fmt.Errorf("odd-length BCD value not padded with 0")
		}
		out = out[1:]
	}
	return out, nil
}

// Unpack reads one message (without the transport length header).
func (s *Spec) Unpack(b []byte) (*Message, error) {
	r := &reader{b: b}
	m := &Message{Fields: map[int][]byte{}}
	if s.TPDU {
		t, err := r.take(TPDULength)
		if err != nil {
			return nil, fmt.Errorf("iso8583: TPDU: %w", err)
		}
		if t[0] != TPDUID {
			return nil, fmt.Errorf("iso8583: TPDU ID %02x, want %02x", t[0], TPDUID)
		}
		m.TPDU = slices.Clone(t)
	}
	mti, err := r.value(4, s.MTI)
	if err != nil {
		return nil, fmt.Errorf("iso8583: MTI: %w", err)
	}
	for _, c := range mti {
		if c < '0' || c > '9' {
			return nil, fmt.Errorf("iso8583: MTI %q is not numeric", mti)
		}
	}
	m.MTI = string(mti)
	bitmap, err := r.bitmap(s.Bitmap)
	if err != nil {
		return nil, err
	}
	if bitmap[0]&0x80 != 0 {
		second, err := r.bitmap(s.Bitmap)
		if err != nil {
			return nil, err
		}
		bitmap = append(bitmap, second...)
	}
	for n := 2; n <= len(bitmap)*8; n++ {
		if bitmap[(n-1)/8]&(0x80>>((n-1)%8)) == 0 {
			continue
		}
		f, ok := s.Fields[n]
		if !ok {
			return nil, fmt.Errorf("iso8583: field %d is present but not in spec %s", n, s.Name)
		}
		v, err := s.unpackField(r, f)
		if err != nil {
			return nil, fmt.Errorf("iso8583: field %d (%s): %w", n, f.Description, err)
		}
		m.Fields[n] = v
	}
	if r.off != len(b) {
		return nil, fmt.Errorf("iso8583: %d bytes left after the last field", len(b)-r.off)
	}
	return m, nil
}

func (r *reader) bitmap(enc Encoding) ([]byte, error) {
	if enc == Hex {
		h, err := r.take(16)
		if err != nil {
			return nil, fmt.Errorf("iso8583: bitmap: %w", err)
		}
		b := make([]byte, 8)
		if _, err := hex.Decode(b, h); err != nil {
			return nil, fmt.Errorf("iso8583: bitmap: %w", err)
		}
		return b, nil
	}
	b, err := r.take(8)
	if err != nil {
		return nil, fmt.Errorf("iso8583: bitmap: %w", err)
	}
	return slices.Clone(b), nil
}

func (s *Spec) unpackField(r *reader, f Field) ([]byte, error) {
	n := f.Length
	if f.Type == LLVAR || f.Type == LLLVAR {
		digits := 2
		if f.Type == LLLVAR {
			digits = 3
		}
		p, err := r.value(digits, s.Prefix)
		if err != nil {
			return nil, fmt.Errorf("length prefix: %w", err)
		}
		for _, c := range p {
			if c < '0' || c > '9' {
				return nil, fmt.Errorf("length prefix %q is not a number", p)
			}
		}
		n, _ = strconv.Atoi(string(p))
		if n > f.Length {
			return nil, fmt.Errorf("length %d exceeds %d", n, f.Length)
		}
	}
	return r.value(n, f.Enc)
}
