package sim

import (
	"context"

	"github.com/vinr/cashlessd/daemon"
)

// Reader returns the simulated card reader.
func (d *Devices) Reader() daemon.CardReader { return reader{d} }

// Host returns the simulated acquirer host.
func (d *Devices) Host() daemon.Host { return host{d} }

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

type host struct{ d *Devices }

// issuerDecision is how the simulated issuer answers a test card.
func issuerDecision(pan string) (code, decline string) {
	switch pan {
	case "4000000000000002":
		return "05", "card_declined"
	case "4000000000009995":
		return "51", "insufficient_funds"
	case "4000000000000069":
		return "54", "expired_card"
	}
	return "00", ""
}

// wait applies latency and the offline switch.
func (h host) wait(ctx context.Context) (hostState, error) {
	h.d.mu.Lock()
	st := h.d.host
	h.d.mu.Unlock()
	if st.offline {
		return st, daemon.ErrHostUnreachable
	}
	if err := sleep(ctx, st.latency); err != nil {
		return st, daemon.ErrOutcomeUnknown
	}
	return st, nil
}

// Authorise decides like an issuer: by test card for card transactions;
// completions and refunds of known originals are approved.
func (h host) Authorise(ctx context.Context, req daemon.AuthRequest) (daemon.AuthResponse, error) {
	st, err := h.wait(ctx)
	if err != nil {
		return daemon.AuthResponse{}, err
	}
	code, decline := "00", ""
	if req.Card != nil {
		code, decline = issuerDecision(req.Card.PAN)
	}
	if code != "00" {
		return daemon.AuthResponse{ResponseCode: code, DeclineCode: decline}, nil
	}
	resp := daemon.AuthResponse{Approved: true, ResponseCode: "00",
		AuthCode:      randomChars(6, "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"),
		HostReference: randomChars(12, "0123456789")}
	h.d.mu.Lock()
	h.d.ledger[req.TransactionID] = &LedgerEntry{TransactionID: req.TransactionID, Kind: req.Kind, Amount: req.Amount}
	h.d.mu.Unlock()
	if st.drop {
		return daemon.AuthResponse{}, daemon.ErrOutcomeUnknown
	}
	return resp, nil
}

// Reverse undoes an authorisation; reversing something never booked is a
// harmless no-op, as at a real host.
func (h host) Reverse(ctx context.Context, req daemon.ReversalRequest) error {
	if _, err := h.wait(ctx); err != nil {
		return err
	}
	h.d.mu.Lock()
	if e := h.d.ledger[req.TransactionID]; e != nil {
		e.Reversed = true
	}
	h.d.mu.Unlock()
	return nil
}

// Settle accepts the batch totals.
func (h host) Settle(ctx context.Context, req daemon.SettlementRequest) error {
	_, err := h.wait(ctx)
	return err
}
