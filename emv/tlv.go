package emv

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Tag is a BER-TLV tag with its bytes packed big-endian into an integer:
// 0x5A, 0x9F02, 0xBF0C, 0xDF8101. EMV tags are at most three bytes long;
// four are accepted.
type Tag uint32

// ErrTLV is wrapped by every BER-TLV and DOL coding error.
var ErrTLV = errors.New("emv: malformed BER-TLV")

// maxTagBytes is the longest tag ParseTag accepts.
const maxTagBytes = 4

// maxDepth bounds the nesting of constructed objects that Flatten and Find
// descend into.
const maxDepth = 16

// ParseTag reads the tag at the start of b and returns it with its length in
// bytes.
func ParseTag(b []byte) (Tag, int, error) {
	if len(b) == 0 {
		return 0, 0, fmt.Errorf("%w: missing tag", ErrTLV)
	}
	t := Tag(b[0])
	if b[0]&0x1F != 0x1F {
		return t, 1, nil
	}
	for i := 1; i < len(b); i++ {
		if i >= maxTagBytes {
			return 0, 0, fmt.Errorf("%w: tag longer than %d bytes", ErrTLV, maxTagBytes)
		}
		t = t<<8 | Tag(b[i])
		if b[i]&0x80 == 0 {
			return t, i + 1, nil
		}
	}
	return 0, 0, fmt.Errorf("%w: truncated tag", ErrTLV)
}

// Bytes returns the tag's encoding.
func (t Tag) Bytes() []byte { return t.appendTo(nil) }

func (t Tag) appendTo(dst []byte) []byte {
	switch {
	case t > 0xFFFFFF:
		return append(dst, byte(t>>24), byte(t>>16), byte(t>>8), byte(t))
	case t > 0xFFFF:
		return append(dst, byte(t>>16), byte(t>>8), byte(t))
	case t > 0xFF:
		return append(dst, byte(t>>8), byte(t))
	default:
		return append(dst, byte(t))
	}
}

// first returns the tag's first byte, which carries its class and form.
func (t Tag) first() byte {
	for t > 0xFF {
		t >>= 8
	}
	return byte(t)
}

// Constructed reports whether the tag's value is itself a sequence of data
// objects (bit 6 of the first byte).
func (t Tag) Constructed() bool { return t.first()&0x20 != 0 }

// String returns the tag in upper-case hex, as the EMV books write it.
func (t Tag) String() string { return strings.ToUpper(hex.EncodeToString(t.Bytes())) }

// ParseLength reads a BER length at the start of b and returns it with the
// number of bytes it took. Short form and long form with up to three length
// bytes are accepted; the indefinite form (0x80) is not.
func ParseLength(b []byte) (int, int, error) {
	if len(b) == 0 {
		return 0, 0, fmt.Errorf("%w: missing length", ErrTLV)
	}
	if b[0] < 0x80 {
		return int(b[0]), 1, nil
	}
	n := int(b[0] & 0x7F)
	if n == 0 {
		return 0, 0, fmt.Errorf("%w: indefinite length", ErrTLV)
	}
	if n > 3 {
		return 0, 0, fmt.Errorf("%w: length field of %d bytes", ErrTLV, n)
	}
	if len(b) < 1+n {
		return 0, 0, fmt.Errorf("%w: truncated length", ErrTLV)
	}
	l := 0
	for _, c := range b[1 : 1+n] {
		l = l<<8 | int(c)
	}
	return l, 1 + n, nil
}

func appendLength(dst []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(dst, byte(n))
	case n <= 0xFF:
		return append(dst, 0x81, byte(n))
	case n <= 0xFFFF:
		return append(dst, 0x82, byte(n>>8), byte(n))
	default:
		return append(dst, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
}

// TLV is one BER-TLV data object. For a constructed tag Value holds the
// encoded children; [TLV.Children] parses them. Values returned by the
// parsing functions share memory with their input.
type TLV struct {
	Tag   Tag
	Value []byte
}

// Bytes returns the object's encoding.
func (o TLV) Bytes() []byte { return AppendTLV(nil, o.Tag, o.Value) }

// Children parses the value of a constructed object.
func (o TLV) Children() ([]TLV, error) {
	if !o.Tag.Constructed() {
		return nil, fmt.Errorf("%w: tag %s is primitive", ErrTLV, o.Tag)
	}
	return ParseTLV(o.Value)
}

// AppendTLV appends the encoding of one data object to dst.
func AppendTLV(dst []byte, tag Tag, value []byte) []byte {
	dst = tag.appendTo(dst)
	dst = appendLength(dst, len(value))
	return append(dst, value...)
}

// Encode returns the concatenated encodings of objs.
func Encode(objs ...TLV) []byte {
	var out []byte
	for _, o := range objs {
		out = AppendTLV(out, o.Tag, o.Value)
	}
	return out
}

// ParseTLV parses a sequence of data objects at one level. Zero bytes
// before, between and after objects are padding and are skipped (EMV Book 3
// Annex B).
func ParseTLV(b []byte) ([]TLV, error) {
	var out []TLV
	for len(b) > 0 {
		if b[0] == 0x00 {
			b = b[1:]
			continue
		}
		o, n, err := parseOne(b)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
		b = b[n:]
	}
	return out, nil
}

// parseOne parses the object at the start of b.
func parseOne(b []byte) (TLV, int, error) {
	tag, tn, err := ParseTag(b)
	if err != nil {
		return TLV{}, 0, err
	}
	l, ln, err := ParseLength(b[tn:])
	if err != nil {
		return TLV{}, 0, fmt.Errorf("tag %s: %w", tag, err)
	}
	start := tn + ln
	if l > len(b)-start {
		return TLV{}, 0, fmt.Errorf("%w: tag %s needs %d bytes, %d left", ErrTLV, tag, l, len(b)-start)
	}
	return TLV{Tag: tag, Value: b[start : start+l : start+l]}, start + l, nil
}

// Flatten parses b and returns every primitive data object in it, in order,
// descending into constructed objects.
func Flatten(b []byte) ([]TLV, error) {
	var out []TLV
	err := flatten(b, 0, &out)
	return out, err
}

func flatten(b []byte, depth int, out *[]TLV) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: nested deeper than %d", ErrTLV, maxDepth)
	}
	objs, err := ParseTLV(b)
	if err != nil {
		return err
	}
	for _, o := range objs {
		if o.Tag.Constructed() {
			if err := flatten(o.Value, depth+1, out); err != nil {
				return fmt.Errorf("in %s: %w", o.Tag, err)
			}
			continue
		}
		*out = append(*out, o)
	}
	return nil
}

// Find returns the value of the first object with the tag in b, searching
// depth-first into constructed objects. Malformed input finds nothing past
// the point where it stops parsing.
func Find(b []byte, tag Tag) ([]byte, bool) { return find(b, tag, 0) }

func find(b []byte, tag Tag, depth int) ([]byte, bool) {
	for len(b) > 0 {
		if b[0] == 0x00 {
			b = b[1:]
			continue
		}
		o, n, err := parseOne(b)
		if err != nil {
			return nil, false
		}
		if o.Tag == tag {
			return o.Value, true
		}
		if o.Tag.Constructed() && depth < maxDepth {
			if v, ok := find(o.Value, tag, depth+1); ok {
				return v, true
			}
		}
		b = b[n:]
	}
	return nil, false
}
