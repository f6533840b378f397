package reader

// CRC16 returns the CRC-16/CCITT-FALSE of p: polynomial 0x1021, initial
// value 0xFFFF, input and output not reflected, no final XOR. Its check
// value (the CRC of the ASCII string "123456789") is 0x29B1.
//
// It is computed bit by bit rather than from a lookup table: frames are a
// few hundred bytes on a serial line, and the package keeps no tables or
// other package-level variables.
func CRC16(p []byte) uint16 {
	return crcUpdate(0xFFFF, p)
}

// crcUpdate continues a CRC-16/CCITT-FALSE computation over p.
func crcUpdate(crc uint16, p []byte) uint16 {
	for _, b := range p {
		crc ^= uint16(b) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}
