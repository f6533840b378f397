package daemon

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/vinr/cashlessd/money"
)

// Merchant is who the receipts are printed for.
type Merchant struct {
	Name    string
	Address string
	ID      string
}

// ReceiptLayout is what a receipt needs beyond the transaction.
type ReceiptLayout struct {
	Merchant   Merchant
	TerminalID string
	Location   *time.Location
	Width      int
	// QR adds the reference and transaction ID as a QR code.
	QR bool
}

// Copy names a receipt copy.
type Copy string

// Receipt copies.
const (
	MerchantCopy Copy = "merchant"
	CustomerCopy Copy = "customer"
)

// FormatAmount renders minor units with the currency's decimals: 2500 USD is
// "USD 25.00", 2500 JPY is "JPY 2500", 2500 KWD is "KWD 2.500".
func FormatAmount(minor int64, code string) string {
	return code + " " + money.Format(minor, code)
}

// receiptTitle is the transaction type as printed.
func receiptTitle(k Kind) string {
	switch k {
	case KindSale:
		return "SALE"
	case KindPreauth:
		return "PRE-AUTH"
	case KindCompletion:
		return "COMPLETION"
	case KindRefund:
		return "REFUND"
	case KindVoid:
		return "VOID"
	}
	return strings.ToUpper(string(k))
}

// BuildReceipt lays out one copy of a transaction's receipt.
func BuildReceipt(l ReceiptLayout, t *Transaction, c Copy) Document {
	b := NewDocument(l.Width)
	loc := l.Location
	if loc == nil {
		loc = time.UTC
	}
	b.Text(l.Merchant.Name, AlignCenter, true)
	if l.Merchant.Address != "" {
		b.Text(l.Merchant.Address, AlignCenter, false)
	}
	if l.Merchant.ID != "" {
		b.Pair("MID", l.Merchant.ID, false)
	}
	b.Pair("TID", l.TerminalID, false)
	at := t.CompletedAt
	if at.IsZero() {
		at = t.StartedAt
	}
	at = at.In(loc)
	b.Pair(at.Format("2006-01-02"), at.Format("15:04:05 MST"), false)
	b.Rule()
	title := receiptTitle(t.Kind)
	if t.Kind == KindVoid {
		title = voidTitle(t)
	}
	b.Double(title, AlignCenter)
	if card := t.Card; card != nil {
		b.Pair("CARD", card.MaskedPAN, false)
		scheme := strings.ToUpper(card.Scheme)
		if card.ApplicationLabel != "" && !strings.Contains(strings.ToUpper(card.ApplicationLabel), scheme) {
			scheme += " " + card.ApplicationLabel
		}
		if card.ApplicationLabel != "" && strings.Contains(strings.ToUpper(card.ApplicationLabel), scheme) {
			scheme = card.ApplicationLabel
		}
		b.Pair("TYPE", scheme, false)
		if card.EntryMethod != "" {
			b.Pair("ENTRY", strings.ToUpper(card.EntryMethod), false)
		}
		if card.AID != "" {
			b.Pair("AID", card.AID, false)
		}
		if c == MerchantCopy {
			if card.TVR != "" {
				b.Pair("TVR", card.TVR, false)
			}
			if card.TSI != "" {
				b.Pair("TSI", card.TSI, false)
			}
			if card.Cryptogram != "" {
				b.Pair("AC", card.Cryptogram, false)
			}
		}
	}
	if t.OriginalReference != "" {
		b.Pair("ORIG REF", t.OriginalReference, false)
	}
	b.Rule()
	if t.TipAmount > 0 {
		b.Pair("AMOUNT", FormatAmount(t.Amount, t.Currency), false)
		b.Pair("TIP", FormatAmount(t.TipAmount, t.Currency), false)
	}
	total := FormatAmount(t.TotalAmount(), t.Currency)
	if t.Kind == KindRefund {
		total = FormatAmount(-t.TotalAmount(), t.Currency)
	}
	if t.Kind == KindVoid {
		total = FormatAmount(voidReceiptTotal(t), t.Currency)
	}
	b.Pair("TOTAL", total, true)
	b.Rule()
	switch t.Status {
	case StatusApproved:
		b.Double("APPROVED", AlignCenter)
		if t.AuthCode != "" {
			b.Pair("AUTH CODE", t.AuthCode, false)
		}
		if !t.ExpiresAt.IsZero() {
			b.Pair("EXPIRES", t.ExpiresAt.In(loc).Format("2006-01-02 15:04"), false)
		}
	default:
		b.Double("DECLINED", AlignCenter)
		msg := t.DeclineMessage
		if msg == "" {
			msg = t.ErrorMessage
		}
		if msg != "" {
			b.Text(msg, AlignCenter, false)
		}
	}
	if t.Card != nil {
		switch {
		case t.Card.PINVerified:
			b.Text("PIN VERIFIED", AlignCenter, false)
		case t.Card.SignatureRequired && t.Status == StatusApproved && c == MerchantCopy:
			b.Blank().Blank()
			b.Text("X"+strings.Repeat("_", b.Width()-1), AlignLeft, false)
			b.Text("CARDHOLDER SIGNATURE", AlignCenter, false)
		case t.Card.SignatureRequired && t.Status == StatusApproved:
			b.Text("SIGNATURE ON FILE", AlignCenter, false)
		}
	}
	b.Rule()
	b.Pair("REF", t.Reference, false)
	b.Pair("TXN", t.ID, false)
	if l.QR {
		b.QR(t.Reference + " " + t.ID)
	}
	if c == MerchantCopy {
		b.Text("MERCHANT COPY", AlignCenter, true)
	} else {
		b.Text("CUSTOMER COPY", AlignCenter, true)
	}
	return b.Document()
}

