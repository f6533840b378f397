package main

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/terminal"
	"github.com/vinr/cashlessd/emv"
	"github.com/vinr/cashlessd/emv/card"
	"github.com/vinr/cashlessd/emv/reader"
	"github.com/vinr/cashlessd/emv/reader/virtual"
	"github.com/vinr/cashlessd/printer"
)

// wireTime is how long n bytes take on an 8N1 serial line.
func wireTime(n int, baud int) time.Duration {
	return time.Duration(float64(n*10) / float64(baud) * float64(time.Second))
}

// contactSale runs one contact sale through the production reader driver,
// kernel and acceptor against the virtual reader and a virtual card, and
// returns the reader's counters for the APDU part of it.
func contactSale(ctx context.Context, cardName string) (virtual.Stats, error) {
	vr, err := virtual.Start(ctx, virtual.Config{})
	if err != nil {
		return virtual.Stats{}, err
	}
	defer vr.Close()
	rd, err := reader.New(reader.Config{Device: vr.Path()})
	if err != nil {
		return virtual.Stats{}, err
	}
	defer rd.Close()
	k, err := emv.NewKernel(emv.DefaultConfig())
	if err != nil {
		return virtual.Stats{}, err
	}
	img, err := card.Builtin(cardName)
	if err != nil {
		return virtual.Stats{}, err
	}
	c, err := card.New(img, emv.Contact)
	if err != nil {
		return virtual.Stats{}, err
	}
	go func() {
		if vr.WaitFor(ctx, func(s virtual.State) bool { return s.Detecting }) == nil {
			vr.SetPIN("1234")
			vr.Insert(c)
		}
	}()
	a := terminal.New(rd, k, time.Now, zerolog.Nop())
	sess, err := a.Detect(ctx, daemon.CardRequest{Kind: daemon.KindSale, Amount: 2500, Currency: "USD"})
	if err != nil {
		return virtual.Stats{}, err
	}
	defer sess.Close()
	vr.ResetStats()
	if _, err := sess.Read(ctx); err != nil {
		return virtual.Stats{}, err
	}
	if _, err := sess.Complete(ctx, daemon.AuthResponse{Approved: true, ResponseCode: "00", AuthCode: "A12345"}); err != nil {
		return virtual.Stats{}, err
	}
	return vr.Stats(), nil
}

func benchSerial(ctx context.Context, _ settings, r *report) error {
	for _, name := range []string{"visa-approved", "mastercard"} {
		st, err := contactSale(ctx, name)
		if err != nil {
			return fmt.Errorf("contact sale with %s: %w", name, err)
		}
		wire := float64(st.BytesIn + st.BytesOut)
		perByte := wire / float64(st.APDUPayloadBytes)
		trips := float64(st.APDUFrames) / float64(st.APDUs)
		r.figure(fmt.Sprintf("reader wire bytes per APDU payload byte, contact sale (%s, %d APDUs, %d B payload)", name, st.APDUs, st.APDUPayloadBytes),
			fmt.Sprintf("%.3f", perByte), "≤ 1.15", perByte <= 1.15)
		r.figure(fmt.Sprintf("reader round trips per APDU (%s)", name), fmt.Sprintf("%.2f", trips), "≤ 1", trips <= 1.0)
	}
	at := time.Date(2026, 6, 11, 10, 15, 11, 0, time.UTC)
	t := &daemon.Transaction{ID: "tpay_01HZ5QA7BKR8V2Q4T6Y8Z0A1B2", Kind: daemon.KindSale, Reference: "POS-ORDER-0821", Status: daemon.StatusApproved,
		Amount: 2500, TipAmount: 300, Currency: "USD", AuthCode: "A12345", StartedAt: at, CompletedAt: at,
		Card: &daemon.CardInfo{MaskedPAN: "************4242", Scheme: "visa", EntryMethod: daemon.EntryChip, AID: "A0000000031010",
			ApplicationLabel: "VISA CREDIT", PINVerified: true}}
	doc := daemon.BuildReceipt(daemon.ReceiptLayout{Merchant: daemon.Merchant{Name: "VINR PAYMENTS DEMO", Address: "1 Market St"},
		TerminalID: "term_CT20_0042", Width: 32}, t, daemon.CustomerCopy)
	job := printer.Encode(doc)
	r.figure("printer bytes per receipt (customer copy, 58 mm)", fmt.Sprintf("%d B, %d lines", len(job), len(doc.Lines)), "-", true)
	r.figure("receipt time on the wire", fmt.Sprintf("%s at 115200, %s at 9600 baud", wireTime(len(job), 115200).Round(time.Millisecond),
		wireTime(len(job), 9600).Round(time.Millisecond)), "-", true)
	return nil
}
