package daemon

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func sampleSale() *Transaction {
	return &Transaction{ID: "tpay_01HZ5QA7BKXXXXXXXXXXXXXXXX", Kind: KindSale, Reference: "DOC-1", Status: StatusApproved,
		Amount: 2500, Currency: "USD", AuthCode: "A12345", CompletedAt: time.Date(2026, 6, 11, 10, 15, 11, 0, time.UTC),
		Card: &CardInfo{MaskedPAN: "************4242", Scheme: "visa", EntryMethod: EntryChip, SignatureRequired: true}}
}

func TestStoredReceiptsKeepTheDocumentsAndRenderTheTexts(t *testing.T) {
	t.Parallel()
	r := BuildReceipts(ReceiptLayout{Merchant: Merchant{Name: "STORED SHOP"}, TerminalID: "term_1", Width: 32, QR: true}, sampleSale())
	raw, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), `"merchant":`) || strings.Contains(string(raw), `"customer":`) {
		t.Fatalf("the texts are stored beside the documents: %s", raw)
	}
	var back Receipts
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if back.Merchant != r.Merchant || back.Customer != r.Customer || !back.SignatureRequired ||
		back.MerchantDocument == nil || back.CustomerDocument == nil {
		t.Fatalf("read back:\n%+v", back)
	}
	if back.Document(MerchantCopy).Text() != r.Merchant || len(back.Document(CustomerCopy).Lines) != len(r.CustomerDocument.Lines) {
		t.Fatalf("documents changed on the way through the store")
	}
}

func TestTextOnlyRecordsStillHaveReceipts(t *testing.T) {
	t.Parallel()
	// As the release before documents were stored wrote them.
	merchant := "        OLD SHOP\nTID           term_1\n" + "X" + strings.Repeat("_", 31) + "\n   MERCHANT COPY\n"
	old, err := json.Marshal(map[string]any{"merchant": merchant, "customer": "   CUSTOMER COPY\n", "signatureRequired": true})
	if err != nil {
		t.Fatal(err)
	}
	var r Receipts
	if err := json.Unmarshal(old, &r); err != nil {
		t.Fatal(err)
	}
	if r.Merchant != merchant || r.Customer != "   CUSTOMER COPY\n" || !r.SignatureRequired {
		t.Fatalf("%+v", r)
	}
	doc := r.Document(MerchantCopy)
	if doc.Text() != merchant || doc.Width != 32 || len(doc.Lines) != 4 {
		t.Fatalf("document of the stored text: %+v", doc)
	}
	// Written again (a print result updates the record), it stays as it was.
	again, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var r2 Receipts
	if err := json.Unmarshal(again, &r2); err != nil || r2 != r {
		t.Fatalf("%v %+v", err, r2)
	}
}

func TestReprintedMarksTheCopyAndLeavesTheDocument(t *testing.T) {
	t.Parallel()
	doc := BuildReceipt(ReceiptLayout{Merchant: Merchant{Name: "SHOP"}, Width: 32}, sampleSale(), CustomerCopy)
	before := doc.Text()
	p := Reprinted(doc)
	lines := strings.Split(strings.TrimSuffix(p.Text(), "\n"), "\n")
	if !strings.Contains(lines[0], "DUPLICATE") || !strings.Contains(lines[len(lines)-1], "DUPLICATE") ||
		strings.Join(lines[1:len(lines)-1], "\n")+"\n" != before {
		t.Fatalf("reprint:\n%s", p.Text())
	}
	if doc.Text() != before || p.Width != doc.Width {
		t.Fatal("the stored document changed")
	}
}
