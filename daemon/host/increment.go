package host

// IsIncrement tells an incremental authorisation from a pre-authorisation:
// both are 0100 with processing code 000000 and POS condition 06, but an
// increment names the pre-auth it raises (its RRN in 37, auth code in 38,
// original data elements in 90) and carries no card data; its amount (4)
// is what it adds to the hold.
func IsIncrement(f *Fields) bool {
	return f.MTI == MTIAuthRequest && f.Original != nil
}
