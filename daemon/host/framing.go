package host

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// MaxMessageLength is the largest message either end accepts. The 2-byte
// header could announce 65535 bytes; nothing on this link comes close.
const MaxMessageLength = 8192

// ReadLength reads the 2-byte big-endian length header of the next message.
func ReadLength(r io.Reader) (int, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, err
	}
	n := int(binary.BigEndian.Uint16(h[:]))
	if n == 0 || n > MaxMessageLength {
		return 0, fmt.Errorf("host: message length %d out of range", n)
	}
	return n, nil
}

// WriteLength writes the 2-byte big-endian length header for a message of
// n bytes.
func WriteLength(w io.Writer, n int) (int, error) {
	if n <= 0 || n > MaxMessageLength {
		return 0, fmt.Errorf("host: message length %d out of range", n)
	}
	var h [2]byte
	binary.BigEndian.PutUint16(h[:], uint16(n))
	return w.Write(h[:])
}

// ReadFrame reads one length-prefixed message.
func ReadFrame(r io.Reader) ([]byte, error) {
	n, err := ReadLength(r)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf, nil
}

// WriteFrame writes one message with its length header in a single write.
func WriteFrame(w io.Writer, msg []byte) error {
	if len(msg) == 0 || len(msg) > MaxMessageLength {
		return fmt.Errorf("host: message length %d out of range", len(msg))
	}
	buf := make([]byte, 2+len(msg))
	binary.BigEndian.PutUint16(buf, uint16(len(msg)))
	copy(buf[2:], msg)
	_, err := w.Write(buf)
	return err
}
