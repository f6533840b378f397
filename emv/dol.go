package emv

import "fmt"

// DOLEntry is one entry of a data object list: a tag and the length the
// card wants its value in.
type DOLEntry struct {
	Tag Tag
	Len int
}

// DOL is a data object list (PDOL, CDOL1, CDOL2, DDOL, TDOL): the card's
// request for terminal data, as tags and lengths without values.
type DOL []DOLEntry

// maxDOLLen bounds the data a DOL may ask for; a short APDU carries at most
// 255 bytes.
const maxDOLLen = 252

// ParseDOL parses a data object list.
func ParseDOL(b []byte) (DOL, error) {
	var d DOL
	total := 0
	for len(b) > 0 {
		tag, tn, err := ParseTag(b)
		if err != nil {
			return nil, fmt.Errorf("DOL: %w", err)
		}
		l, ln, err := ParseLength(b[tn:])
		if err != nil {
			return nil, fmt.Errorf("DOL tag %s: %w", tag, err)
		}
		total += l
		if total > maxDOLLen {
			return nil, fmt.Errorf("%w: DOL asks for more than %d bytes", ErrTLV, maxDOLLen)
		}
		d = append(d, DOLEntry{Tag: tag, Len: l})
		b = b[tn+ln:]
	}
	return d, nil
}

// Bytes returns the list's encoding.
func (d DOL) Bytes() []byte {
	var out []byte
	for _, e := range d {
		out = e.Tag.appendTo(out)
		out = appendLength(out, e.Len)
	}
	return out
}

// Len is the length of the data the list asks for.
func (d DOL) Len() int {
	n := 0
	for _, e := range d {
		n += e.Len
	}
	return n
}

// Has reports whether the list asks for the tag.
func (d DOL) Has(t Tag) bool {
	for _, e := range d {
		if e.Tag == t {
			return true
		}
	}
	return false
}

// Build concatenates the values the list asks for, taken from lookup, each
// fitted to its length as EMV Book 3 5.4 says: a value the terminal does not
// have, or a constructed tag, becomes zeros; numeric values are padded with
// leading zeros or lose their leftmost bytes; compressed numeric values are
// padded with trailing F; others are padded with trailing zeros or lose
// their rightmost bytes.
func (d DOL) Build(lookup func(Tag) ([]byte, bool)) []byte {
	out := make([]byte, 0, d.Len())
	for _, e := range d {
		var v []byte
		ok := false
		if !e.Tag.Constructed() {
			v, ok = lookup(e.Tag)
		}
		out = append(out, fit(v, ok, e.Len, e.Tag.format())...)
	}
	return out
}

// fit pads or truncates one value to n bytes by its format.
func fit(v []byte, ok bool, n int, f Format) []byte {
	out := make([]byte, n)
	if !ok {
		return out
	}
	switch f {
	case FormatN:
		if len(v) >= n {
			copy(out, v[len(v)-n:])
		} else {
			copy(out[n-len(v):], v)
		}
	case FormatCN:
		for i := range out {
			out[i] = 0xFF
		}
		copy(out, v)
	default:
		copy(out, v)
	}
	return out
}

// Split cuts data built from the list back into tagged values: the card's
// side of Build.
func (d DOL) Split(data []byte) ([]TLV, error) {
	if len(data) != d.Len() {
		return nil, fmt.Errorf("%w: DOL data is %d bytes, list asks for %d", ErrTLV, len(data), d.Len())
	}
	out := make([]TLV, 0, len(d))
	for _, e := range d {
		out = append(out, TLV{Tag: e.Tag, Value: data[:e.Len:e.Len]})
		data = data[e.Len:]
	}
	return out, nil
}
