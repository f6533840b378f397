package host

import (
	"fmt"
	"strings"
)

// currencyTable pairs ISO 4217 alphabetic and numeric codes, six characters
// a currency. golang.org/x/text/currency knows only the alphabetic codes, so
// the numeric ones are kept here; add a pair when a terminal needs another.
const currencyTable = "AED784AUD036BND096BRL986CAD124CHF756CNY156CZK203DKK208EUR978" +
	"GBP826HKD344HUF348IDR360ILS376INR356JPY392KRW410MXN484MYR458" +
	"NOK578NZD554PHP608PLN985SAR682SEK752SGD702THB764TRY949TWD901" +
	"USD840VND704ZAR710BHD048JOD400KWD414OMR512QAR634ISK352CLP152COP170" +
	"PEN604RON946BGN975EGP818NGN566KES404UAH980PKR586LKR144BDT050TND788" +
	"MAD504ARS032UYU858XOF952XAF950IQD368LYD434"

// NumericCurrency returns the ISO 4217 numeric code for an alphabetic code
// ("MYR" → "458"). A three-digit code is returned as it is.
func NumericCurrency(alpha string) (string, error) {
	code := strings.ToUpper(strings.TrimSpace(alpha))
	if len(code) == 3 && isDigits(code) {
		return code, nil
	}
	for i := 0; i+6 <= len(currencyTable); i += 6 {
		if len(code) == 3 && currencyTable[i:i+3] == code {
			return currencyTable[i+3 : i+6], nil
		}
	}
	return "", fmt.Errorf("host: no ISO 4217 numeric code for currency %q", alpha)
}

// AlphaCurrency returns the ISO 4217 alphabetic code for a numeric code
// ("458" → "MYR"), or the numeric code itself when it is not in the table.
func AlphaCurrency(numeric string) string {
	for i := 0; i+6 <= len(currencyTable); i += 6 {
		if currencyTable[i+3:i+6] == numeric {
			return currencyTable[i : i+3]
		}
	}
	return numeric
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
