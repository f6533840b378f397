package host

import "strings"

// MaskPAN keeps the first six and last four digits of a card number and
// replaces the rest with '*'. Numbers too short to mask that way keep only
// their last four digits. A full PAN never goes to a log or a file.
func MaskPAN(pan string) string {
	n := len(pan)
	switch {
	case n == 0:
		return ""
	case n < 13:
		if n <= 4 {
			return strings.Repeat("*", n)
		}
		return strings.Repeat("*", n-4) + pan[n-4:]
	}
	return pan[:6] + strings.Repeat("*", n-10) + pan[n-4:]
}
