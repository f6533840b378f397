package api

import (
	"crypto/rand"
	"sync/atomic"
)

// requestIDAlphabet is the alphabet of request IDs (as echo's own).
const requestIDAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// requestIDs names requests: 32 characters of requestIDAlphabet, a random
// prefix drawn once per server followed by a sequence number, so each
// request costs an atomic add rather than a read of random bytes. The IDs
// correlate log lines with answers; they are unique, not secret.
type requestIDs struct {
	prefix [requestIDPrefix]byte
	seq    atomic.Uint64
}

// requestIDPrefix and requestIDDigits split a request ID's 32 characters.
const (
	requestIDPrefix = 21
	requestIDDigits = 11 // 62^11 > 2^64: a sequence number never wraps into another
)

// newRequestIDs draws the random prefix.
func newRequestIDs() *requestIDs {
	ids := &requestIDs{}
	_, _ = rand.Read(ids.prefix[:]) // crypto/rand.Read never fails
	for i, b := range ids.prefix {
		ids.prefix[i] = requestIDAlphabet[int(b)%len(requestIDAlphabet)]
	}
	return ids
}

// next is a new request ID.
func (r *requestIDs) next() string {
	var id [requestIDPrefix + requestIDDigits]byte
	copy(id[:], r.prefix[:])
	n := r.seq.Add(1)
	for i := len(id) - 1; i >= requestIDPrefix; i-- {
		id[i] = requestIDAlphabet[n%uint64(len(requestIDAlphabet))]
		n /= uint64(len(requestIDAlphabet))
	}
	return string(id[:])
}
