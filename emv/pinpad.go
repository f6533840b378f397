package emv

import (
	"context"
	"errors"
	"fmt"

	"github.com/vinr/cashlessd/pan"
)

// PINPad is the cardholder's PIN entry device. A nil PINPad means the
// terminal has none: PIN CVMs then fail as "PIN pad not present".
type PINPad interface {
	// OnlinePIN prompts for the PIN and returns it encrypted under the PIN
	// pad's key (DUKPT), never in the clear.
	OnlinePIN(ctx context.Context, req PINRequest) (EncryptedPIN, error)
	// OfflinePIN prompts for the PIN and has the reader present it to the
	// card (VERIFY, plaintext) itself; it reports what the card said.
	OfflinePIN(ctx context.Context, req PINRequest) (OfflinePINResult, error)
}

// ApplicationChooser may be implemented by a PINPad that can show the
// cardholder a list of applications. Without it the kernel selects the
// highest-priority application and leaves out those that ask for
// cardholder confirmation (EMV Book 1, 12.4).
type ApplicationChooser interface {
	// ChooseApplication returns the index of the chosen candidate.
	ChooseApplication(ctx context.Context, candidates []Candidate) (int, error)
}

// PINRequest is what the PIN pad shows and needs.
type PINRequest struct {
	// PAN is needed for ISO 9564 format 0 and 4 PIN blocks. Memory only.
	PAN      string
	Amount   int64
	Currency string
	// TriesLeft is the card's PIN try counter for an offline PIN, or -1
	// when unknown.
	TriesLeft int
}

// String masks the PAN.
func (r PINRequest) String() string {
	return fmt.Sprintf("PINRequest{PAN:%s Amount:%d Currency:%s TriesLeft:%d}", pan.Mask(r.PAN), r.Amount, r.Currency, r.TriesLeft)
}

// GoString masks the PAN.
func (r PINRequest) GoString() string { return r.String() }

// EncryptedPIN is an online PIN block and the DUKPT key serial number it was
// encrypted under.
type EncryptedPIN struct {
	Block []byte
	KSN   []byte
}

// OfflinePINStatus is the card's answer to an offline PIN.
type OfflinePINStatus int

// Offline PIN answers.
const (
	PINVerified OfflinePINStatus = iota + 1 // 9000
	PINWrong                                // 63Cx, x tries left
	PINBlocked                              // 6983 or 6984, or 63C0
)

// OfflinePINResult is the outcome of one offline PIN attempt.
type OfflinePINResult struct {
	Status    OfflinePINStatus
	TriesLeft int
}

// ErrPINBypassed is returned by a PINPad when the cardholder skipped PIN
// entry (the bypass key).
var ErrPINBypassed = errors.New("emv: PIN entry bypassed")

// ErrPINPadUnavailable is returned by a PINPad that cannot take a PIN now.
var ErrPINPadUnavailable = errors.New("emv: PIN pad not working")

// VerifyOfflinePIN sends a plaintext offline PIN to the card with VERIFY
// and interprets the answer. It is for PIN pad and simulator
// implementations, which hold the clear PIN; the kernel never calls it.
func VerifyOfflinePIN(ctx context.Context, t Transport, pin []byte) (OfflinePINResult, error) {
	cmd, err := VerifyPlaintextPINCommand(pin)
	if err != nil {
		return OfflinePINResult{}, err
	}
	defer clear(cmd)
	_, sw, err := Exchange(ctx, t, cmd)
	if err != nil {
		return OfflinePINResult{}, err
	}
	return offlinePINResult(sw)
}

func offlinePINResult(sw uint16) (OfflinePINResult, error) {
	switch {
	case sw == SWOK:
		return OfflinePINResult{Status: PINVerified, TriesLeft: -1}, nil
	case sw == 0x63C0:
		return OfflinePINResult{Status: PINBlocked}, nil
	case sw&0xFFF0 == 0x63C0:
		return OfflinePINResult{Status: PINWrong, TriesLeft: int(sw & 0x0F)}, nil
	case sw == SWPINBlocked || sw == SWDataInvalidated:
		return OfflinePINResult{Status: PINBlocked}, nil
	}
	return OfflinePINResult{}, &StatusError{Command: "VERIFY", SW: sw}
}
