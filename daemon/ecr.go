package daemon

import (
	"context"
	"time"
)

// ecrKey is the context key of the credential a request came with.
type ecrKey struct{}

// WithECR marks ctx as a request made with the credential ecrID (a paired
// ECR's ecrId, or the shared or simulator key's ID): the transactions it
// starts record it, and status names it while one holds the terminal.
func WithECR(ctx context.Context, ecrID string) context.Context {
	return context.WithValue(ctx, ecrKey{}, ecrID)
}

// ECRFrom is the credential WithECR put on ctx, or "".
func ECRFrom(ctx context.Context) string {
	id, _ := ctx.Value(ecrKey{}).(string)
	return id
}

// MessageDisplay is a card reader that can show lines of text while no
// card is asked for (the terminal's display).
type MessageDisplay interface {
	ShowMessage(ctx context.Context, lines ...string) error
}

// PairingCode is a one-time code for pairing an ECR, as the terminal shows
// it: on the reader's display and on a printed slip with a QR code.
type PairingCode struct {
	Code      string
	ExpiresAt time.Time
	// QR is the QR code's payload (the code, the terminal's address and
	// its certificate's fingerprint).
	QR string
	// Fingerprint is the hex SHA-256 of the terminal's certificate.
	Fingerprint string
}

// PairingShown says where a pairing code was shown.
type PairingShown struct {
	Displayed bool `json:"displayed"`
	Printed   bool `json:"printed"`
	// Why explains what was not shown (no display, busy, no paper…).
	Why []string `json:"why,omitempty"`
}

// ShowPairingCode shows a pairing code on the reader's display and prints
// it on a slip with its QR code. Neither happens while a transaction holds
// the terminal (the code is on the technician's screen anyway); a printer
// or display that fails is reported, never an error.
func (e *Engine) ShowPairingCode(ctx context.Context, p PairingCode) PairingShown {
	var shown PairingShown
	if e.Busy() {
		shown.Why = append(shown.Why, "the terminal is busy with a transaction: neither displayed nor printed")
		return shown
	}
	loc := e.cfg.Receipt.Location
	if loc == nil {
		loc = time.UTC
	}
	until := p.ExpiresAt.In(loc).Format("15:04")
	if d, ok := e.deps.Reader.(MessageDisplay); ok {
		dctx, cancel := context.WithTimeout(ctx, printTimeout)
		err := d.ShowMessage(dctx, "PAIRING CODE", p.Code, "VALID UNTIL "+until)
		cancel()
		shown.Displayed = err == nil
		if err != nil {
			shown.Why = append(shown.Why, "display: "+err.Error())
		}
	} else {
		shown.Why = append(shown.Why, "the card reader has no display")
	}
	if e.deps.Printer == nil || !e.cfg.HasPrinter {
		shown.Why = append(shown.Why, "no printer")
		return shown
	}
	b := NewDocument(e.cfg.Receipt.Width)
	b.Double("PAIR AN ECR", AlignCenter)
	b.Text(e.cfg.Receipt.Merchant.Name, AlignCenter, false)
	b.Pair("TID", e.cfg.TerminalID, false)
	b.Rule()
	b.Text("ONE-TIME CODE", AlignCenter, false)
	b.Double(p.Code, AlignCenter)
	b.Text("VALID UNTIL "+until, AlignCenter, false)
	b.QR(p.QR)
	b.Text("CERT SHA-256", AlignLeft, false)
	b.Text(p.Fingerprint, AlignLeft, false)
	b.Text("cashless pair --addr HOST CODE", AlignLeft, false)
	pctx, cancel := context.WithTimeout(ctx, printTimeout)
	err := e.deps.Printer.Print(pctx, b.Document())
	cancel()
	e.printed()
	shown.Printed = err == nil
	if err != nil {
		shown.Why = append(shown.Why, "printer: "+err.Error())
	}
	return shown
}
