package emv

import (
	"encoding/hex"
	"strings"
)

// TVR is the Terminal Verification Results (tag 95): what the terminal
// found wrong, one bit each.
type TVR [5]byte

// Bit is one bit of a TVR or TSI: the byte index (0-based) in the high
// byte, the mask in the low byte.
type Bit uint16

// TVR bits (EMV Book 3 Annex C5).
const (
	TVROfflineDataAuthNotPerformed Bit = 0x80
	TVRSDAFailed                   Bit = 0x40
	TVRICCDataMissing              Bit = 0x20
	TVRExceptionFile               Bit = 0x10
	TVRDDAFailed                   Bit = 0x08
	TVRCDAFailed                   Bit = 0x04
	TVRVersionsDiffer              Bit = 1<<8 | 0x80
	TVRExpired                     Bit = 1<<8 | 0x40
	TVRNotYetEffective             Bit = 1<<8 | 0x20
	TVRServiceNotAllowed           Bit = 1<<8 | 0x10
	TVRNewCard                     Bit = 1<<8 | 0x08
	TVRCVMFailed                   Bit = 2<<8 | 0x80
	TVRUnrecognisedCVM             Bit = 2<<8 | 0x40
	TVRPINTryLimitExceeded         Bit = 2<<8 | 0x20
	TVRPINPadNotPresent            Bit = 2<<8 | 0x10
	TVRPINNotEntered               Bit = 2<<8 | 0x08
	TVROnlinePINEntered            Bit = 2<<8 | 0x04
	TVRFloorLimitExceeded          Bit = 3<<8 | 0x80
	TVRLowerOfflineLimitExceeded   Bit = 3<<8 | 0x40
	TVRUpperOfflineLimitExceeded   Bit = 3<<8 | 0x20
	TVRRandomlySelected            Bit = 3<<8 | 0x10
	TVRMerchantForcedOnline        Bit = 3<<8 | 0x08
	TVRDefaultTDOLUsed             Bit = 4<<8 | 0x80
	TVRIssuerAuthFailed            Bit = 4<<8 | 0x40
	TVRScriptFailedBeforeFinalAC   Bit = 4<<8 | 0x20
	TVRScriptFailedAfterFinalAC    Bit = 4<<8 | 0x10
)

// Set sets a bit.
func (t *TVR) Set(b Bit) { t[b>>8] |= byte(b) }

// Has reports whether a bit is set.
func (t TVR) Has(b Bit) bool { return t[b>>8]&byte(b) != 0 }

// Matches reports whether any set bit is also set in the action code (a TAC
// or IAC of five bytes).
func (t TVR) Matches(code []byte) bool {
	for i := 0; i < len(t) && i < len(code); i++ {
		if t[i]&code[i] != 0 {
			return true
		}
	}
	return false
}

// String returns the TVR in upper-case hex.
func (t TVR) String() string { return strings.ToUpper(hex.EncodeToString(t[:])) }

// TSI is the Transaction Status Information (tag 9B): what the terminal
// did.
type TSI [2]byte

// TSI bits (EMV Book 3 Annex C6).
const (
	TSIOfflineDataAuthPerformed Bit = 0x80
	TSICardholderVerification   Bit = 0x40
	TSICardRiskManagement       Bit = 0x20
	TSIIssuerAuthentication     Bit = 0x10
	TSITerminalRiskManagement   Bit = 0x08
	TSIScriptProcessing         Bit = 0x04
)

// Set sets a bit.
func (t *TSI) Set(b Bit) { t[b>>8] |= byte(b) }

// Has reports whether a bit is set.
func (t TSI) Has(b Bit) bool { return t[b>>8]&byte(b) != 0 }

// String returns the TSI in upper-case hex.
func (t TSI) String() string { return strings.ToUpper(hex.EncodeToString(t[:])) }
