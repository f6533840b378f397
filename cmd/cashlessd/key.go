package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/vinr/cashlessd/daemon/admin"
	"github.com/vinr/cashlessd/daemon/auth"
	"github.com/vinr/cashlessd/daemon/config"
	"github.com/vinr/cashlessd/daemon/logging"
	"github.com/vinr/cashlessd/daemon/store"
)

// terminalFlags are the flags that name the terminal a technician command
// changes.
type terminalFlags struct {
	file, dataDir *string
}

func addTerminalFlags(fs *flag.FlagSet) terminalFlags {
	return terminalFlags{
		file:    fs.String("config", "", "the terminal's TOML configuration file (its data_dir is used)"),
		dataDir: fs.String("data-dir", "", "the terminal's data directory (overrides the config's)"),
	}
}

// load is the configuration of the terminal the command changes. It is
// never guessed: without --config or --data-dir the command refuses, and
// a data directory that does not exist is not made.
func (t terminalFlags) load(command string) (config.Config, error) {
	if *t.file == "" && *t.dataDir == "" {
		return config.Config{}, usageError{fmt.Sprintf("%s: say which terminal: --config FILE or --data-dir DIR "+
			"(nothing changed)\nusage: cashlessd %s", command, synopsis(command))}
	}
	cfg, err := config.Load(*t.file)
	if err != nil {
		return cfg, err
	}
	if *t.dataDir != "" {
		cfg.DataDir = *t.dataDir
	}
	if st, err := os.Stat(cfg.DataDir); err != nil || !st.IsDir() {
		return cfg, fmt.Errorf("%s: data directory %s does not exist (nothing changed): is it the terminal's data_dir? "+
			"`cashlessd serve` makes it at first start", command, cfg.DataDir)
	}
	return cfg, nil
}

// keyRotate prints a new shared key once. A running daemon is asked over
// its admin socket (it holds the database lock) and stops accepting the old
// key at once; otherwise the database is updated directly. Either way the
// rotation is logged where the daemon logs (never the key), and stderr
// says which database changed.
func (m *Main) keyRotate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("key rotate", flag.ContinueOnError)
	terminal := addTerminalFlags(fs)
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := terminal.load("key rotate")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	r, err := admin.RotateKey(ctx, cfg.DataDir)
	via := "the running daemon"
	if errors.Is(err, admin.ErrNotRunning) {
		via = "no daemon running"
		r, err = m.rotateOffline(cfg)
	}
	if err != nil {
		return fmt.Errorf("key rotate: %w", err)
	}
	fmt.Fprintln(m.Stdout, r.Key)
	fmt.Fprintf(m.Stderr, "New shared key printed above; it is not shown again. The previous key no longer works.\n"+
		"Changed: %s (%s).\n", r.Database, via)
	switch {
	case r.Simulator:
		fmt.Fprintf(m.Stderr, "Simulator mode: %s stays valid as well.\n", auth.SimulatorKey)
	case via != "the running daemon":
		fmt.Fprintf(m.Stderr, "If this terminal runs in simulator mode (serve --simulator), %s stays valid as well.\n", auth.SimulatorKey)
	}
	return nil
}

// rotateOffline changes the key in the database of a stopped daemon and
// writes the rotation's log line where the daemon's log goes.
func (m *Main) rotateOffline(cfg config.Config) (admin.Rotation, error) {
	db, err := store.Open(cfg.DataDir, 2*time.Second)
	if err != nil {
		return admin.Rotation{}, err
	}
	defer db.Close()
	keys, err := auth.New(db, cfg.Simulator)
	if err != nil {
		return admin.Rotation{}, err
	}
	key, err := keys.Rotate()
	if err != nil {
		return admin.Rotation{}, err
	}
	r := admin.Rotation{Key: key, Database: filepath.Join(cfg.DataDir, store.FileName), Simulator: cfg.Simulator}
	out, closeLog, err := logging.Open(cfg, m.Stderr)
	if err != nil {
		fmt.Fprintf(m.Stderr, "The rotation could not be logged: %v\n", err)
		return r, nil
	}
	defer closeLog()
	admin.LogRotation(logging.New(out, cfg.Log.Level).With().Str("terminalId", cfg.TerminalID).Logger(), r, admin.ViaOffline)
	return r, nil
}
