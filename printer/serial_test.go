package printer_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/printer"
	"github.com/vinr/cashlessd/printer/virtual"
)

// guard bounds waits for the simulator; it catches hangs and is not a
// timing requirement.
const guard = 10 * time.Second

func startPrinter(t *testing.T) *virtual.Printer {
	t.Helper()
	vp, err := virtual.Start(t.Context(), filepath.Join(t.TempDir(), "jobs"), virtual.Columns(32))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := vp.Close(); err != nil {
			t.Error(err)
		}
	})
	return vp
}

func newDriver(t *testing.T, cfg printer.SerialConfig) *printer.Serial {
	t.Helper()
	s, err := printer.NewSerial(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func checkJob(t *testing.T, j virtual.Job, doc daemon.Document) {
	t.Helper()
	if got, want := j.Document().Text(), doc.Text(); got != want {
		t.Errorf("printed:\n%s\nwant:\n%s", got, want)
	}
	if !bytes.Equal(j.Raw, printer.Encode(doc)) {
		t.Errorf("job bytes differ from Encode(doc)")
	}
}

func wantState(t *testing.T, s *printer.Serial, want daemon.PrinterState) {
	t.Helper()
	if st := s.Status(t.Context()); st.State != want {
		t.Errorf("Status: %+v, want %s", st, want)
	}
}

func TestPrint(t *testing.T) {
	t.Parallel()
	vp := startPrinter(t)
	s := newDriver(t, printer.SerialConfig{Device: vp.Path(), Baud: 115200})
	docs := []daemon.Document{printer.SampleReceipt(), printer.SampleReceiptQR()}
	for _, doc := range docs {
		if err := s.Print(t.Context(), doc); err != nil {
			t.Fatal(err)
		}
	}
	jobs := vp.Jobs()
	if len(jobs) != len(docs) {
		t.Fatalf("%d jobs, want %d", len(jobs), len(docs))
	}
	for i, doc := range docs {
		checkJob(t, jobs[i], doc)
	}
	wantState(t, s, daemon.PrinterReady)
}

func TestPaperOut(t *testing.T) {
	t.Parallel()
	vp := startPrinter(t)
	s := newDriver(t, printer.SerialConfig{Device: vp.Path()})
	doc := printer.SampleReceipt()

	vp.SetPaper(false)
	err := s.Print(t.Context(), doc)
	var se *printer.StateError
	if !errors.Is(err, printer.ErrPaperOut) || !errors.As(err, &se) || se.State != daemon.PrinterPaperOut {
		t.Fatalf("Print: %v, want paper out", err)
	}
	if err.Error() != "printer out of paper" {
		t.Errorf("message %q", err)
	}
	wantState(t, s, daemon.PrinterPaperOut)
	if n := vp.Received(); n != 0 || len(vp.Jobs()) != 0 {
		t.Fatalf("printer received %d bytes, %d jobs; want nothing", n, len(vp.Jobs()))
	}

	vp.SetPaper(true) // the same driver prints again
	if err := s.Print(t.Context(), doc); err != nil {
		t.Fatal(err)
	}
	if jobs := vp.Jobs(); len(jobs) != 1 {
		t.Fatalf("%d jobs", len(jobs))
	} else {
		checkJob(t, jobs[0], doc)
	}
	wantState(t, s, daemon.PrinterReady)
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		set   func(*virtual.Printer, bool)
		err   error
		state daemon.PrinterState
		msg   string
	}{
		{"cover open", (*virtual.Printer).SetCoverOpen, printer.ErrCoverOpen, daemon.PrinterCoverOpen, "printer cover open"},
		{"offline", (*virtual.Printer).SetOffline, printer.ErrOffline, daemon.PrinterOffline, "printer offline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vp := startPrinter(t)
			s := newDriver(t, printer.SerialConfig{Device: vp.Path()})
			tt.set(vp, true)
			err := s.Print(t.Context(), printer.SampleReceipt())
			if !errors.Is(err, tt.err) || err.Error() != tt.msg {
				t.Fatalf("Print: %v, want %v", err, tt.err)
			}
			wantState(t, s, tt.state)
			if vp.Received() != 0 {
				t.Fatalf("printer received %d bytes", vp.Received())
			}
			tt.set(vp, false)
			if err := s.Print(t.Context(), printer.SampleReceipt()); err != nil {
				t.Fatal(err)
			}
			if len(vp.Jobs()) != 1 {
				t.Fatalf("%d jobs", len(vp.Jobs()))
			}
		})
	}
}

