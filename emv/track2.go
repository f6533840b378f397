package emv

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vinr/cashlessd/pan"
)

// ErrBadTrack means the swiped track 2 could not be read: a bad format or
// a failed Luhn check (a misread). The cardholder should swipe again.
var ErrBadTrack = errors.New("emv: track 2 unreadable")

// Track2 is track 2 of a magnetic stripe, or its chip equivalent (tag 57).
// It is sensitive: memory only, and String masks it.
type Track2 struct {
	PAN string
	// Expiry is YYMM.
	Expiry string
	// ServiceCode is three digits: the first says international or
	// domestic and whether the card has a chip (2 or 6), the second the
	// authorisation processing, the third the allowed services and PIN
	// requirements.
	ServiceCode   string
	Discretionary string
}

// String masks the PAN and leaves out the discretionary data.
func (t Track2) String() string {
	return fmt.Sprintf("Track2{PAN:%s Expiry:%s ServiceCode:%s}", pan.Mask(t.PAN), t.Expiry, t.ServiceCode)
}

// GoString masks like String.
func (t Track2) GoString() string { return t.String() }

// ChipCard reports whether the service code says the card has a chip
// (first digit 2 or 6), so it must not be swiped unless the chip failed.
func (t Track2) ChipCard() bool {
	return len(t.ServiceCode) == 3 && (t.ServiceCode[0] == '2' || t.ServiceCode[0] == '6')
}

// pinPolicy is the third service code digit's PIN requirement.
type pinPolicy int

const (
	pinNone      pinPolicy = iota // 1, 2, 4: no PIN requirement
	pinRequired                   // 0, 3, 5: PIN required
	pinIfPINPad                   // 6, 7: prompt for PIN if a PIN pad is present
	pinNoService                  // anything else
)

func (t Track2) pinPolicy() pinPolicy {
	if len(t.ServiceCode) != 3 {
		return pinNone
	}
	switch t.ServiceCode[2] {
	case '0', '3', '5':
		return pinRequired
	case '6', '7':
		return pinIfPINPad
	case '1', '2', '4':
		return pinNone
	}
	return pinNoService
}

// ASCII returns the track in the form a magnetic stripe reader gives it,
// without sentinels: PAN=YYMMSSS followed by the discretionary data.
func (t Track2) ASCII() string {
	return t.PAN + "=" + t.Expiry + t.ServiceCode + t.Discretionary
}

// Equivalent returns the track as Track 2 Equivalent Data (tag 57): BCD
// with D as separator, padded with F.
func (t Track2) Equivalent() []byte {
	s := t.PAN + "D" + t.Expiry + t.ServiceCode + t.Discretionary
	if len(s)%2 == 1 {
		s += "F"
	}
	out := make([]byte, len(s)/2)
	for i := 0; i < len(s); i++ {
		d := nibble(s[i])
		if i%2 == 0 {
			out[i/2] = d << 4
		} else {
			out[i/2] |= d
		}
	}
	return out
}

func nibble(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return 0x0F
}

// ParseTrack2 parses track 2 as a magnetic stripe reader returns it:
// ";PAN=YYMMSSS...?" with or without sentinels (and LRC).
func ParseTrack2(s string) (Track2, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, ";")
	if i := strings.IndexByte(s, '?'); i >= 0 {
		s = s[:i]
	}
	t, err := splitTrack2(s, '=')
	if err != nil {
		return Track2{}, err
	}
	if !pan.Valid(t.PAN) {
		return Track2{}, fmt.Errorf("%w: PAN check digit", ErrBadTrack)
	}
	return t, nil
}

// ParseTrack2Equivalent parses Track 2 Equivalent Data (tag 57).
func ParseTrack2Equivalent(b []byte) (Track2, error) {
	var sb strings.Builder
	for _, c := range b {
		for _, d := range [2]byte{c >> 4, c & 0x0F} {
			sb.WriteByte("0123456789ABCDEF"[d])
		}
	}
	s := strings.TrimRight(sb.String(), "F")
	t, err := splitTrack2(s, 'D')
	if err != nil {
		return Track2{}, fmt.Errorf("%w: %w", ErrCard, err)
	}
	return t, nil
}

func splitTrack2(s string, sep byte) (Track2, error) {
	i := strings.IndexByte(s, sep)
	if i < 0 {
		return Track2{}, fmt.Errorf("%w: no separator", ErrBadTrack)
	}
	pan, rest := s[:i], s[i+1:]
	if len(pan) < 12 || len(pan) > 19 || !isDigits(pan) {
		return Track2{}, fmt.Errorf("%w: PAN of %d characters", ErrBadTrack, len(pan))
	}
	if len(rest) < 7 || !isDigits(rest[:7]) {
		return Track2{}, fmt.Errorf("%w: expiry date and service code", ErrBadTrack)
	}
	if m := rest[2:4]; m < "01" || m > "12" {
		return Track2{}, fmt.Errorf("%w: expiry month", ErrBadTrack)
	}
	return Track2{PAN: pan, Expiry: rest[:4], ServiceCode: rest[4:7], Discretionary: rest[7:]}, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// readSwipe checks a swiped track 2 and handles its PIN requirement.
func (s *Session) readSwipe(ctx context.Context) error {
	t, err := ParseTrack2(s.rawTrack2)
	if err != nil {
		return err
	}
	s.track = t
	if t.ChipCard() && !(s.cfg.AllowFallback && s.fallback) {
		return fmt.Errorf("%w: chip card swiped (service code %s)", ErrInsertCard, t.ServiceCode)
	}
	s.cid = CryptogramARQC
	policy := t.pinPolicy()
	if policy == pinNoService {
		return fmt.Errorf("emv: service code %s does not allow this service", t.ServiceCode)
	}
	wantPIN := policy == pinRequired || (policy == pinIfPINPad && s.pins != nil)
	if !wantPIN {
		s.cvm.signature = s.cfg.Capabilities[1]&capSignature != 0
		return nil
	}
	if s.pins == nil {
		return errors.New("emv: the card requires a PIN and the terminal has no PIN pad")
	}
	pin, err := s.pins.OnlinePIN(ctx, s.pinRequest(-1))
	switch {
	case err == nil:
		s.cvm.pinBlock, s.cvm.ksn = pin.Block, pin.KSN
		s.cvm.onlinePIN = true
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case policy == pinIfPINPad && (errors.Is(err, ErrPINBypassed) || errors.Is(err, ErrPINPadUnavailable)):
		s.cvm.signature = true
		return nil
	}
	return fmt.Errorf("emv: the card requires a PIN: %w", err)
}
