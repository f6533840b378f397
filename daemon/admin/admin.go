// Package admin is the running daemon's local control socket: a Unix socket
// in the data directory (mode 0600, in a 0700 directory) through which
// technician commands such as `cashlessd key rotate` reach a daemon that
// holds the database's lock.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// SocketName is the socket's file name in the data directory.
const SocketName = "admin.sock"

// ErrNotRunning means no daemon answers on the socket.
var ErrNotRunning = errors.New("no running daemon answers on the admin socket")

// Rotator makes a new shared key and returns it.
type Rotator interface {
	Rotate() (string, error)
}

// Server serves the admin socket.
type Server struct {
	path string
	ln   net.Listener
	srv  *http.Server
}

// Listen opens the socket in dataDir. A stale socket left by a crash is
// removed; a socket some daemon still answers on is an error. Options add
// requests (WithHealth).
func Listen(dataDir string, keys Rotator, opts ...Option) (*Server, error) {
	path := filepath.Join(dataDir, SocketName)
	if _, err := os.Stat(path); err == nil {
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			_ = c.Close()
			return nil, fmt.Errorf("another cashlessd is running on %s", dataDir)
		}
		_ = os.Remove(path)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		_ = ln.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /key/rotate", func(w http.ResponseWriter, r *http.Request) {
		key, err := keys.Rotate()
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"key": key})
	})
	for _, o := range opts {
		o(mux)
	}
	s := &Server{path: path, ln: ln, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the server and removes the socket.
func (s *Server) Close() error {
	err := s.srv.Close()
	_ = os.Remove(s.path)
	return err
}

// RotateKey asks the daemon running on dataDir for a new key. It returns
// ErrNotRunning when no daemon answers.
func RotateKey(ctx context.Context, dataDir string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://admin/key/rotate", nil)
	if err != nil {
		return "", err
	}
	resp, err := do(dataDir, req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var body struct{ Key, Error string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK || body.Key == "" {
		return "", fmt.Errorf("daemon refused: %s", body.Error)
	}
	return body.Key, nil
}

// do sends req to the daemon's socket in dataDir; ErrNotRunning when no
// daemon answers.
func do(dataDir string, req *http.Request) (*http.Response, error) {
	path := filepath.Join(dataDir, SocketName)
	client := &http.Client{Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}
	resp, err := client.Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return nil, ErrNotRunning
		}
		return nil, err
	}
	return resp, nil
}
