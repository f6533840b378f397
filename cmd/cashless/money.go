package main

import (
	"strconv"

	currency "github.com/vinr/cashlessd/money"
)

// major writes minor units as a decimal amount: 2800 USD is "28.00". An
// unknown currency keeps the minor units.
func major(minor int64, code string) string {
	if _, ok := currency.Exponent(code); !ok {
		return strconv.FormatInt(minor, 10)
	}
	return currency.Format(minor, code)
}

// money is "USD 28.00".
func money(minor int64, code string) string {
	if code == "" {
		return strconv.FormatInt(minor, 10) + " (minor units)"
	}
	return code + " " + major(minor, code)
}
