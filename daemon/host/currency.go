package host

import (
	"fmt"
	"strings"

	"github.com/vinr/cashlessd/daemon"
)

// NumericCurrency returns the ISO 4217 numeric code for an alphabetic code
// ("MYR" → "458"). A three-digit code is returned as it is.
func NumericCurrency(alpha string) (string, error) {
	code := strings.ToUpper(strings.TrimSpace(alpha))
	if len(code) == 3 && isDigits(code) {
		return code, nil
	}
	if n, ok := daemon.NumericCurrency(code); ok {
		return n, nil
	}
	return "", fmt.Errorf("host: no ISO 4217 numeric code for currency %q", alpha)
}

// AlphaCurrency returns the ISO 4217 alphabetic code for a numeric code
// ("458" → "MYR"), or the numeric code itself when it is not in the table.
func AlphaCurrency(numeric string) string {
	if a, ok := daemon.AlphaCurrency(numeric); ok {
		return a
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
