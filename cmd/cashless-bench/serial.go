package main

import (
	"context"
	"fmt"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/printer"
)

// wireTime is how long n bytes take on an 8N1 serial line.
func wireTime(n int, baud int) time.Duration {
	return time.Duration(float64(n*10) / float64(baud) * float64(time.Second))
}

func benchSerial(_ context.Context, _ settings, r *report) error {
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
