// Package store keeps all of the relay's state in NATS JetStream: key-value
// buckets for accounts, POS credentials, sessions, bind keys, bindings,
// prebind lists, transfers and login failures, and streams for the
// terminals' outcomes and the audit log. Relay processes keep nothing of
// their own, so any number of them can share one NATS cluster.
package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Errors of the store.
var (
	// ErrNotFound is a key that holds nothing.
	ErrNotFound = errors.New("not found")
	// ErrExists is a create of a key that already holds a value.
	ErrExists = errors.New("already exists")
	// ErrConflict is an update that lost a race with another writer.
	ErrConflict = errors.New("changed meanwhile")
)

// Names of the buckets and streams.
const (
	BucketAccounts  = "cashless_accounts"
	BucketPOS       = "cashless_pos"
	BucketSessions  = "cashless_sessions"
	BucketBindKeys  = "cashless_bindkeys"
	BucketBindings  = "cashless_bindings"
	BucketPrebind   = "cashless_prebind"
	BucketTransfers = "cashless_transfers"
	BucketLogins    = "cashless_logins"
	StreamOutcomes  = "CASHLESS_OUTCOMES"
	StreamAudit     = "CASHLESS_AUDIT"
	// AuditPrefix starts the subject of every audit record.
	AuditPrefix = "cashless.audit"
)

// Store is the relay state in JetStream.
type Store struct {
	js jetstream.JetStream

	accounts, pos, sessions, bindKeys, bindings, prebind, transfers, logins jetstream.KeyValue
}

// Options size the buckets.
type Options struct {
	// Replicas is the number of copies JetStream keeps (1, or 3 on a
	// 3-node cluster).
	Replicas int
	// Existing opens the buckets a relay made, changing nothing (the
	// admin commands).
	Existing bool
}

// Open creates or updates the buckets and streams and returns the store.
func Open(ctx context.Context, nc *nats.Conn, o Options) (*Store, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	if o.Replicas < 1 {
		o.Replicas = 1
	}
	s := &Store{js: js}
	buckets := []struct {
		kv     *jetstream.KeyValue
		name   string
		maxAge time.Duration
	}{
		{&s.accounts, BucketAccounts, 0},
		{&s.pos, BucketPOS, 0},
		{&s.sessions, BucketSessions, 48 * time.Hour},
		{&s.bindKeys, BucketBindKeys, 10 * 24 * time.Hour},
		{&s.bindings, BucketBindings, 0},
		{&s.prebind, BucketPrebind, 0},
		{&s.transfers, BucketTransfers, 30 * 24 * time.Hour},
		{&s.logins, BucketLogins, 24 * time.Hour},
	}
	for _, b := range buckets {
		kv, err := js.KeyValue(ctx, b.name)
		if errors.Is(err, jetstream.ErrBucketNotFound) && !o.Existing {
			// Create only what is missing: relays starting together on a
			// cluster must not update a stream another one is creating.
			kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
				Bucket: b.name, History: 1, TTL: b.maxAge, Replicas: o.Replicas, Storage: jetstream.FileStorage,
			})
			if errors.Is(err, jetstream.ErrBucketExists) || errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
				kv, err = js.KeyValue(ctx, b.name)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("bucket %s: %w", b.name, err)
		}
		*b.kv = kv
	}
	streams := []jetstream.StreamConfig{
		{Name: StreamOutcomes, Subjects: []string{"cashless.t.*.outcome"}, MaxAge: 30 * 24 * time.Hour,
			Replicas: o.Replicas, Storage: jetstream.FileStorage, Duplicates: 10 * time.Minute},
		{Name: StreamAudit, Subjects: []string{AuditPrefix + ".>"}, MaxAge: 400 * 24 * time.Hour,
			Replicas: o.Replicas, Storage: jetstream.FileStorage},
	}
	for _, c := range streams {
		if o.Existing {
			break
		}
		_, err := js.Stream(ctx, c.Name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			_, err = js.CreateStream(ctx, c)
			if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
				err = nil
			}
		}
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", c.Name, err)
		}
	}
	return s, nil
}

// JetStream is the store's JetStream context (the outcome consumer uses it).
func (s *Store) JetStream() jetstream.JetStream { return s.js }

// Key turns any identifier into a valid key: unpadded base64url.
func Key(parts ...string) string {
	var b []byte
	for i, p := range parts {
		if i > 0 {
			b = append(b, 0)
		}
		b = append(b, p...)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func get[T any](ctx context.Context, kv jetstream.KeyValue, key string) (T, uint64, error) {
	var v T
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return v, 0, ErrNotFound
	}
	if err != nil {
		return v, 0, err
	}
	if err := json.Unmarshal(e.Value(), &v); err != nil {
		return v, 0, fmt.Errorf("%s %q: %w", kv.Bucket(), key, err)
	}
	return v, e.Revision(), nil
}

func put(ctx context.Context, kv jetstream.KeyValue, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = kv.Put(ctx, key, b)
	return err
}

func create(ctx context.Context, kv jetstream.KeyValue, key string, v any) (uint64, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return 0, err
	}
	rev, err := kv.Create(ctx, key, b)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return 0, ErrExists
	}
	return rev, err
}

func update(ctx context.Context, kv jetstream.KeyValue, key string, v any, rev uint64) (uint64, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return 0, err
	}
	n, err := kv.Update(ctx, key, b, rev)
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
		return 0, ErrConflict
	}
	if errors.Is(err, jetstream.ErrKeyExists) {
		return 0, ErrConflict
	}
	return n, err
}

func del(ctx context.Context, kv jetstream.KeyValue, key string) error {
	err := kv.Delete(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	return err
}

func listPrefix[T any](ctx context.Context, kv jetstream.KeyValue, prefix string) ([]T, error) {
	lister, err := kv.ListKeysFiltered(ctx, prefix+">")
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []T
	for k := range lister.Keys() {
		v, _, err := get[T](ctx, kv, k)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
