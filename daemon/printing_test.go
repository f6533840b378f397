package daemon_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/store"
	"github.com/vinr/cashlessd/printer"
	"github.com/vinr/cashlessd/printer/virtual"
)

// guard bounds how long a test waits for a state it expects; it is a hang
// guard, not a timing requirement.
const guard = 15 * time.Second

// printingTerminal is an engine with a real store and the real serial
// printer driver talking, with xonxoff flow control, to a virtual printer
// at the far end of a pseudo-terminal.
type printingTerminal struct {
	engine  *daemon.Engine
	store   *store.DB
	printer *virtual.Printer
}

// startPrintingTerminal starts the terminal with the receipts of txs
// already booked. The background printer refresh is made rare, so that
// only the jobs and the tests ask the printer anything.
func startPrintingTerminal(t *testing.T, txs ...*daemon.Transaction) *printingTerminal {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	vp, err := virtual.Start(ctx, t.TempDir(), virtual.Columns(32))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { vp.Close() })
	drv, err := printer.NewSerial(printer.SerialConfig{Device: vp.Path(), FlowControl: printer.FlowXONXOFF, JobTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { drv.Close() })
	db, err := store.Open(t.TempDir(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	n := 0
	if err := db.Import(txs, func() string { n++; return "batch_" + string(rune('A'+n)) }); err != nil {
		t.Fatal(err)
	}
	e := daemon.New(daemon.Config{TerminalID: "term_TEST_0001", Currency: "USD", HasPrinter: true, PrinterRefresh: time.Hour},
		daemon.Deps{Store: db, Printer: drv, Log: zerolog.Nop()})
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), guard)
		defer scancel()
		if err := e.Stop(sctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return &printingTerminal{engine: e, store: db, printer: vp}
}

// waitPrinterKnown polls status until the printer's state is known.
func (p *printingTerminal) waitPrinterKnown(t *testing.T) daemon.PrinterStatus {
	t.Helper()
	for deadline := time.Now().Add(guard); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		st, err := p.engine.Status(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if st.Printer != nil && st.Printer.State != daemon.PrinterUnavailable {
			return *st.Printer
		}
	}
	t.Fatal("the printer's state never became known")
	return daemon.PrinterStatus{}
}

// approvedSale is a finished sale with its receipts laid out for layout.
func approvedSale(layout daemon.ReceiptLayout, ref string) *daemon.Transaction {
	tx := &daemon.Transaction{ID: "tpay_" + ref, Kind: daemon.KindSale, Reference: ref, Status: daemon.StatusApproved,
		Amount: 2500, Currency: "USD", AuthCode: "A12345", StartedAt: time.Date(2026, 6, 11, 10, 15, 0, 0, time.UTC),
		CompletedAt: time.Date(2026, 6, 11, 10, 15, 11, 0, time.UTC),
		Card:        &daemon.CardInfo{MaskedPAN: "************4242", Scheme: "visa", EntryMethod: daemon.EntryChip, PINVerified: true}}
	tx.Receipts = daemon.BuildReceipts(layout, tx)
	return tx
}

func TestStatusAnswersWhileAPrintJobWaitsForThePrinter(t *testing.T) {
	t.Parallel()
	sale := approvedSale(daemon.ReceiptLayout{Merchant: daemon.Merchant{Name: "SLOW PRINT CAFE"}, TerminalID: "term_TEST_0001", Width: 32}, "SLOW-1")
	p := startPrintingTerminal(t, sale)
	if st := p.waitPrinterKnown(t); st.State != daemon.PrinterReady {
		t.Fatalf("printer %+v", st)
	}

	// The printer holds the host off (XOFF): the job's status check
	// passes, then the job waits at the far end for XON.
	p.printer.SetBusy(true)
	queries := p.printer.Queries()
	reprint := make(chan error, 1)
	go func() { reprint <- p.engine.Reprint(context.Background(), "customer") }()
	for deadline := time.Now().Add(guard); p.printer.Queries() < queries+3; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the job never checked the printer's status")
		}
	}

	// The job holds the serial line; status answers from the last known
	// state while it runs.
	st, err := p.engine.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-reprint:
		t.Fatalf("the job ended (%v) while the printer held it off", err)
	default:
	}
	if st.Printer == nil || st.Printer.State != daemon.PrinterReady {
		t.Fatalf("status during the job: %+v", st.Printer)
	}
	if p.printer.Received() != 0 {
		t.Fatalf("the printer got %d bytes while it held the host off", p.printer.Received())
	}

	p.printer.SetBusy(false)
	if err := <-reprint; err != nil {
		t.Fatal(err)
	}
	jobs := p.printer.Jobs()
	if len(jobs) != 1 {
		t.Fatalf("%d jobs", len(jobs))
	}
	want := printer.Encode(daemon.Reprinted(*sale.Receipts.CustomerDocument))
	if !bytes.Equal(jobs[0].Raw, want) {
		t.Fatalf("printed bytes differ from the stored document's:\n%q\n%q", jobs[0].Raw, want)
	}
}

