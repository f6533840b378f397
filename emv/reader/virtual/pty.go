package virtual

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair in raw mode. The master comes back
// non-blocking, so that closing it ends a pending Read and deadlines work.
func openPTY() (master, slave *os.File, err error) {
	m, s, err := pty.Open()
	if err != nil {
		return nil, nil, fmt.Errorf("virtual reader: open pty: %w", err)
	}
	// pty.Open left the master in blocking mode (it called Fd); a blocking
	// Read would keep Close from ever returning. Use a non-blocking
	// duplicate, which os.NewFile hands to the runtime poller.
	fd, err := unix.Dup(int(m.Fd()))
	m.Close()
	if err == nil {
		err = unix.SetNonblock(fd, true)
		if err != nil {
			unix.Close(fd)
		}
	}
	if err != nil {
		s.Close()
		return nil, nil, fmt.Errorf("virtual reader: pty master: %w", err)
	}
	m = os.NewFile(uintptr(fd), "/dev/ptmx")
	for _, f := range []*os.File{s, m} {
		if err := makeRaw(f); err != nil {
			m.Close()
			s.Close()
			return nil, nil, err
		}
	}
	return m, s, nil
}

// makeRaw sets raw mode as cfmakeraw(3) does, with software flow control
// off: no echo, no line editing or signals, no CR/LF translation either
// way, 8 data bits, no parity. Linux keeps one termios per pair, the
// slave's; termios calls on the master act on it too. Setting it through
// both ends costs nothing and leaves no doubt.
func makeRaw(f *os.File) error {
	sc, err := f.SyscallConn()
	if err != nil {
		return fmt.Errorf("virtual reader: raw mode: %w", err)
	}
	var ioErr error
	err = sc.Control(func(fd uintptr) {
		t, err := unix.IoctlGetTermios(int(fd), unix.TCGETS)
		if err != nil {
			ioErr = err
			return
		}
		t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR |
			unix.IGNCR | unix.ICRNL | unix.IXON | unix.IXOFF | unix.IXANY | unix.IUCLC | unix.INPCK
		t.Oflag &^= unix.OPOST
		t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		t.Cflag &^= unix.CSIZE | unix.PARENB
		t.Cflag |= unix.CS8 | unix.CREAD | unix.CLOCAL
		t.Cc[unix.VMIN] = 1
		t.Cc[unix.VTIME] = 0
		ioErr = unix.IoctlSetTermios(int(fd), unix.TCSETS, t)
	})
	if err == nil {
		err = ioErr
	}
	if err != nil {
		return fmt.Errorf("virtual reader: raw mode: %w", err)
	}
	return nil
}

// link points path at target, replacing what was there in one step.
func link(target, path string) error {
	tmp := filepath.Join(filepath.Dir(path), fmt.Sprintf(".%s.%d.tmp", filepath.Base(path), os.Getpid()))
	os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return fmt.Errorf("virtual reader: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("virtual reader: %w", err)
	}
	return nil
}

// outQueue is how many writes a plug queues for the driver before it
// drops more (a driver that stopped reading).
const outQueue = 256

// writeWait bounds one write to the master: with the driver's end closed
// and the pty's buffer full a write would wait for ever.
const writeWait = time.Second

// plug is one pseudo-terminal: the reader "plugged in". Unplug closes it;
// Replug makes a new one behind the same symlink.
type plug struct {
	master *os.File
	slave  *os.File // held open, so that the pty lives while the driver reopens
	out    chan []byte
	done   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
}

func newPlug(path string) (*plug, error) {
	m, s, err := openPTY()
	if err != nil {
		return nil, err
	}
	if err := link(s.Name(), path); err != nil {
		m.Close()
		s.Close()
		return nil, err
	}
	return &plug{master: m, slave: s, out: make(chan []byte, outQueue), done: make(chan struct{})}, nil
}

// queue hands bytes to the writer; it never blocks.
func (p *plug) queue(b []byte) bool {
	select {
	case <-p.done:
		return false
	default:
	}
	select {
	case p.out <- b:
		return true
	default:
		return false
	}
}

// writeLoop writes queued bytes to the master until the plug closes.
func (p *plug) writeLoop() {
	defer p.wg.Done()
	for {
		select {
		case <-p.done:
			return
		case b := <-p.out:
			p.master.SetWriteDeadline(time.Now().Add(writeWait))
			p.master.Write(b) // a driver that went away is not the reader's problem
		}
	}
}

// close closes both ends and waits for the loops.
func (p *plug) close() {
	p.once.Do(func() {
		close(p.done)
		p.master.Close()
		p.slave.Close()
		p.wg.Wait()
	})
}

// isTimeout reports a read deadline that passed.
func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }
