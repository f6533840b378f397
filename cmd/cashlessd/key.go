package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/vinr/cashlessd/daemon/admin"
	"github.com/vinr/cashlessd/daemon/auth"
	"github.com/vinr/cashlessd/daemon/config"
	"github.com/vinr/cashlessd/daemon/store"
)

// keyRotate prints a new shared key once. A running daemon is asked over
// its admin socket (it holds the database lock) and stops accepting the old
// key at once; otherwise the database is updated directly.
func (m *Main) keyRotate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("key rotate", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	dataDir := fs.String("data-dir", "", "data directory (default: the config's, or /var/lib/cashlessd)")
	file := fs.String("config", "", "TOML configuration file")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	cfg, err := config.Load(*file)
	if err != nil {
		return err
	}
	if *dataDir != "" {
		cfg.DataDir = *dataDir
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	key, err := admin.RotateKey(ctx, cfg.DataDir)
	if errors.Is(err, admin.ErrNotRunning) {
		key, err = rotateOffline(cfg.DataDir)
	}
	if err != nil {
		return fmt.Errorf("key rotate: %w", err)
	}
	fmt.Fprintln(m.Stdout, key)
	fmt.Fprintln(m.Stderr, "New shared key printed above; it is not shown again. The previous key no longer works.")
	return nil
}

func rotateOffline(dataDir string) (string, error) {
	db, err := store.Open(dataDir, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer db.Close()
	keys, err := auth.New(db, false)
	if err != nil {
		return "", err
	}
	return keys.Rotate()
}
