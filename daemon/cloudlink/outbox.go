package cloudlink

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// OutboxDir is the directory, in the data directory, that holds the
// outcomes not yet acknowledged by the relay's JetStream.
const OutboxDir = "cloud-outbox"

// maxOutbox bounds how many outcomes wait; past it the oldest are dropped
// (the relay can still learn them by a lookup or a replay by reference).
const maxOutbox = 10000

// outbox keeps each finished transaction's outcome in its own file (mode
// 0600, in a 0700 directory) until the relay's JetStream acknowledged it,
// so outcomes survive a link that is down and a daemon restart. File names
// sort in the order the outcomes were made, and each name is the message's
// de-duplication ID at the stream.
type outbox struct {
	dir string

	mu   sync.Mutex
	seq  uint64
	wake chan struct{}
}

func openOutbox(dir string) (*outbox, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cloud outbox: %w", err)
	}
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("cloud outbox: %w", err)
	}
	if info.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return nil, fmt.Errorf("cloud outbox: %w", err)
		}
	}
	return &outbox{dir: dir, wake: make(chan struct{}, 1)}, nil
}

// add stores one encoded outcome and wakes the publisher.
func (o *outbox) add(data []byte) error {
	o.mu.Lock()
	o.seq++
	name := fmt.Sprintf("%020d-%06d.json", time.Now().UnixNano(), o.seq%1_000_000)
	o.mu.Unlock()
	tmp := filepath.Join(o.dir, "."+name)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, filepath.Join(o.dir, name)); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	o.trim()
	o.poke()
	return nil
}

// poke wakes the publisher without waiting.
func (o *outbox) poke() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// pending lists the waiting outcomes, oldest first.
func (o *outbox) pending() ([]string, error) {
	entries, err := os.ReadDir(o.dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if n := e.Name(); !e.IsDir() && !strings.HasPrefix(n, ".") && strings.HasSuffix(n, ".json") {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names, nil
}

// read is one waiting outcome.
func (o *outbox) read(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join(o.dir, name))
}

// done removes an acknowledged outcome.
func (o *outbox) done(name string) error {
	err := os.Remove(filepath.Join(o.dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// trim drops the oldest outcomes beyond maxOutbox.
func (o *outbox) trim() {
	names, err := o.pending()
	if err != nil || len(names) <= maxOutbox {
		return
	}
	for _, n := range names[:len(names)-maxOutbox] {
		_ = o.done(n)
	}
}
