// Package pan holds the one masking policy, the one Luhn check and the one
// scheme-by-number rule for primary account numbers (card numbers).
//
// # Masking policy
//
// A masked PAN keeps its last four digits; every other character becomes
// '*', and the length stays the same: "4242424242424242" is shown as
// "************4242", as the API reference shows maskedPan. That one form,
// [Mask], is what cashlessd stores (transactions, batches, the simulated
// acquirer's ledger), returns to the ECR (maskedPan), prints on receipts,
// and writes to every log: the engine's, the card reader link's and the
// acquirer link's. A full PAN lives in memory only, for the card session
// and the authorisation request, and never reaches a log or a file.
package pan

import "strings"

// Mask keeps the last four characters of a card number and replaces every
// other one with '*', keeping the length; a number of four characters or
// fewer is masked entirely.
func Mask(number string) string {
	if len(number) <= 4 {
		return strings.Repeat("*", len(number))
	}
	return strings.Repeat("*", len(number)-4) + number[len(number)-4:]
}

// Valid reports whether number is 12 to 19 digits whose last digit is the
// Luhn (mod 10) check digit of the others.
func Valid(number string) bool {
	if len(number) < 12 || len(number) > 19 {
		return false
	}
	sum := 0
	double := false
	for i := len(number) - 1; i >= 0; i-- {
		c := number[i]
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

// Scheme names the card scheme of a card number by its leading digits
// (the issuer identification number): "visa", "mastercard", "amex",
// "discover", "jcb", "unionpay", "maestro", or "unknown" when no range
// matches.
func Scheme(number string) string {
	prefix := func(n int) int {
		if len(number) < n {
			return -1
		}
		v := 0
		for i := 0; i < n; i++ {
			c := number[i]
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	p1, p2, p3, p4 := prefix(1), prefix(2), prefix(3), prefix(4)
	switch {
	case p1 == 4:
		return "visa"
	case p2 == 34 || p2 == 37:
		return "amex"
	case (p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720):
		return "mastercard"
	case p4 == 6011 || (p3 >= 644 && p3 <= 649) || p2 == 65:
		return "discover"
	case p4 >= 3528 && p4 <= 3589:
		return "jcb"
	case p2 == 62 || p2 == 81:
		return "unionpay"
	case p2 == 50 || (p2 >= 56 && p2 <= 69):
		return "maestro"
	}
	return "unknown"
}