// ReceiptLayoutVersion is the version of the receipt layout BuildReceipt
// lays out today. A stored transaction keeps the version (and the layout
// settings) its receipt was laid out with, and RenderReceipts lays it out
// again exactly so: a change to BuildReceipt that moves a single character
// must bump this version and keep the older layout for older records.
const ReceiptLayoutVersion = 1

// ReceiptSource is what a transaction's receipt was laid out from besides
// the transaction's own data, which does not change once it is final:
// the layout version and settings, and the two fields that can change
// afterwards (a void marks its original voided; an increment moves a
// pre-auth's expiry) as they were then.
type ReceiptSource struct {
	Version   int
	Layout    ReceiptLayout
	Status    Status
	ExpiresAt time.Time
}

// BuildReceipts lays out both copies of a finished transaction's receipt.
// It runs once, when the transaction finishes, and remembers what it
// laid the receipt out from (Source): the store keeps that rather than
// the documents, and printing, reprints and receipt/last get the very
// same documents back (RenderReceipts), so a later change of the layout
// (header, width) never makes paper and receiptData differ.
func BuildReceipts(l ReceiptLayout, t *Transaction) *Receipts {
	r := layOutReceipts(l, t)
	r.Source = &ReceiptSource{Version: ReceiptLayoutVersion, Layout: l, Status: t.Status, ExpiresAt: t.ExpiresAt}
	return r
}

// layOutReceipts is version 1 of the receipt layout.
func layOutReceipts(l ReceiptLayout, t *Transaction) *Receipts {
	merchant, customer := BuildReceipt(l, t, MerchantCopy), BuildReceipt(l, t, CustomerCopy)
	return &Receipts{
		Merchant:          merchant.Text(),
		Customer:          customer.Text(),
		SignatureRequired: t.Card != nil && t.Card.SignatureRequired && t.Status == StatusApproved,
		MerchantDocument:  &merchant,
		CustomerDocument:  &customer,
	}
}

// RenderReceipts lays a stored transaction's receipt out again from its
// source, as it was laid out when the transaction finished.
func RenderReceipts(t *Transaction, src *ReceiptSource) (*Receipts, error) {
	if src.Version != ReceiptLayoutVersion {
		return nil, fmt.Errorf("transaction %s: receipt layout version %d is unknown to this cashlessd", t.ID, src.Version)
	}
	then := *t
	then.Status, then.ExpiresAt = src.Status, src.ExpiresAt
	r := layOutReceipts(src.Layout, &then)
	r.Source = src
	return r, nil
}

// storedReceipts is how Receipts were stored in JSON records: the
// documents, or, in records written before documents were stored, the
// texts. The store reads such records still (and writes no more).
type storedReceipts struct {
	Merchant          string    `json:"merchant,omitempty"`
	Customer          string    `json:"customer,omitempty"`
	SignatureRequired bool      `json:"signatureRequired"`
	MerchantDocument  *Document `json:"merchantDocument,omitempty"`
	CustomerDocument  *Document `json:"customerDocument,omitempty"`
}