func TestPaperNearEndPrints(t *testing.T) {
	t.Parallel()
	vp := startPrinter(t)
	s := newDriver(t, printer.SerialConfig{Device: vp.Path()})
	vp.SetPaperNearEnd(true)
	if err := s.Print(t.Context(), printer.SampleReceipt()); err != nil {
		t.Fatal(err)
	}
	wantState(t, s, daemon.PrinterPaperLow)
}

// TestUnplugReplug configures the driver with a symlink, as udev gives a
// USB printer, and takes the printer behind it away and back.
func TestUnplugReplug(t *testing.T) {
	t.Parallel()
	link := filepath.Join(t.TempDir(), "printer")
	plug := func(vp *virtual.Printer) {
		os.Remove(link)
		if err := os.Symlink(vp.Path(), link); err != nil {
			t.Fatal(err)
		}
	}
	doc := printer.SampleReceipt()
	s := newDriver(t, printer.SerialConfig{Device: link, ReplyTimeout: 500 * time.Millisecond})

	first := startPrinter(t)
	plug(first)
	if err := s.Print(t.Context(), doc); err != nil {
		t.Fatal(err)
	}

	// Unplugged: the open port is dead and the device node is gone.
	first.Close()
	os.Remove(link)
	err := s.Print(t.Context(), doc)
	if !errors.Is(err, printer.ErrUnavailable) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Print while unplugged: %v", err)
	}
	if !strings.Contains(err.Error(), "no such file or directory") {
		t.Errorf("message %q", err)
	}
	wantState(t, s, daemon.PrinterUnavailable)

	// Plugged in again: the next job opens the new device.
	second := startPrinter(t)
	plug(second)
	if err := s.Print(t.Context(), doc); err != nil {
		t.Fatal(err)
	}
	if len(second.Jobs()) != 1 {
		t.Fatalf("%d jobs on the new printer", len(second.Jobs()))
	}
	checkJob(t, second.Jobs()[0], doc)

	// Replugged between two jobs: the port left open is stale; the job
	// still prints, on a fresh open.
	third := startPrinter(t)
	second.Close()
	plug(third)
	if err := s.Print(t.Context(), doc); err != nil {
		t.Fatalf("Print after replug between jobs: %v", err)
	}
	if len(third.Jobs()) != 1 {
		t.Fatalf("%d jobs on the third printer", len(third.Jobs()))
	}
}

func TestMissingDevice(t *testing.T) {
	t.Parallel()
	s := newDriver(t, printer.SerialConfig{Device: filepath.Join(t.TempDir(), "ttyUSB9")})
	err := s.Print(t.Context(), printer.SampleReceipt())
	if !errors.Is(err, printer.ErrUnavailable) {
		t.Fatalf("Print: %v", err)
	}
	st := s.Status(t.Context())
	if st.State != daemon.PrinterUnavailable || !strings.Contains(st.Message, "ttyUSB9") {
		t.Errorf("Status: %+v", st)
	}
}

// TestNoReply is a device that never answers: a printer switched off, or a
// wrong baud rate.
func TestNoReply(t *testing.T) {
	t.Parallel()
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	defer slave.Close()
	s := newDriver(t, printer.SerialConfig{Device: slave.Name(), ReplyTimeout: 200 * time.Millisecond})
	err = s.Print(t.Context(), printer.SampleReceipt())
	if !errors.Is(err, printer.ErrUnavailable) || !strings.Contains(err.Error(), "no reply") {
		t.Fatalf("Print: %v", err)
	}
	wantState(t, s, daemon.PrinterUnavailable)
}

// TestJobTimeout is a printer that answers the status queries and then
// stops taking data: the job ends at JobTimeout instead of hanging.
func TestJobTimeout(t *testing.T) {
	t.Parallel()
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer slave.Close()
	go func() { // answer three queries "ready", then stop reading
		buf := make([]byte, 3)
		for range 3 {
			if _, err := master.Read(buf); err != nil {
				return
			}
			master.Write([]byte{0x12})
		}
	}()
	defer master.Close() // after the test: lets a write still in the kernel fail

	var doc daemon.Document
	doc.Width = 32
	for range 400 { // more than the pty buffers hold
		doc.Lines = append(doc.Lines, daemon.Line{Text: strings.Repeat("x", 32)}, daemon.Line{QR: strings.Repeat("q", 1000)})
	}
	s := newDriver(t, printer.SerialConfig{Device: slave.Name(), JobTimeout: 500 * time.Millisecond})
	err = s.Print(t.Context(), doc)
	if !errors.Is(err, printer.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Print: %v", err)
	}
}