func TestStatusShowsWhatAJobLeft(t *testing.T) {
	t.Parallel()
	sale := approvedSale(daemon.ReceiptLayout{Merchant: daemon.Merchant{Name: "PAPER CAFE"}, Width: 32}, "PAPER-1")
	p := startPrintingTerminal(t, sale)
	p.waitPrinterKnown(t)
	p.printer.SetPaper(false)
	if err := p.engine.Reprint(t.Context(), "merchant"); err == nil {
		t.Fatal("printed without paper")
	}
	// The job's end refreshed the state before the answer came back.
	st, err := p.engine.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.Printer == nil || st.Printer.State != daemon.PrinterPaperOut {
		t.Fatalf("status after the failed job: %+v", st.Printer)
	}
}

func TestReprintPrintsTheStoredDocumentAsADuplicate(t *testing.T) {
	t.Parallel()
	// Laid out for 48 columns and another merchant than the engine's
	// layout (the engine's default: 32 columns, no merchant).
	sale := approvedSale(daemon.ReceiptLayout{Merchant: daemon.Merchant{Name: "WIDE HEADER MERCHANT", Address: "1 Long Road"},
		TerminalID: "term_OLD", Width: 48}, "STORED-1")
	stored := *sale.Receipts
	p := startPrintingTerminal(t, sale)

	last, err := p.engine.LastReceipt()
	if err != nil {
		t.Fatal(err)
	}
	if last.Receipts.Merchant != stored.Merchant || last.Receipts.Customer != stored.Customer {
		t.Fatalf("receipt/last changed:\n%s", last.Receipts.Customer)
	}
	if err := p.engine.Reprint(t.Context(), "both"); err != nil {
		t.Fatal(err)
	}
	jobs := p.printer.Jobs()
	if len(jobs) != 2 {
		t.Fatalf("%d jobs", len(jobs))
	}
	for i, doc := range []*daemon.Document{stored.MerchantDocument, stored.CustomerDocument} {
		if !bytes.Equal(jobs[i].Raw, printer.Encode(daemon.Reprinted(*doc))) {
			t.Errorf("job %d is not the stored document marked as a duplicate:\n%s", i, jobs[i].Text)
		}
		text := printer.Render(printer.Decode(jobs[i].Raw), doc.Width)
		lines := strings.SplitN(text, "\n", 2)
		if !strings.Contains(lines[0], "DUPLICATE") || !strings.Contains(lines[1], "WIDE HEADER MERCHANT") {
			t.Errorf("job %d:\n%s", i, text)
		}
	}
	again, err := p.engine.LastReceipt()
	if err != nil {
		t.Fatal(err)
	}
	if again.Receipts.Customer != stored.Customer || strings.Contains(again.Receipts.Customer, "DUPLICATE") ||
		len(again.Receipts.CustomerDocument.Lines) != len(stored.CustomerDocument.Lines) {
		t.Fatalf("the reprint changed the stored receipt:\n%s", again.Receipts.Customer)
	}
}

func TestReprintOfATextOnlyRecordPrintsItsText(t *testing.T) {
	t.Parallel()
	// A record as the release before stored documents wrote it: the
	// receipts' text only.
	sale := approvedSale(daemon.ReceiptLayout{Merchant: daemon.Merchant{Name: "OLD RELEASE SHOP"}, Width: 32}, "LEGACY-1")
	sale.Receipts.MerchantDocument, sale.Receipts.CustomerDocument = nil, nil
	text := sale.Receipts.Customer
	p := startPrintingTerminal(t, sale)

	last, err := p.engine.LastReceipt()
	if err != nil {
		t.Fatal(err)
	}
	if last.Receipts.Customer != text || last.Receipts.CustomerDocument != nil {
		t.Fatalf("receipt/last of a text-only record:\n%s", last.Receipts.Customer)
	}
	if err := p.engine.Reprint(t.Context(), "customer"); err != nil {
		t.Fatal(err)
	}
	jobs := p.printer.Jobs()
	if len(jobs) != 1 {
		t.Fatalf("%d jobs", len(jobs))
	}
	lines := printer.Decode(jobs[0].Raw)
	if len(lines) < 2 || !strings.Contains(lines[0].Text, "DUPLICATE") || !strings.Contains(lines[len(lines)-1].Text, "DUPLICATE") {
		t.Fatalf("not marked as a duplicate:\n%s", jobs[0].Text)
	}
	if got := printer.Render(lines[1:len(lines)-1], 32); got != text {
		t.Fatalf("printed:\n%s\nstored:\n%s", got, text)
	}
}
