// Package money holds the one ISO 4217 table of cashlessd and the one way
// an amount in minor units is written as text.
//
// Amounts travel as integers in minor units (2500 is 25.00 USD, 2500 JPY,
// 2.500 KWD). Alphabetic codes and their minor units (the exponent) come
// from golang.org/x/text/currency, which follows the ISO 4217 and CLDR
// data; the numeric codes, which ISO 8583 (field 49) and EMV (tags 5F2A,
// 9F42) carry, come from this package's table. Add a pair to the table
// when a terminal needs another currency.
package money

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/text/currency"
)

// numerics pairs ISO 4217 alphabetic and numeric codes, six characters a
// currency.
const numerics = "AED784ARS032AUD036BDT050BGN975BHD048BND096BRL986CAD124CHF756" +
	"CLP152CNY156COP170CZK203DKK208EGP818EUR978GBP826HKD344HUF348" +
	"IDR360ILS376INR356IQD368ISK352JOD400JPY392KES404KRW410KWD414" +
	"LKR144LYD434MAD504MXN484MYR458NGN566NOK578NZD554OMR512PEN604" +
	"PHP608PKR586PLN985QAR634RON946SAR682SEK752SGD702THB764TND788" +
	"TRY949TWD901UAH980USD840UYU858VND704XAF950XOF952ZAR710"

// defaultExponent is the number of decimals written for a currency ISO
// 4217 does not know.
const defaultExponent = 2

// Valid reports whether code is an ISO 4217 alphabetic code written as
// three upper-case letters ("USD"; "usd" is not valid).
func Valid(code string) bool {
	if len(code) != 3 || strings.ToUpper(code) != code {
		return false
	}
	_, err := currency.ParseISO(code)
	return err == nil
}

// Exponent returns the number of minor-unit digits of an ISO 4217
// alphabetic code in either case (2 for USD, 0 for JPY, 3 for KWD), and
// false when the code is unknown.
func Exponent(code string) (int, bool) {
	u, err := currency.ParseISO(code)
	if err != nil {
		return 0, false
	}
	scale, _ := currency.Standard.Rounding(u)
	return scale, true
}

// Numeric returns the ISO 4217 numeric code of a currency ("USD" → "840").
// The alphabetic code may be in either case and surrounded by spaces; a
// three-digit code is returned as it is, so that an acquirer may use a
// numeric code the table lacks.
func Numeric(code string) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(code))
	if len(c) == 3 && isDigits(c) {
		return c, nil
	}
	if len(c) == 3 {
		for i := 0; i+6 <= len(numerics); i += 6 {
			if numerics[i:i+3] == c {
				return numerics[i+3 : i+6], nil
			}
		}
	}
	return "", fmt.Errorf("money: no ISO 4217 numeric code for currency %q", code)
}

// Alpha returns the ISO 4217 alphabetic code of a numeric code in the
// table ("840" → "USD").
func Alpha(numeric string) (string, bool) {
	if len(numeric) != 3 {
		return "", false
	}
	for i := 0; i+6 <= len(numerics); i += 6 {
		if numerics[i+3:i+6] == numeric {
			return numerics[i : i+3], true
		}
	}
	return "", false
}

// Format writes minor units with the currency's decimals and no code:
// 2500 USD is "25.00", 2500 JPY "2500", 2500 KWD "2.500", -150 EUR "-1.50".
// A currency ISO 4217 does not know is written with two decimals.
func Format(minor int64, code string) string {
	exp, ok := Exponent(code)
	if !ok {
		exp = defaultExponent
	}
	sign := ""
	u := uint64(minor)
	if minor < 0 {
		sign, u = "-", -u
	}
	s := strconv.FormatUint(u, 10)
	if exp <= 0 {
		return sign + s
	}
	if len(s) <= exp {
		s = strings.Repeat("0", exp-len(s)+1) + s
	}
	return sign + s[:len(s)-exp] + "." + s[len(s)-exp:]
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