func TestXONXOFF(t *testing.T) {
	t.Parallel()
	vp := startPrinter(t)
	doc := printer.SampleReceipt()

	// Busy for longer than the job may take: refused, nothing sent.
	short := newDriver(t, printer.SerialConfig{Device: vp.Path(), FlowControl: printer.FlowXONXOFF, JobTimeout: 300 * time.Millisecond})
	vp.SetBusy(true)
	err := short.Print(t.Context(), doc)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "XOFF") {
		t.Fatalf("Print while busy: %v", err)
	}
	if vp.Received() != 0 {
		t.Fatalf("sent %d bytes during XOFF", vp.Received())
	}
	short.Close()

	// Busy, then ready: the driver waits for XON and prints.
	s := newDriver(t, printer.SerialConfig{Device: vp.Path(), FlowControl: printer.FlowXONXOFF})
	queries := vp.Queries()
	done := make(chan error, 1)
	go func() { done <- s.Print(context.Background(), doc) }()
	deadline := time.Now().Add(guard)
	for vp.Queries() < queries+3 { // the status check is done: the driver now waits for XON
		if time.Now().After(deadline) {
			t.Fatal("no status check")
		}
		time.Sleep(time.Millisecond)
	}
	if vp.Received() != 0 {
		t.Fatalf("sent %d bytes during XOFF", vp.Received())
	}
	// Status waits its turn within its own context, then reports the
	// state seen last.
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	st := s.Status(ctx)
	cancel()
	if st.State != daemon.PrinterReady || !strings.Contains(st.Message, "busy") {
		t.Errorf("Status during a job: %+v", st)
	}
	vp.SetBusy(false)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(guard):
		t.Fatal("Print did not resume after XON")
	}
	if len(vp.Jobs()) != 1 {
		t.Fatalf("%d jobs", len(vp.Jobs()))
	}
	checkJob(t, vp.Jobs()[0], doc)
}

func TestRTSCTSNeedsModemLines(t *testing.T) {
	t.Parallel()
	vp := startPrinter(t) // a pty has no CTS line
	s := newDriver(t, printer.SerialConfig{Device: vp.Path(), FlowControl: printer.FlowRTSCTS})
	err := s.Print(t.Context(), printer.SampleReceipt())
	if !errors.Is(err, printer.ErrUnavailable) || !strings.Contains(err.Error(), "rtscts") {
		t.Fatalf("Print: %v", err)
	}
}

// TestConcurrentJobs checks that jobs from several goroutines take turns
// and never mix on the wire.
func TestConcurrentJobs(t *testing.T) {
	t.Parallel()
	vp := startPrinter(t)
	s := newDriver(t, printer.SerialConfig{Device: vp.Path()})
	doc := printer.SampleReceiptQR()
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			if err := s.Print(t.Context(), doc); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() { s.Status(t.Context()) })
	}
	wg.Wait()
	jobs := vp.Jobs()
	if len(jobs) != 5 {
		t.Fatalf("%d jobs", len(jobs))
	}
	for _, j := range jobs {
		checkJob(t, j, doc)
	}
}

func TestClosedDriver(t *testing.T) {
	t.Parallel()
	vp := startPrinter(t)
	s := newDriver(t, printer.SerialConfig{Device: vp.Path()})
	s.Close()
	if err := s.Print(t.Context(), printer.SampleReceipt()); !errors.Is(err, printer.ErrUnavailable) {
		t.Fatalf("Print after Close: %v", err)
	}
	wantState(t, s, daemon.PrinterUnavailable)
}

func TestConfig(t *testing.T) {
	t.Parallel()
	bad := []printer.SerialConfig{
		{},
		{Device: "/dev/null", Baud: -1},
		{Device: "/dev/null", FlowControl: "dtrdsr"},
		{Device: "/dev/null", Encoder: printer.Encoder{CodePage: "utf8"}},
	}
	for _, cfg := range bad {
		if _, err := printer.NewSerial(cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}

// TestPaperRunsOutDuringJob: the status check before the job passes, the
// roll ends within it, and the check after it says so.
func TestPaperRunsOutDuringJob(t *testing.T) {
	t.Parallel()
	vp := startPrinter(t)
	s := newDriver(t, printer.SerialConfig{Device: vp.Path()})
	vp.SetRoll(10)
	err := s.Print(t.Context(), printer.SampleReceipt())
	if !errors.Is(err, printer.ErrPaperOut) || !strings.Contains(err.Error(), "may be incomplete") {
		t.Fatalf("Print: %v", err)
	}
	wantState(t, s, daemon.PrinterPaperOut)
	if vp.Discarded() != 1 || len(vp.Jobs()) != 0 {
		t.Errorf("discarded %d, jobs %d", vp.Discarded(), len(vp.Jobs()))
	}
}
