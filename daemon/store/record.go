package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// A record is a versioned binary encoding: one format byte, then fields,
// each a key (tag << 3 | wire type, as an unsigned varint) and a value.
// A zero value (empty string, 0, false, zero time, nil) is left out, so
// a record holds only what a transaction has. Tags are fixed forever:
// to add a field, give it the next free tag in its message, write it in
// the encoder and read it in the decoder (the round-trip test fails
// until both know every field of the struct). A tag this build does not
// know is an error, never skipped: a record is rewritten whole, and a
// field dropped on the way would be lost.
//
// JSON records (the format before this one) start with '{'; the store
// reads both and migrates JSON records on start (migrate.go).
const recordFormat byte = 0x02

// Wire types.
const (
	wireVarint = 0 // zig-zag varint: integers, booleans (1)
	wireBytes  = 2 // length, then bytes: strings, byte slices, messages, times
)

// recordWriter appends fields to a record.
type recordWriter struct{ b []byte }

func (w *recordWriter) key(tag, wire int) {
	w.b = binary.AppendUvarint(w.b, uint64(tag)<<3|uint64(wire))
}

// str writes a non-empty string.
func (w *recordWriter) str(tag int, s string) {
	if s == "" {
		return
	}
	w.key(tag, wireBytes)
	w.b = binary.AppendUvarint(w.b, uint64(len(s)))
	w.b = append(w.b, s...)
}

// bytes writes a non-empty byte slice.
func (w *recordWriter) bytes(tag int, b []byte) {
	if len(b) == 0 {
		return
	}
	w.key(tag, wireBytes)
	w.b = binary.AppendUvarint(w.b, uint64(len(b)))
	w.b = append(w.b, b...)
}

// int writes a non-zero integer.
func (w *recordWriter) int(tag int, v int64) {
	if v == 0 {
		return
	}
	w.key(tag, wireVarint)
	w.b = binary.AppendVarint(w.b, v)
}

// flag writes a true boolean.
func (w *recordWriter) flag(tag int, v bool) {
	if v {
		w.int(tag, 1)
	}
}

// time writes a non-zero time: its Unix seconds (zig-zag varint) and
// nanoseconds (varint), read back in UTC.
func (w *recordWriter) time(tag int, t time.Time) {
	if t.IsZero() {
		return
	}
	var v [2 * binary.MaxVarintLen64]byte
	b := binary.AppendVarint(v[:0], t.Unix())
	b = binary.AppendUvarint(b, uint64(t.Nanosecond()))
	w.bytes(tag, b)
}

// errRecord is what a record that cannot be read wraps.
var errRecord = errors.New("damaged record")

// recordField is one field read from a record.
type recordField struct {
	tag   int
	wire  int
	num   int64  // wireVarint
	bytes []byte // wireBytes; aliases the record
}

// str is the field as a string.
func (f recordField) str() (string, error) {
	if f.wire != wireBytes {
		return "", f.wrongType()
	}
	return string(f.bytes), nil
}

// int is the field as an integer.
func (f recordField) int() (int64, error) {
	if f.wire != wireVarint {
		return 0, f.wrongType()
	}
	return f.num, nil
}

// flag is the field as a boolean.
func (f recordField) flag() (bool, error) {
	n, err := f.int()
	return n != 0, err
}

// time is the field as a UTC time.
func (f recordField) time() (time.Time, error) {
	if f.wire != wireBytes {
		return time.Time{}, f.wrongType()
	}
	sec, n := binary.Varint(f.bytes)
	if n <= 0 {
		return time.Time{}, fmt.Errorf("%w: bad time in field %d", errRecord, f.tag)
	}
	nsec, m := binary.Uvarint(f.bytes[n:])
	if m <= 0 || n+m != len(f.bytes) || nsec >= 1e9 {
		return time.Time{}, fmt.Errorf("%w: bad time in field %d", errRecord, f.tag)
	}
	return time.Unix(sec, int64(nsec)).UTC(), nil
}

// message is the field's nested message.
func (f recordField) message() ([]byte, error) {
	if f.wire != wireBytes {
		return nil, f.wrongType()
	}
	return f.bytes, nil
}

func (f recordField) wrongType() error {
	return fmt.Errorf("%w: field %d has wire type %d", errRecord, f.tag, f.wire)
}

// unknown is the error for a field this build does not know.
func (f recordField) unknown(message string) error {
	return fmt.Errorf("%w: %s field %d is unknown to this cashlessd", errRecord, message, f.tag)
}

// readFields calls each for every field of a message, in order.
func readFields(b []byte, each func(recordField) error) error {
	for len(b) > 0 {
		k, n := binary.Uvarint(b)
		if n <= 0 || k>>3 > math.MaxInt32 {
			return fmt.Errorf("%w: bad field key", errRecord)
		}
		b = b[n:]
		f := recordField{tag: int(k >> 3), wire: int(k & 7)}
		switch f.wire {
		case wireVarint:
			v, n := binary.Varint(b)
			if n <= 0 {
				return fmt.Errorf("%w: bad value of field %d", errRecord, f.tag)
			}
			f.num, b = v, b[n:]
		case wireBytes:
			l, n := binary.Uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return fmt.Errorf("%w: bad length of field %d", errRecord, f.tag)
			}
			f.bytes, b = b[n:n+int(l)], b[n+int(l):]
		default:
			return fmt.Errorf("%w: field %d has unknown wire type %d", errRecord, f.tag, f.wire)
		}
		if err := each(f); err != nil {
			return err
		}
	}
	return nil
}
