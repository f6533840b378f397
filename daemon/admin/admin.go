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

	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/daemon/store"
)

// SocketName is the socket's file name in the data directory.
const SocketName = "admin.sock"

// ErrNotRunning means no daemon answers on the socket.
var ErrNotRunning = errors.New("no running daemon answers on the admin socket")

// Rotator makes a new shared key and returns it.
type Rotator interface {
	Rotate() (string, error)
	// AcceptsSimulatorKey reports whether the simulator's fixed key is
	// accepted besides the rotated one (simulator mode).
	AcceptsSimulatorKey() bool
}

// Rotation is what a key rotation made and changed.
type Rotation struct {
	// Key is the new shared key, shown once.
	Key string `json:"key"`
	// Database is the database file that holds the new key's hash.
	Database string `json:"database"`
	// Simulator: the simulator's fixed key stays valid (simulator mode).
	Simulator bool `json:"simulator"`
}

// Via* say how a rotation reached the database, in its log line.
const (
	ViaAdminSocket = "admin socket"
	ViaOffline     = "offline"
)

// LogRotation writes the audit line of a key rotation: the event, the
// time, how it was made and the database it changed, never the key. It is
// written whatever the configured log level.
func LogRotation(log zerolog.Logger, r Rotation, via string) {
	audit := log.Level(zerolog.InfoLevel)
	audit.Info().Str("event", "key_rotated").Str("via", via).Str("database", r.Database).
		Bool("simulatorKeyValid", r.Simulator).Msg("shared key rotated: the previous key no longer works")
}

// Server serves the admin socket.
type Server struct {
	path string
	ln   net.Listener
	srv  *http.Server
}

// Listen opens the socket in dataDir. A stale socket left by a crash is
// removed; a socket some daemon still answers on is an error. Each key
// rotation is logged on log (LogRotation). Options add requests
// (WithHealth).
func Listen(dataDir string, keys Rotator, log zerolog.Logger, opts ...Option) (*Server, error) {
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
			log.Error().Err(err).Str("event", "key_rotation_failed").Str("via", ViaAdminSocket).Msg("shared key not rotated")
			w.WriteHeader(http.StatusInternalServerError)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
			return
		}
		done := Rotation{Key: key, Database: filepath.Join(dataDir, store.FileName), Simulator: keys.AcceptsSimulatorKey()}
		LogRotation(log, done, ViaAdminSocket)
		_ = json.NewEncoder(w).Encode(done)
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
func RotateKey(ctx context.Context, dataDir string) (Rotation, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://admin/key/rotate", nil)
	if err != nil {
		return Rotation{}, err
	}
	resp, err := do(dataDir, req)
	if err != nil {
		return Rotation{}, err
	}
	defer resp.Body.Close()
	var body struct {
		Rotation
		Error string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return Rotation{}, err
	}
	if resp.StatusCode != http.StatusOK || body.Key == "" {
		return Rotation{}, fmt.Errorf("daemon refused: %s", body.Error)
	}
	return body.Rotation, nil
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
