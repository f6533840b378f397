package dukpt

import (
	"errors"
	"fmt"
)

// FormatPIN0 builds the clear ISO 9564-1 format 0 (ANSI X9.8) PIN block
// of pin for pan: the PIN field 0, length, digits, F padding, XORed with
// the PAN field 0000 and the twelve rightmost PAN digits without the check
// digit. The result is the clear PIN block: clear it after encrypting.
func FormatPIN0(pin, pan string) ([]byte, error) {
	if len(pin) < 4 || len(pin) > 12 {
		return nil, errors.New("dukpt: a PIN has 4 to 12 digits")
	}
	panField, err := panField(pan)
	if err != nil {
		return nil, err
	}
	var nibbles [16]byte
	nibbles[0] = 0
	nibbles[1] = byte(len(pin))
	for i := 2; i < 16; i++ {
		nibbles[i] = 0x0F
	}
	for i := 0; i < len(pin); i++ {
		c := pin[i]
		if c < '0' || c > '9' {
			return nil, errors.New("dukpt: a PIN has digits only")
		}
		nibbles[2+i] = c - '0'
	}
	block := make([]byte, BlockLen)
	for i := range block {
		block[i] = (nibbles[2*i]<<4 | nibbles[2*i+1]) ^ panField[i]
	}
	clear(nibbles[:])
	return block, nil
}

// ParsePIN0 recovers the PIN from a clear format 0 PIN block and the PAN
// it was built with. It is for tests and host simulators.
func ParsePIN0(block []byte, pan string) (string, error) {
	if len(block) != BlockLen {
		return "", fmt.Errorf("dukpt: PIN block of %d bytes, want %d", len(block), BlockLen)
	}
	pf, err := panField(pan)
	if err != nil {
		return "", err
	}
	var nibbles [16]byte
	for i := range BlockLen {
		b := block[i] ^ pf[i]
		nibbles[2*i], nibbles[2*i+1] = b>>4, b&0x0F
	}
	defer clear(nibbles[:])
	n := int(nibbles[1])
	if nibbles[0] != 0 || n < 4 || n > 12 {
		return "", errors.New("dukpt: not a format 0 PIN block for this PAN")
	}
	pin := make([]byte, n)
	for i := range n {
		d := nibbles[2+i]
		if d > 9 {
			return "", errors.New("dukpt: not a format 0 PIN block for this PAN")
		}
		pin[i] = '0' + d
	}
	for _, d := range nibbles[2+n:] {
		if d != 0x0F {
			return "", errors.New("dukpt: not a format 0 PIN block for this PAN")
		}
	}
	return string(pin), nil
}

// panField is 0000 followed by the twelve rightmost digits of pan
// excluding the check digit, as BCD.
func panField(pan string) ([BlockLen]byte, error) {
	var f [BlockLen]byte
	if len(pan) < 12 || len(pan) > 19 {
		return f, fmt.Errorf("dukpt: a PAN has 12 to 19 digits, not %d", len(pan))
	}
	for i := 0; i < len(pan); i++ {
		if pan[i] < '0' || pan[i] > '9' {
			return f, errors.New("dukpt: a PAN has digits only")
		}
	}
	digits := pan[:len(pan)-1] // without the check digit
	if len(digits) < 12 {
		digits = "0" + digits // ISO 9564: right-justified, zero-filled
	}
	digits = digits[len(digits)-12:]
	for i := range 6 {
		f[2+i] = (digits[2*i]-'0')<<4 | (digits[2*i+1] - '0')
	}
	return f, nil
}
