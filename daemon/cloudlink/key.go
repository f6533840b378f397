package cloudlink

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/nats-io/nkeys"
)

// KeyFileName is the default name of the terminal's NKey seed file in the
// data directory.
const KeyFileName = "cloud.nk"

// loadOrCreateKey reads the terminal's NKey seed from path, or makes a new
// user key pair and writes its seed there (mode 0600) when the file does not
// exist. A seed file that others can read is narrowed to 0600. The seed is
// never logged; created reports whether the key was made now.
func loadOrCreateKey(path string) (kp nkeys.KeyPair, created bool, err error) {
	seed, err := os.ReadFile(path)
	switch {
	case err == nil:
		if info, statErr := os.Stat(path); statErr == nil && info.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(path, 0o600); err != nil {
				return nil, false, fmt.Errorf("cloud credentials %s: %w", path, err)
			}
		}
		kp, err := nkeys.FromSeed(bytes.TrimSpace(seed))
		wipe(seed)
		if err != nil {
			return nil, false, fmt.Errorf("cloud credentials %s: not an NKey seed", path)
		}
		if _, err := kp.PublicKey(); err != nil {
			return nil, false, fmt.Errorf("cloud credentials %s: %w", path, err)
		}
		return kp, false, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, false, fmt.Errorf("cloud credentials: %w", err)
	}
	kp, err = nkeys.CreateUser()
	if err != nil {
		return nil, false, err
	}
	// Seed returns the key pair's own buffer: copy it, never change it.
	own, err := kp.Seed()
	if err != nil {
		return nil, false, err
	}
	line := make([]byte, len(own)+1)
	copy(line, own)
	line[len(own)] = '\n'
	defer wipe(line)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("cloud credentials: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("cloud credentials: %w", err)
	}
	_, werr := f.Write(line)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		_ = os.Remove(path)
		return nil, false, fmt.Errorf("cloud credentials %s: %w", path, err)
	}
	return kp, true, nil
}

// wipe overwrites a secret held in memory.
func wipe(b []byte) {
	for i := range b {
		b[i] = 0
	}
}
