// Package logging is where the daemon's JSON log lines go — stderr, a
// size-capped rotating file, or both — and the logger that writes them.
package logging

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/rs/zerolog"
	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/vinr/cashlessd/daemon/config"
)

// Open is where serve's JSON log lines go: stderr, a size-capped
// rotating file, or both ([log] file, max_size_mb, max_backups,
// max_age_days, compress, stderr). At most (1 + max_backups) × max_size_mb
// of logs stay on the terminal's flash. close flushes and closes the file.
func Open(cfg config.Config, stderr io.Writer) (out io.Writer, close func(), err error) {
	if cfg.Log.File == "" {
		return stderr, func() {}, nil
	}
	path := FilePath(cfg)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, fmt.Errorf("log.file: %w", err)
	}
	// Open it now, so a path the daemon cannot write fails at start and
	// not silently at the first line.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("log.file: %w", err)
	}
	_ = f.Close()
	lj := &lumberjack.Logger{
		Filename:   path,
		MaxSize:    cfg.Log.MaxSizeMB,
		MaxBackups: cfg.Log.MaxBackups,
		MaxAge:     cfg.Log.MaxAgeDays,
		Compress:   cfg.Log.Compress,
	}
	if cfg.LogToStderr() {
		return teeWriter{file: lj, also: stderr}, func() { _ = lj.Close() }, nil
	}
	return lj, func() { _ = lj.Close() }, nil
}

// FilePath resolves log.file: a relative path is inside data_dir.
func FilePath(cfg config.Config) string {
	if filepath.IsAbs(cfg.Log.File) {
		return cfg.Log.File
	}
	return filepath.Join(cfg.DataDir, cfg.Log.File)
}

// teeWriter writes each line to the file and to stderr; a stderr nobody
// reads (closed by the service manager) does not stop the file.
type teeWriter struct {
	file io.Writer
	also io.Writer
}

func (t teeWriter) Write(p []byte) (int, error) {
	n, err := t.file.Write(p)
	_, _ = t.also.Write(p)
	return n, err
}

// New makes the JSON logger at the configured level (info when unset or
// unknown).
func New(w io.Writer, level string) zerolog.Logger {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		lvl = zerolog.InfoLevel
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger()
}
