package hostsim

import "github.com/vinr/cashlessd/money"

// alphaCurrency names the currency of a request's field 49 for the ledger
// and the log: the alphabetic code, or the numeric code itself when the
// table does not know it.
func alphaCurrency(numeric string) string {
	if a, ok := money.Alpha(numeric); ok {
		return a
	}
	return numeric
}
