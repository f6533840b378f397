// Package audit is the terminal's audit log: who did what, one JSON line
// per event (pairing codes made and used, ECRs paired, revoked, re-scoped
// and rotated, and every transaction call with the ecrId that made it), in
// an append-only file in the data directory that rotates by size and keeps
// a bounded number of old files. It never holds a key, a pairing code, a
// signature or card data: callers give it identifiers and outcomes only.
package audit

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"
	"gopkg.in/natefinch/lumberjack.v2"
)

// FileName is the audit log's name inside the data directory.
const FileName = "audit.log"

// Rotation bounds: at most (1 + maxBackups) × maxSizeMB on the flash.
const (
	maxSizeMB  = 5
	maxBackups = 5
)

// Log is the audit log. A nil *Log records nothing.
type Log struct {
	file *lumberjack.Logger
	log  zerolog.Logger
}

// Open opens (creating, mode 0600) the audit log in dataDir for
// appending.
func Open(dataDir string) (*Log, error) {
	path := filepath.Join(dataDir, FileName)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	_ = f.Close()
	lj := &lumberjack.Logger{Filename: path, MaxSize: maxSizeMB, MaxBackups: maxBackups}
	return &Log{file: lj, log: zerolog.New(lj).With().Logger()}, nil
}

// Close flushes and closes the file.
func (l *Log) Close() error {
	if l == nil {
		return nil
	}
	return l.file.Close()
}

// Entry is one audit line being built: Record starts it, Send writes it.
type Entry struct{ ev *zerolog.Event }

// Record starts the line of one event ("ecr_paired", "request", …) at the
// time now, made by ecrID ("" when the technician made it on the
// terminal).
func (l *Log) Record(event, ecrID string) Entry {
	if l == nil {
		return Entry{}
	}
	ev := l.log.Log().Time("at", time.Now().UTC()).Str("event", event)
	if ecrID != "" {
		ev = ev.Str("ecrId", ecrID)
	}
	return Entry{ev: ev}
}

// Str adds a field.
func (e Entry) Str(key, value string) Entry {
	if e.ev != nil && value != "" {
		e.ev = e.ev.Str(key, value)
	}
	return e
}

// Int adds a number.
func (e Entry) Int(key string, value int) Entry {
	if e.ev != nil {
		e.ev = e.ev.Int(key, value)
	}
	return e
}

// Strs adds a list.
func (e Entry) Strs(key string, values []string) Entry {
	if e.ev != nil {
		e.ev = e.ev.Strs(key, values)
	}
	return e
}

// Send writes the line.
func (e Entry) Send() {
	if e.ev != nil {
		e.ev.Send()
	}
}
