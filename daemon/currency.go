package daemon

import "strings"

// currencyNumerics pairs ISO 4217 alphabetic and numeric codes, six
// characters a currency. golang.org/x/text/currency knows the alphabetic
// codes and minor units but not the numeric codes, which ISO 8583 (field
// 49) and EMV (tags 5F2A, 9F42) carry; add a pair when a terminal needs
// another currency.
const currencyNumerics = "AED784ARS032AUD036BDT050BGN975BHD048BND096BRL986CAD124CHF756" +
	"CLP152CNY156COP170CZK203DKK208EGP818EUR978GBP826HKD344HUF348" +
	"IDR360ILS376INR356IQD368ISK352JOD400JPY392KES404KRW410KWD414" +
	"LKR144LYD434MAD504MXN484MYR458NGN566NOK578NZD554OMR512PEN604" +
	"PHP608PKR586PLN985QAR634RON946SAR682SEK752SGD702THB764TND788" +
	"TRY949TWD901UAH980USD840UYU858VND704XAF950XOF952ZAR710"

// NumericCurrency returns the ISO 4217 numeric code of an alphabetic code
// ("USD" → "840").
func NumericCurrency(alpha string) (string, bool) {
	code := strings.ToUpper(strings.TrimSpace(alpha))
	if len(code) != 3 {
		return "", false
	}
	for i := 0; i+6 <= len(currencyNumerics); i += 6 {
		if currencyNumerics[i:i+3] == code {
			return currencyNumerics[i+3 : i+6], true
		}
	}
	return "", false
}

// AlphaCurrency returns the ISO 4217 alphabetic code of a numeric code
// ("840" → "USD").
func AlphaCurrency(numeric string) (string, bool) {
	if len(numeric) != 3 {
		return "", false
	}
	for i := 0; i+6 <= len(currencyNumerics); i += 6 {
		if currencyNumerics[i+3:i+6] == numeric {
			return currencyNumerics[i : i+3], true
		}
	}
	return "", false
}
