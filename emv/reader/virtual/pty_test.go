package virtual

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Every byte value, 0x00 to 0xFF, must cross the pseudo-terminal
// unchanged in both directions: no CR/LF translation, no XON/XOFF, no
// signals on ^C, no erase or kill characters, no echo.
func TestPTYIsRaw(t *testing.T) {
	t.Parallel()
	m, s, err := openPTY()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	defer s.Close()

	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	pass := func(name string, w, r *os.File) {
		t.Helper()
		done := make(chan error, 1)
		got := make([]byte, len(all))
		go func() {
			_, err := io.ReadFull(r, got)
			done <- err
		}()
		if _, err := w.Write(all); err != nil {
			t.Fatalf("%s: write: %v", name, err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("%s: read: %v", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: bytes were held back (line discipline not raw)", name)
		}
		if !bytes.Equal(got, all) {
			t.Fatalf("%s: bytes changed on the way:\n got % X\nwant % X", name, got, all)
		}
	}
	pass("to the driver", m, s)
	pass("from the driver", s, m)
	// Nothing was echoed back to the writer.
	m.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, _ := m.Read(make([]byte, 16)); n != 0 {
		t.Fatalf("%d bytes echoed", n)
	}
}

func TestSymlinkFollowsReplug(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "reader")
	r, err := Start(t.Context(), Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	first, err := os.Readlink(path)
	if err != nil {
		t.Fatal(err)
	}
	r.Unplug()
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Fatalf("the device path is still there after Unplug: %v", err)
	}
	if err := r.Replug(); err != nil {
		t.Fatal(err)
	}
	second, err := os.Readlink(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(second); err != nil {
		t.Fatalf("the symlink points nowhere: %v", err)
	}
	t.Logf("%s -> %s, then %s", path, first, second)
	r.Close()
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Fatalf("the device path is still there after Close: %v", err)
	}
}

func TestVerifyCommand(t *testing.T) {
	t.Parallel()
	got := verifyCommand("12345")
	want := []byte{0x00, 0x20, 0x00, 0x80, 0x08, 0x25, 0x12, 0x34, 0x5F, 0xFF, 0xFF, 0xFF, 0xFF}
	if !bytes.Equal(got, want) {
		t.Fatalf("VERIFY % X, want % X", got, want)
	}
}
