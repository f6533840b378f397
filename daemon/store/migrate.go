package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/vinr/cashlessd/daemon"
)

// migrateChunk is how many records one commit of the migration converts:
// a bounded transaction, whatever the history.
const migrateChunk = 2000

// maxLayoutHints is how many receipt layouts the migration tries before
// reading one from a receipt.
const maxLayoutHints = 8

// migrate brings a database written by an older release to this schema:
// schema 1 kept transaction records as JSON with both receipt documents;
// they become binary records (record.go) whose receipts are kept as the
// source that lays the very same documents out again, when one is found
// (else the documents are kept). It converts a chunk of records per
// commit and records the new schema in the last one; a migration cut
// short goes on at the next start (both formats are read meanwhile).
func (s *DB) migrate() error {
	var schema uint64
	if err := s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keySchema); len(v) == 8 {
			schema = binary.BigEndian.Uint64(v)
		}
		return nil
	}); err != nil {
		return err
	}
	if schema >= schemaVersion {
		return nil
	}
	var hints []daemon.ReceiptLayout
	var after []byte
	for done := false; !done; {
		err := s.db.Update(func(tx *bolt.Tx) error {
			type record struct{ key, value []byte }
			var chunk []record
			c := txBucket(tx).Cursor()
			k, v := c.First()
			if after != nil {
				k, v = c.Seek(after)
				if bytes.Equal(k, after) {
					k, v = c.Next()
				}
			}
			for ; k != nil && len(chunk) < migrateChunk; k, v = c.Next() {
				after = bytes.Clone(k)
				if len(v) > 0 && v[0] != recordFormat {
					chunk = append(chunk, record{bytes.Clone(k), bytes.Clone(v)})
				}
			}
			done = k == nil
			for _, r := range chunk {
				var t daemon.Transaction
				if err := json.Unmarshal(r.value, &t); err != nil {
					return fmt.Errorf("transaction %s: %w", r.key, err)
				}
				if string(r.key) != t.ID {
					return fmt.Errorf("transaction %s: the record is of %s", r.key, t.ID)
				}
				hints = findSource(&t, hints)
				if err := s.putTx(tx, &t); err != nil {
					return err
				}
			}
			if done {
				return tx.Bucket(bucketMeta).Put(keySchema, u64(schemaVersion))
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("migrating the records to schema %d: %w", schemaVersion, err)
		}
	}
	return nil
}

// findSource gives receipts read from a JSON record (which hold their
// documents) the source that lays both documents out again exactly, if
// one is found: a layout that fitted an earlier record (hints, most
// recent first), or the one the merchant copy shows. It returns the
// hints for the next record.
func findSource(t *daemon.Transaction, hints []daemon.ReceiptLayout) []daemon.ReceiptLayout {
	r := t.Receipts
	if r == nil || r.Source != nil || r.MerchantDocument == nil || r.CustomerDocument == nil {
		return hints
	}
	candidates := hints
	if l, ok := layoutShown(r.MerchantDocument, receiptTime(t)); ok {
		candidates = append(slices.Clip(candidates), l)
	}
	// A voided transaction's receipt was laid out when it was approved;
	// a pre-auth's expiry may have moved since (the receipt shows it).
	statuses := []daemon.Status{t.Status}
	if t.Status == daemon.StatusVoided {
		statuses = append(statuses, daemon.StatusApproved)
	}
	for i, l := range candidates {
		expiries := []time.Time{t.ExpiresAt}
		if at, ok := expiryShown(r.MerchantDocument, l.Location); ok && !at.Equal(t.ExpiresAt) {
			expiries = append(expiries, at)
		}
		for _, status := range statuses {
			for _, exp := range expiries {
				src := &daemon.ReceiptSource{Version: daemon.ReceiptLayoutVersion, Layout: l, Status: status, ExpiresAt: exp}
				again, err := daemon.RenderReceipts(t, src)
				if err != nil || !sameDocument(again.MerchantDocument, r.MerchantDocument) ||
					!sameDocument(again.CustomerDocument, r.CustomerDocument) || again.SignatureRequired != r.SignatureRequired {
					continue
				}
				r.Source = src
				hints = append([]daemon.ReceiptLayout{l}, slices.Delete(slices.Clone(candidates), i, i+1)...)
				return hints[:min(len(hints), maxLayoutHints)]
			}
		}
	}
	return hints
}

// layoutShown reads the receipt layout a merchant copy was laid out with
// from its header (name, address, MID, TID, the local time of at and
// its zone) and its width and QR code. What it reads is only a
// candidate: findSource keeps it only when it lays the documents out
// again exactly.
func layoutShown(d *daemon.Document, at time.Time) (daemon.ReceiptLayout, bool) {
	l := daemon.ReceiptLayout{Width: d.Width}
	lines := d.Lines
	var name, address []string
	i := 0
	for ; i < len(lines) && lines[i].Bold && !lines[i].Double && lines[i].Align == daemon.AlignCenter; i++ {
		name = append(name, lines[i].Text)
	}
	for ; i < len(lines) && !lines[i].Bold && lines[i].Align == daemon.AlignCenter; i++ {
		address = append(address, lines[i].Text)
	}
	l.Merchant.Name, l.Merchant.Address = strings.Join(name, " "), strings.Join(address, " ")
	pair := func(label string) (string, bool) {
		if i >= len(lines) || !strings.HasPrefix(lines[i].Text, label) {
			return "", false
		}
		if v := strings.TrimSpace(lines[i].Text[len(label):]); v != "" {
			i++
			return v, true
		}
		if i+1 < len(lines) && lines[i+1].Align == daemon.AlignRight {
			i += 2
			return lines[i-1].Text, true
		}
		return "", false
	}
	l.Merchant.ID, _ = pair("MID")
	tid, ok := pair("TID")
	if !ok || i >= len(lines) {
		return l, false
	}
	l.TerminalID = tid
	f := strings.Fields(lines[i].Text)
	if len(f) != 3 {
		return l, false
	}
	wall, err := time.Parse("2006-01-02 15:04:05", f[0]+" "+f[1])
	if err != nil {
		return l, false
	}
	offset := wall.Sub(at.UTC().Truncate(time.Second))
	l.Location = time.FixedZone(f[2], int(offset/time.Second))
	for _, line := range lines {
		l.QR = l.QR || line.QR != ""
	}
	return l, true
}

// expiryShown reads the expiry a pre-auth's receipt shows, in the
// receipt's zone; its seconds are lost, which the receipt does not show.
func expiryShown(d *daemon.Document, loc *time.Location) (time.Time, bool) {
	if loc == nil {
		loc = time.UTC
	}
	for _, line := range d.Lines {
		if v, ok := strings.CutPrefix(line.Text, "EXPIRES"); ok {
			if at, err := time.ParseInLocation("2006-01-02 15:04", strings.TrimSpace(v), loc); err == nil {
				return at.UTC(), true
			}
		}
	}
	return time.Time{}, false
}
