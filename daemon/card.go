package daemon

import "strings"

// MaskPAN keeps the last four digits of a PAN and masks the rest.
func MaskPAN(pan string) string {
	if len(pan) <= 4 {
		return strings.Repeat("*", len(pan))
	}
	return strings.Repeat("*", len(pan)-4) + pan[len(pan)-4:]
}

// LuhnValid reports whether pan is 12 to 19 digits with a valid Luhn check
// digit.
func LuhnValid(pan string) bool {
	if len(pan) < 12 || len(pan) > 19 {
		return false
	}
	sum := 0
	double := false
	for i := len(pan) - 1; i >= 0; i-- {
		c := pan[i]
		if c < '0' || c > '9' {
			return false
		}
		d := int(c - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// SchemeOf names the card scheme of a PAN by its leading digits.
func SchemeOf(pan string) string {
	p := func(n int) int {
		if len(pan) < n {
			return -1
		}
		v := 0
		for _, c := range pan[:n] {
			v = v*10 + int(c-'0')
		}
		return v
	}
	switch {
	case strings.HasPrefix(pan, "4"):
		return "visa"
	case p(2) >= 51 && p(2) <= 55, p(4) >= 2221 && p(4) <= 2720:
		return "mastercard"
	case p(2) == 34 || p(2) == 37:
		return "amex"
	case p(4) == 6011 || p(2) == 65 || (p(3) >= 644 && p(3) <= 649):
		return "discover"
	case p(4) >= 3528 && p(4) <= 3589:
		return "jcb"
	case p(2) == 62:
		return "unionpay"
	case p(2) == 50 || (p(2) >= 56 && p(2) <= 69):
		return "maestro"
	}
	return "unknown"
}
