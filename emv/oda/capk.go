package oda

import (
	"bytes"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// CAPK is a certification authority public key (EMV Book 2, 11.2): the
// payment system's key that certifies issuer keys, known by its RID (the
// first five bytes of the AID) and index (tag 8F on the card).
type CAPK struct {
	RID   []byte
	Index byte
	PublicKey
	// Expiry is the last day the key may be used.
	Expiry time.Time
	// Checksum is SHA-1 over RID, index, modulus and exponent, as the
	// payment system publishes it with the key.
	Checksum []byte
	// Test marks the simulator's test keys, which a production terminal
	// must never load.
	Test bool
}

// Check verifies the key's sizes and its checksum.
func (k CAPK) Check() error {
	if len(k.RID) != 5 {
		return fmt.Errorf("oda: CAPK RID of %d bytes", len(k.RID))
	}
	if err := k.check(); err != nil {
		return fmt.Errorf("oda: CAPK %X/%02X: %w", k.RID, k.Index, err)
	}
	if k.Expiry.IsZero() {
		return fmt.Errorf("oda: CAPK %X/%02X: no expiry date", k.RID, k.Index)
	}
	sum := capkChecksum(k.RID, k.Index, k.PublicKey)
	if subtle.ConstantTimeCompare(sum, k.Checksum) != 1 {
		return fmt.Errorf("oda: CAPK %X/%02X: checksum %X, computed %X", k.RID, k.Index, k.Checksum, sum)
	}
	return nil
}

func capkChecksum(rid []byte, index byte, k PublicKey) []byte {
	h := sha1.New()
	h.Write(rid)
	h.Write([]byte{index})
	h.Write(k.Modulus)
	h.Write(k.Exponent)
	return h.Sum(nil)
}

// NewCAPK builds a CAPK and computes its checksum (for keys a test
// makes; published keys come with their checksum, which Check verifies).
func NewCAPK(rid []byte, index byte, key PublicKey, expiry time.Time) CAPK {
	return CAPK{RID: bytes.Clone(rid), Index: index, PublicKey: key, Expiry: expiry,
		Checksum: capkChecksum(rid, index, key)}
}

// Keys is the terminal's CA public key table. It is read-only once made
// and safe for concurrent use.
type Keys struct {
	byID map[[6]byte]CAPK
}

// NewKeys checks every key and builds the table; a RID and index given
// twice is an error.
func NewKeys(list []CAPK) (*Keys, error) {
	k := &Keys{byID: make(map[[6]byte]CAPK, len(list))}
	var errs []error
	for _, c := range list {
		if err := c.Check(); err != nil {
			errs = append(errs, err)
			continue
		}
		id := keyID(c.RID, c.Index)
		if _, dup := k.byID[id]; dup {
			errs = append(errs, fmt.Errorf("oda: CAPK %X/%02X given twice", c.RID, c.Index))
			continue
		}
		k.byID[id] = c
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return k, nil
}

func keyID(rid []byte, index byte) [6]byte {
	var id [6]byte
	copy(id[:5], rid)
	id[5] = index
	return id
}

// Len is the number of keys in the table.
func (k *Keys) Len() int {
	if k == nil {
		return 0
	}
	return len(k.byID)
}

// Find returns the key with a RID and index that may be used on a day:
// ErrKeyMissing when there is none, ErrKeyExpired when it expired before
// that day.
func (k *Keys) Find(rid []byte, index byte, day time.Time) (PublicKey, error) {
	if k == nil || len(rid) != 5 {
		return PublicKey{}, fmt.Errorf("%w: RID %X index %02X", ErrKeyMissing, rid, index)
	}
	c, ok := k.byID[keyID(rid, index)]
	if !ok {
		return PublicKey{}, fmt.Errorf("%w: RID %X index %02X", ErrKeyMissing, rid, index)
	}
	y, m, d := day.Date()
	if time.Date(y, m, d, 0, 0, 0, 0, time.UTC).After(c.Expiry) {
		return PublicKey{}, fmt.Errorf("%w: RID %X index %02X on %s", ErrKeyExpired, rid, index, c.Expiry.Format(time.DateOnly))
	}
	return c.PublicKey, nil
}

// HasTestKeys reports whether any key of the table is a test key.
func (k *Keys) HasTestKeys() bool {
	if k == nil {
		return false
	}
	for _, c := range k.byID {
		if c.Test {
			return true
		}
	}
	return false
}

// capkFile is the CAPK file's JSON (docs/emv.md, "CA public keys").
type capkFile struct {
	Keys []capkEntry `json:"keys"`
}

type capkEntry struct {
	RID      string `json:"rid"`
	Index    string `json:"index"`
	Modulus  string `json:"modulus"`
	Exponent string `json:"exponent"`
	Expiry   string `json:"expiry"`
	Checksum string `json:"checksum"`
	Test     bool   `json:"test,omitempty"`
	Comment  string `json:"comment,omitempty"`
}

// ParseCAPKFile reads a CAPK file: JSON with a list "keys" whose entries
// have rid (10 hex digits), index (2), modulus, exponent (hex), expiry
// (YYYY-MM-DD, the last day of use), checksum (40 hex digits, SHA-1 over
// RID, index, modulus and exponent) and optionally test and comment.
// Spaces in hex are ignored. Every key is checked (sizes, checksum).
func ParseCAPKFile(b []byte) ([]CAPK, error) {
	var f capkFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("oda: CAPK file: %w", err)
	}
	var errs []error
	out := make([]CAPK, 0, len(f.Keys))
	for i, e := range f.Keys {
		c, err := e.capk()
		if err == nil {
			err = c.Check()
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("key %d: %w", i+1, err))
			continue
		}
		out = append(out, c)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("oda: CAPK file: %w", err)
	}
	return out, nil
}

// LoadCAPKFile reads and checks a CAPK file.
func LoadCAPKFile(path string) ([]CAPK, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	keys, err := ParseCAPKFile(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return keys, nil
}

func (e capkEntry) capk() (CAPK, error) {
	var errs []error
	field := func(name, v string, n int) []byte {
		b, err := hex.DecodeString(strings.ReplaceAll(v, " ", ""))
		if err != nil || (n > 0 && len(b) != n) || len(b) == 0 {
			errs = append(errs, fmt.Errorf("%s %q", name, v))
		}
		return b
	}
	c := CAPK{RID: field("rid", e.RID, 5), Test: e.Test}
	if idx := field("index", e.Index, 1); len(idx) == 1 {
		c.Index = idx[0]
	}
	c.Modulus = field("modulus", e.Modulus, 0)
	c.Exponent = field("exponent", e.Exponent, 0)
	c.Checksum = field("checksum", e.Checksum, sha1.Size)
	exp, err := time.Parse(time.DateOnly, e.Expiry)
	if err != nil {
		errs = append(errs, fmt.Errorf("expiry %q: want YYYY-MM-DD", e.Expiry))
	}
	c.Expiry = exp
	return c, errors.Join(errs...)
}

// MarshalCAPKFile writes keys in the CAPK file format.
func MarshalCAPKFile(keys []CAPK) ([]byte, error) {
	f := capkFile{Keys: make([]capkEntry, len(keys))}
	up := func(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }
	for i, k := range keys {
		f.Keys[i] = capkEntry{RID: up(k.RID), Index: up([]byte{k.Index}), Modulus: up(k.Modulus),
			Exponent: up(k.Exponent), Expiry: k.Expiry.Format(time.DateOnly), Checksum: up(k.Checksum), Test: k.Test}
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
