// Package store keeps cashlessd's state in one bbolt file: transactions by
// ID with an index by reference, the pending and reversal queues, batches,
// the hashed shared key and counters. Every write is one bbolt transaction,
// committed (fsync) before the call returns.
package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/vinr/cashlessd/daemon"
)

// FileName is the database's name inside the data directory.
const FileName = "cashless.db"

// Bucket and key names.
var (
	bucketTransactions = []byte("transactions")
	bucketRefs         = []byte("refs")
	bucketPending      = []byte("pending")
	bucketReversals    = []byte("reversals")
	bucketAdvices      = []byte("advices")
	bucketBatches      = []byte("batches")
	bucketBatchRefs    = []byte("batch_refs")
	bucketBatchMembers = []byte("batch_members")
	bucketMeta         = []byte("meta")
	bucketCounters     = []byte("counters")

	keyOpenBatch   = []byte("open_batch")
	keySettling    = []byte("settling_batch")
	keyLastTx      = []byte("last_tx")
	keyLastReceipt = []byte("last_receipt")
	keyKeyHash     = []byte("key_hash")
	keySchema      = []byte("schema")
)

// schemaVersion is the layout version written at creation: 2 since
// transaction records are binary with their receipts kept as their source
// (record.go, txrecord.go); Open migrates a database of schema 1
// (migrate.go).
const schemaVersion = 2

// allBuckets are the top-level buckets Open creates.
var allBuckets = [][]byte{bucketTransactions, bucketRefs, bucketPending, bucketReversals, bucketAdvices, bucketBatches,
	bucketBatchRefs, bucketBatchMembers, bucketMeta, bucketCounters}

// ErrLocked means another process (usually the running daemon) holds the
// database.
var ErrLocked = errors.New("database is in use by another process")

// ErrReadOnly is what every write returns when the data directory's file
// system is read-only: the database was opened read-only, so replays,
// receipts and status still answer while new work is refused.
var ErrReadOnly = errors.New("the data directory's file system is read-only")

// DB is the bbolt-backed store. It implements daemon.Store and
// daemon.KeyStore.
type DB struct {
	db       *bolt.DB
	dir      string
	readOnly bool
	commits  atomic.Uint64
	// status is the store's part of status as read after the last
	// commit (see StatusSummary).
	status atomic.Pointer[statusEntry]
	// layouts caches the receipt layouts records refer to.
	layouts layouts
}

// ReadOnly reports whether the database was opened read-only because its
// file system is: every write then fails with ErrReadOnly.
func (s *DB) ReadOnly() bool { return s.readOnly }

// update runs fn in one read-write bbolt transaction and counts the commit.
func (s *DB) update(fn func(*bolt.Tx) error) error {
	if s.readOnly {
		return ErrReadOnly
	}
	err := s.db.Update(fn)
	if err == nil {
		s.commits.Add(1)
	}
	return err
}

// Commits is the number of read-write transactions committed since Open.
func (s *DB) Commits() uint64 { return s.commits.Load() }

// Open opens (creating when absent) the database in dir. The directory is
// made 0700 and the file 0600. A file that is not a valid database is
// reported and left untouched.
func Open(dir string, lockTimeout time.Duration) (db *DB, err error) {
	// bbolt panics on some kinds of damage (a broken freelist or branch
	// page) instead of returning an error: report that as damage too. The
	// file is opened, never rewritten, before the check.
	defer func() {
		if r := recover(); r != nil {
			db = nil
			err = fmt.Errorf("cannot open database %s (it is damaged and left untouched; move it aside or restore a backup): %v",
				filepath.Join(dir, FileName), r)
		}
	}()
	return open(dir, lockTimeout)
}

