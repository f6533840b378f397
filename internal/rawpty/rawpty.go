// Package rawpty opens pseudo-terminals in raw mode for the device
// simulators (the virtual card reader and printer): bytes 0x00-0xFF pass
// unchanged both ways, as on a real serial line.
package rawpty

import (
	"fmt"
	"os"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// Open opens a pseudo-terminal pair in raw mode. The master comes back
// non-blocking, so that closing it ends a pending Read and deadlines work.
func Open() (master, slave *os.File, err error) {
	m, s, err := pty.Open()
	if err != nil {
		return nil, nil, fmt.Errorf("rawpty: open pty: %w", err)
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
		return nil, nil, fmt.Errorf("rawpty: pty master: %w", err)
	}
	m = os.NewFile(uintptr(fd), "/dev/ptmx")
	for _, f := range []*os.File{s, m} {
		if err := MakeRaw(f); err != nil {
			m.Close()
			s.Close()
			return nil, nil, err
		}
	}
	return m, s, nil
}

// MakeRaw sets raw mode as cfmakeraw(3) does, with software flow control
// off: no echo, no line editing or signals, no CR/LF translation either
// way, 8 data bits, no parity. Linux keeps one termios per pair, the
// slave's; termios calls on the master act on it too. Setting it through
// both ends costs nothing and leaves no doubt.
func MakeRaw(f *os.File) error {
	sc, err := f.SyscallConn()
	if err != nil {
		return fmt.Errorf("rawpty: raw mode: %w", err)
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
		return fmt.Errorf("rawpty: raw mode: %w", err)
	}
	return nil
}
