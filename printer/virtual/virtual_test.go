package virtual

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/printer"
	"golang.org/x/sys/unix"
)

// guard is how long a test waits for bytes before calling the simulator
// stuck; it is a hang guard, not a timing requirement.
const guard = 10 * time.Second

func readFull(t *testing.T, f *os.File, n int) []byte {
	t.Helper()
	f.SetReadDeadline(time.Now().Add(guard))
	buf := make([]byte, n)
	if _, err := io.ReadFull(f, buf); err != nil {
		t.Fatalf("read %d bytes: %v", n, err)
	}
	return buf
}

// openHost opens the device as the driver would, but without the serial
// library, so the pty's own settings are what is tested.
func openHost(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestRawModeRoundTrip(t *testing.T) {
	t.Parallel()
	master, slave, err := openPTY()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	defer slave.Close()

	sc, _ := slave.SyscallConn()
	var tio *unix.Termios
	sc.Control(func(fd uintptr) { tio, err = unix.IoctlGetTermios(int(fd), unix.TCGETS) })
	if err != nil {
		t.Fatal(err)
	}
	if tio.Lflag&(unix.ECHO|unix.ICANON|unix.ISIG|unix.IEXTEN) != 0 || tio.Oflag&unix.OPOST != 0 ||
		tio.Iflag&(unix.ICRNL|unix.INLCR|unix.IGNCR|unix.IXON|unix.IXOFF|unix.ISTRIP) != 0 ||
		tio.Cflag&unix.CSIZE != unix.CS8 {
		t.Fatalf("not raw: %+v", tio)
	}

	all := make([]byte, 0, 512)
	for i := range 512 {
		all = append(all, byte(i))
	}
	host := openHost(t, slave.Name())

	// Host to printer: every byte arrives as sent.
	if _, err := host.Write(all); err != nil {
		t.Fatal(err)
	}
	if got := readFull(t, master, len(all)); !bytes.Equal(got, all) {
		t.Fatalf("host→printer:\n got % x\nwant % x", got, all)
	}
	// Printer to host: the same, and nothing echoed back to the printer
	// before the marker the host sends next.
	if _, err := master.Write(all); err != nil {
		t.Fatal(err)
	}
	if got := readFull(t, host, len(all)); !bytes.Equal(got, all) {
		t.Fatalf("printer→host:\n got % x\nwant % x", got, all)
	}
	marker := []byte("MARK")
	host.Write(marker)
	if got := readFull(t, master, len(marker)); !bytes.Equal(got, marker) {
		t.Fatalf("echo: printer got % x before the marker", got)
	}
}

func sample() daemon.Document {
	return daemon.NewDocument(32).
		Double("RECEIPT", daemon.AlignCenter).
		Pair("Total", "€ 9,99", true).
		QR("https://example.com/r/1").
		Document()
}

func TestJobFiles(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "jobs")
	p, err := Start(t.Context(), dir, Columns(32))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	host := openHost(t, p.Path())

	job := printer.Encode(sample())
	// A status query in the middle of the job is answered, not printed.
	mid := 5 // after ESC @ and ESC t n
	send := append(append(append([]byte{}, job[:mid]...), printer.StatusQuery(printer.StatusRollPaper)...), job[mid:]...)
	if _, err := host.Write(send); err != nil {
		t.Fatal(err)
	}
	if got := readFull(t, host, 1); got[0] != 0x12 {
		t.Errorf("paper status %#x, want 0x12", got[0])
	}
	jobs := waitJobs(t, p, 1)
	j := jobs[0]
	if !bytes.Equal(j.Raw, job) {
		t.Errorf("raw:\n got % x\nwant % x", j.Raw, job)
	}
	if got, want := j.Document().Text(), sample().Text(); got != want {
		t.Errorf("text:\n%s\nwant\n%s", got, want)
	}
	if j.Text != sample().Text() {
		t.Errorf("job text %q, want %q", j.Text, sample().Text())
	}

	st, err := os.Stat(dir)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("dir: %v %v", st.Mode(), err)
	}
	bin, err := os.ReadFile(j.Path)
	if err != nil || !bytes.Equal(bin, job) {
		t.Errorf(".bin: %v", err)
	}
	txtPath := strings.TrimSuffix(j.Path, ".bin") + ".txt"
	txt, err := os.ReadFile(txtPath)
	if err != nil || string(txt) != j.Text {
		t.Errorf(".txt: %q %v", txt, err)
	}
	for _, f := range []string{j.Path, txtPath} {
		if st, err := os.Stat(f); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", f, st.Mode(), err)
		}
	}
	if !strings.HasPrefix(filepath.Base(j.Path), "000001-") {
		t.Errorf("name %s", j.Path)
	}
	if p.Received() != int64(len(job)) || p.Queries() != 1 {
		t.Errorf("received %d queries %d", p.Received(), p.Queries())
	}
	if err := p.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
}

func TestNotReadyDiscards(t *testing.T) {
	t.Parallel()
	p, err := Start(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	host := openHost(t, p.Path())
	p.SetPaper(false)
	host.Write(printer.Encode(sample()))
	host.Write(printer.StatusQuery(printer.StatusPrinter)) // answered after the job is read
	if got := readFull(t, host, 1); got[0] != 0x1a {
		t.Errorf("printer status %#x, want 0x1a (offline)", got[0])
	}
	if p.Discarded() != 1 || len(p.Jobs()) != 0 {
		t.Errorf("discarded %d jobs %d", p.Discarded(), len(p.Jobs()))
	}
}

func TestBusySendsXOFF(t *testing.T) {
	t.Parallel()
	p, err := Start(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	host := openHost(t, p.Path())
	p.SetBusy(true)
	host.Write(printer.StatusQuery(printer.StatusPrinter))
	if got := readFull(t, host, 3); !bytes.Equal(got, []byte{0x13, 0x13, 0x12}) {
		t.Errorf("got % x, want XOFF, XOFF again, then the reply", got)
	}
	p.SetBusy(false)
	if got := readFull(t, host, 1); got[0] != 0x11 {
		t.Errorf("got %#x, want XON", got[0])
	}
}

func TestContextEndCloses(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	p, err := Start(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-p.done:
	case <-time.After(guard):
		t.Fatal("printer still running after its context ended")
	}
	p.Close()
	// Both ends of the pseudo-terminal are closed. (Its /dev/pts path is
	// no proof: another process may be given the same number at once.)
	for name, f := range map[string]*os.File{"master": p.master, "slave": p.slave} {
		if _, err := f.Stat(); !errors.Is(err, os.ErrClosed) {
			t.Errorf("the %s side is still open: %v", name, err)
		}
	}
}

func waitJobs(t *testing.T, p *Printer, n int) []Job {
	t.Helper()
	deadline := time.Now().Add(guard)
	for {
		if jobs := p.Jobs(); len(jobs) >= n {
			return jobs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d jobs, want %d", len(p.Jobs()), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
