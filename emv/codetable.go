package emv

import (
	"strings"
	"unicode"

	"golang.org/x/text/encoding/charmap"
)

// codeTables are the ISO/IEC 8859 parts an Issuer Code Table Index (9F11)
// names, 1 to 10.
var codeTables = [...]*charmap.Charmap{
	1: charmap.ISO8859_1, 2: charmap.ISO8859_2, 3: charmap.ISO8859_3, 4: charmap.ISO8859_4,
	5: charmap.ISO8859_5, 6: charmap.ISO8859_6, 7: charmap.ISO8859_7, 8: charmap.ISO8859_8,
	9: charmap.ISO8859_9, 10: charmap.ISO8859_10,
}

// codeTableSupported reports whether the terminal's additional
// capabilities (9F40) list an ISO 8859 code table: byte 5 bits 1-8 are
// tables 1-8, byte 4 bits 1-2 tables 9-10 (EMV Book 4, A3).
func codeTableSupported(addCaps []byte, table int) bool {
	if len(addCaps) != 5 || table < 1 || table > 10 {
		return false
	}
	if table <= 8 {
		return addCaps[4]&(1<<(table-1)) != 0
	}
	return addCaps[3]&(1<<(table-9)) != 0
}

// preferredName decodes an Application Preferred Name (9F12) with the
// code table its Issuer Code Table Index (9F11) names, when the terminal
// supports that table (EMV Book 1, 12.4; Book 4, 11.1). Otherwise, or
// when nothing printable is left, it is "" and the application label is
// shown instead.
func (s *Session) preferredName(name, index []byte) string {
	if len(name) == 0 || len(index) != 1 {
		return ""
	}
	table := int(index[0]>>4)*10 + int(index[0]&0x0F) // n2
	if index[0]&0x0F > 9 || !codeTableSupported(s.cfg.AdditionalCapabilities, table) {
		return ""
	}
	text, err := codeTables[table].NewDecoder().Bytes(name)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return -1
		}
		return r
	}, string(text)))
}
