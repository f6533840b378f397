package main

import (
	"strconv"
	"strings"

	"golang.org/x/text/currency"
)

// decimals is the number of minor-unit digits of an ISO 4217 currency (2
// for USD, 0 for JPY, 3 for KWD); -1 when the code is unknown.
func decimals(code string) int {
	u, err := currency.ParseISO(code)
	if err != nil {
		return -1
	}
	scale, _ := currency.Standard.Rounding(u)
	return scale
}

// major writes minor units as a decimal amount: 2800 USD is "28.00". An
// unknown currency keeps the minor units.
func major(minor int64, code string) string {
	d := decimals(code)
	if d <= 0 {
		return strconv.FormatInt(minor, 10)
	}
	sign := ""
	u := uint64(minor)
	if minor < 0 {
		sign, u = "-", uint64(-minor)
	}
	s := strconv.FormatUint(u, 10)
	if len(s) <= d {
		s = strings.Repeat("0", d-len(s)+1) + s
	}
	return sign + s[:len(s)-d] + "." + s[len(s)-d:]
}

// money is "USD 28.00".
func money(minor int64, code string) string {
	if code == "" {
		return strconv.FormatInt(minor, 10) + " (minor units)"
	}
	return code + " " + major(minor, code)
}
