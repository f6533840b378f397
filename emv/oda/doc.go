// Package oda is offline data authentication as EMV Book 2 defines it:
// RSA recovery with message recovery (ISO/IEC 9796-2 as EMV uses it),
// issuer and ICC public key certificates, static data authentication
// (SDA), dynamic data authentication (DDA) and combined DDA/application
// cryptogram generation (CDA), and the terminal's table of certification
// authority public keys (CAPKs).
//
// It works on bytes and knows nothing of APDUs or TLV: the kernel (package
// emv) collects the card's data, calls the functions here and sets the
// TVR bits from their errors. The personalisation side (certifying keys,
// signing static and dynamic data) is here too, for the virtual cards of
// the simulator (emv/card) and for tests; the keys a real terminal holds
// are public keys only.
//
// Hash algorithm 01 (SHA-1) and public key algorithm 01 (RSA) are the only
// ones EMV defines, and the only ones accepted.
package oda