func open(dir string, lockTimeout time.Duration) (*DB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	// A read-only file system (flash the kernel remounted read-only
	// after errors, or a mount a technician got wrong) opens the
	// existing database read-only.
	readOnly := false
	if err := os.Chmod(dir, 0o700); errors.Is(err, syscall.EROFS) {
		readOnly = true
	} else if err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	path := filepath.Join(dir, FileName)
	if lockTimeout <= 0 {
		lockTimeout = time.Second
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout, ReadOnly: readOnly})
	if errors.Is(err, syscall.EROFS) && !readOnly {
		readOnly = true
		db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout, ReadOnly: true})
	}
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("%s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot open database %s (it is left untouched; move it aside or restore a backup): %w", path, err)
	}
	if readOnly {
		return openedReadOnly(db, path)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		_ = db.Close()
		return nil, err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range append(allBuckets, bucketLayouts) {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		if v := meta.Get(keySchema); v == nil {
			if err := meta.Put(keySchema, u64(schemaVersion)); err != nil {
				return err
			}
		} else if binary.BigEndian.Uint64(v) > schemaVersion {
			return fmt.Errorf("database schema %d is newer than this cashlessd (%d)", binary.BigEndian.Uint64(v), schemaVersion)
		}
		return indexAttempts(tx)
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("cannot initialise database %s: %w", path, err)
	}
	s := &DB{db: db, dir: dir}
	if err := s.migrate(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("cannot migrate database %s: %w", path, err)
	}
	return s, nil
}

// openedReadOnly checks a database opened read-only: every bucket is there
// (it cannot be created) and the schema is not newer than this build.
func openedReadOnly(db *bolt.DB, path string) (*DB, error) {
	err := db.View(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if tx.Bucket(name) == nil {
				return fmt.Errorf("bucket %q is missing and cannot be created", name)
			}
		}
		if v := tx.Bucket(bucketMeta).Get(keySchema); v != nil && binary.BigEndian.Uint64(v) > schemaVersion {
			return fmt.Errorf("database schema %d is newer than this cashlessd (%d)", binary.BigEndian.Uint64(v), schemaVersion)
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("cannot open database %s on a read-only file system: %w", path, err)
	}
	return &DB{db: db, dir: filepath.Dir(path), readOnly: true}, nil
}

// Close closes the database.
func (s *DB) Close() error { return s.db.Close() }

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

func refKey(kind daemon.Kind, ref string) []byte {
	return []byte(string(kind) + "\x00" + ref)
}

func getJSON(b *bolt.Bucket, key []byte, v any) error {
	raw := b.Get(key)
	if raw == nil {
		return daemon.ErrNotFound
	}
	return json.Unmarshal(raw, v)
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, raw)
}

// KeyHash returns the stored hash of the shared key, or nil when none was
// ever set.
func (s *DB) KeyHash() ([]byte, error) {
	var h []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keyKeyHash); v != nil {
			h = append([]byte(nil), v...)
		}
		return nil
	})
	return h, err
}

// SetKeyHash replaces the stored key hash.
func (s *DB) SetKeyHash(hash []byte) error {
	return s.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyKeyHash, hash)
	})
}

// Next increments and returns a named counter (STAN, batch number); it
// wraps from max back to 1.
func (s *DB) Next(name string, max uint32) (uint32, error) {
	var n uint32
	err := s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCounters)
		if v := b.Get([]byte(name)); v != nil {
			n = uint32(binary.BigEndian.Uint64(v))
		}
		n++
		if max > 0 && n > max {
			n = 1
		}
		return b.Put([]byte(name), u64(uint64(n)))
	})
	return n, err
}

// Advance moves a named counter forward by n in one commit and returns its
// new value; when that would pass max it restarts the block at n.
func (s *DB) Advance(name string, n, max uint32) (uint32, error) {
	var v uint32
	err := s.update(func(tx *bolt.Tx) error {
		var err error
		v, err = advanceValue(tx, name, n, max)
		return err
	})
	return v, err
}

// advance moves a counter inside a bbolt transaction.
func advance(tx *bolt.Tx, name string, n, max uint32) error {
	_, err := advanceValue(tx, name, n, max)
	return err
}

func advanceValue(tx *bolt.Tx, name string, n, max uint32) (uint32, error) {
	b := tx.Bucket(bucketCounters)
	var v uint32
	if raw := b.Get([]byte(name)); raw != nil {
		v = uint32(binary.BigEndian.Uint64(raw))
	}
	v += n
	if max > 0 && v > max {
		v = n
	}
	return v, b.Put([]byte(name), u64(uint64(v)))
}

// Counter reads a named counter without changing it.
func (s *DB) Counter(name string) (uint32, error) {
	var n uint32
	err := s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketCounters).Get([]byte(name)); v != nil {
			n = uint32(binary.BigEndian.Uint64(v))
		}
		return nil
	})
	return n, err
}
