package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/vinr/cashlessd/certs"
)

// serveBaseline is the floor for the HTTP figures: a minimal net/http TLS
// server with the same kind of certificate (ECDSA P-256) and TLS settings
// as cashlessd, which answers the bytes in dir/body.json after the same
// constant-time key check (of the key in dir/key), and nothing else.
func serveBaseline(ctx context.Context, dir string, out io.Writer) error {
	files, err := certs.EnsureDev(filepath.Join(dir, "certs"), nil, time.Now())
	if err != nil {
		return err
	}
	tlsConfig, err := certs.ServerConfig(files)
	if err != nil {
		return err
	}
	body, err := os.ReadFile(filepath.Join(dir, "body.json"))
	if err != nil {
		return err
	}
	key, err := os.ReadFile(filepath.Join(dir, "key"))
	if err != nil {
		return err
	}
	want := sha256.Sum256(key)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		got := sha256.Sum256([]byte(r.Header.Get("X-VINR-Cashless-Key")))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, TLSConfig: tlsConfig, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	fmt.Fprintf(out, "ready %s\n", ln.Addr())
	if err := srv.ServeTLS(ln, "", ""); err != nil && err != http.ErrServerClosed {
		return err
	}
	return nil
}
