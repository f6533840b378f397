package virtual

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/vinr/cashlessd/internal/rawpty"
)

// openPTY opens the reader's pseudo-terminal pair in raw mode.
func openPTY() (master, slave *os.File, err error) {
	m, s, err := rawpty.Open()
	if err != nil {
		return nil, nil, fmt.Errorf("virtual reader: %w", err)
	}
	return m, s, nil
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
