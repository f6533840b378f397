// Package host is cashlessd's link to the acquirer host: ISO 8583:1987
// messages over one persistent TCP (optionally TLS) connection with a 2-byte
// big-endian length header.
//
// Client implements daemon.Host. It signs on (0800, network code 001) when it
// connects, keeps the link alive with echo messages (0800, 301), redials on
// demand, and numbers every message with a persistent STAN. Sales and refunds
// are 0200, pre-authorisations 0100, completions 0220 (POS condition 06),
// offline advices 0220/0221 (POS condition 00), TC advices with the issuer
// script results of an online approval 0220/0221 (39 = 00), reversals 0400/0401,
// settlements 0500. docs/host-protocol.md describes every field and message.
//
// The error contract towards the engine is strict: an error that wraps
// daemon.ErrOutcomeUnknown means the request may have reached the host and
// must be reversed; any other error means nothing can have been charged.
// Whenever the client cannot tell, it answers ErrOutcomeUnknown, because a
// reversal of something the host never booked is harmless.
//
// The simulated acquirer lives beside it in package hostsim.
package host
