package sim

import (
	"context"

	"github.com/vinr/cashlessd/daemon"
)

// Reader returns the simulated card reader.
func (d *Devices) Reader() daemon.CardReader { return reader{d} }

type reader struct{ d *Devices }

// Detect waits until the configured card is presented.
func (r reader) Detect(ctx context.Context, req daemon.CardRequest) (daemon.CardSession, error) {
	r.d.mu.Lock()
	card := r.d.card
	r.d.mu.Unlock()
	if !card.present {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if err := sleep(ctx, card.presentAfter); err != nil {
		return nil, err
	}
	return &session{card: card}, nil
}

type session struct {
	card cardState
}

// Read returns the card as a chip, contactless or magstripe read shows it.
func (s *session) Read(ctx context.Context) (daemon.CardData, error) {
	c := s.card
	scheme := daemon.SchemeOf(c.pan)
	info := daemon.CardInfo{
		MaskedPAN:      daemon.MaskPAN(c.pan),
		Scheme:         scheme,
		EntryMethod:    c.entry,
		CardholderName: "J SMITH",
	}
	if c.entry != daemon.EntrySwipe {
		info.AID, info.ApplicationLabel = schemeAID(scheme)
		info.TVR, info.TSI = "0000008000", "E800"
		info.Cryptogram = "ARQC"
		info.ATC = "0001"
	}
	switch c.entry {
	case daemon.EntryChip:
		info.PINVerified = true
	case daemon.EntrySwipe:
		info.SignatureRequired = true
	}
	return daemon.CardData{PAN: c.pan, ExpiryYYMM: "3012", Info: info}, ctx.Err()
}

// Complete accepts the host's approval.
func (s *session) Complete(ctx context.Context, answer daemon.AuthResponse) (bool, error) {
	return answer.Approved, ctx.Err()
}

// Close removes the card.
func (s *session) Close() error { return nil }

func schemeAID(scheme string) (aid, label string) {
	switch scheme {
	case "visa":
		return "A0000000031010", "VISA CREDIT"
	case "mastercard":
		return "A0000000041010", "MASTERCARD"
	case "amex":
		return "A00000002501", "AMERICAN EXPRESS"
	case "discover":
		return "A0000001523010", "DISCOVER"
	case "jcb":
		return "A0000000651010", "JCB"
	case "unionpay":
		return "A000000333010101", "UNIONPAY"
	case "maestro":
		return "A0000000043060", "MAESTRO"
	}
	return "", ""
}