// MarshalJSON stores the documents; the texts are rendered from them when
// the record is read. Receipts without documents (read from an older
// record) keep their texts.
func (r Receipts) MarshalJSON() ([]byte, error) {
	s := storedReceipts{SignatureRequired: r.SignatureRequired, MerchantDocument: r.MerchantDocument, CustomerDocument: r.CustomerDocument}
	if s.MerchantDocument == nil {
		s.Merchant = r.Merchant
	}
	if s.CustomerDocument == nil {
		s.Customer = r.Customer
	}
	return json.Marshal(s)
}

// UnmarshalJSON reads stored receipts and renders the texts from the
// documents; an older record's texts are taken as they are.
func (r *Receipts) UnmarshalJSON(b []byte) error {
	var s storedReceipts
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*r = Receipts{Merchant: s.Merchant, Customer: s.Customer, SignatureRequired: s.SignatureRequired,
		MerchantDocument: s.MerchantDocument, CustomerDocument: s.CustomerDocument}
	if s.MerchantDocument != nil {
		r.Merchant = s.MerchantDocument.Text()
	}
	if s.CustomerDocument != nil {
		r.Customer = s.CustomerDocument.Text()
	}
	return nil
}

// Document returns the stored document of one copy. A record written
// before documents were stored has only the copy's text; its document is
// that text, line by line, so a reprint still says exactly what
// receiptData says (without the emphasis the paper had).
func (r *Receipts) Document(c Copy) Document {
	doc, text := r.CustomerDocument, r.Customer
	if c == MerchantCopy {
		doc, text = r.MerchantDocument, r.Merchant
	}
	if doc != nil {
		return *doc
	}
	return TextDocument(text)
}

// reprintMark is printed at the top and the bottom of a reprinted copy.
const reprintMark = "*** DUPLICATE ***"

// Reprinted returns the document as a reprint prints it: the same lines
// between two lines that mark it as a duplicate. The document itself is
// not changed.
func Reprinted(d Document) Document {
	mark := Line{Text: reprintMark, Align: AlignCenter, Bold: true}
	lines := make([]Line, 0, len(d.Lines)+2)
	lines = append(lines, mark)
	lines = append(lines, d.Lines...)
	lines = append(lines, mark)
	return Document{Width: d.Width, Lines: lines}
}

// BuildSettlementReport lays out a closed batch's totals per kind and scheme.
func BuildSettlementReport(l ReceiptLayout, b *Batch) Document {
	d := NewDocument(l.Width)
	loc := l.Location
	if loc == nil {
		loc = time.UTC
	}
	d.Text(l.Merchant.Name, AlignCenter, true)
	d.Pair("TID", l.TerminalID, false)
	d.Double("SETTLEMENT", AlignCenter)
	d.Pair("BATCH", b.ID, false)
	if b.Reference != "" {
		d.Pair("REF", b.Reference, false)
	}
	d.Pair("CLOSED", b.ClosedAt.In(loc).Format("2006-01-02 15:04"), false)
	d.Rule()
	batchTotalLines(d, b)
	d.Pair(fmt.Sprintf("TOTAL %d", b.TransactionCount()), FormatAmount(b.TotalAmount(), b.Currency), true)
	return d.Document()
}

// batchTotalLines lays out a batch's count and amount per kind, then per
// card scheme in name order, each block closed by a rule: the settlement
// report and the X-report share them.
func batchTotalLines(d *DocumentBuilder, b *Batch) {
	d.Pair(fmt.Sprintf("SALES %d", b.SaleCount), FormatAmount(b.SaleAmount, b.Currency), false)
	d.Pair(fmt.Sprintf("COMPLETIONS %d", b.CompletionCount), FormatAmount(b.CompletionAmount, b.Currency), false)
	d.Pair(fmt.Sprintf("REFUNDS %d", b.RefundCount), FormatAmount(-b.RefundAmount, b.Currency), false)
	d.Rule()
	for _, name := range slices.Sorted(maps.Keys(b.Schemes)) {
		s := b.Schemes[name]
		d.Pair(fmt.Sprintf("%s %d", strings.ToUpper(name), s.Count), FormatAmount(s.Amount, b.Currency), false)
	}
	d.Rule()
}
