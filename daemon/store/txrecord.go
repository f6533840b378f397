package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/vinr/cashlessd/daemon"
)

// Transaction fields.
const (
	txID                = 1
	txKind              = 2
	txReference         = 3
	txStatus            = 4
	txStage             = 5
	txAmount            = 6
	txTipAmount         = 7
	txCurrency          = 8
	txOriginalID        = 9
	txOriginalReference = 10
	txOriginalKind      = 11
	txCard              = 12
	txAuthCode          = 13
	txHostReference     = 14
	txResponseCode      = 15
	txHostMessage       = 16
	txDeclineCode       = 17
	txDeclineMessage    = 18
	txErrorCode         = 19
	txErrorMessage      = 20
	txStartedAt         = 21
	txCompletedAt       = 22
	txExpiresAt         = 23
	txCompletionID      = 24
	txCapturedAmount    = 25
	txIncrementedAmount = 26
	txHoldEnd           = 27
	txReleasedAt        = 28
	txReleaseID         = 29
	txHeldAmount        = 30
	txRefundedAmount    = 31
	txBatchID           = 32
	txReceipts          = 33
	txPrintReceipt      = 34
	txReceiptPrinted    = 35
	txPrinterError      = 36
	txReversalPending   = 37
	txOffline           = 38
	txAdvicePending     = 39
	txAdviceICC         = 40
	txAdviceRejected    = 41
	txReversalICC       = 42
	txECRID             = 43
)

// CardInfo fields.
const (
	cardMaskedPAN         = 1
	cardScheme            = 2
	cardEntryMethod       = 3
	cardCardholderName    = 4
	cardAID               = 5
	cardApplicationLabel  = 6
	cardTVR               = 7
	cardTSI               = 8
	cardCryptogram        = 9
	cardATC               = 10
	cardSignatureRequired = 11
	cardPINVerified       = 12
)

// HostMessage fields.
const (
	hostMTI              = 1
	hostSTAN             = 2
	hostTransmissionTime = 3
	hostAcquirerID       = 4
	hostForwarderID      = 5
)

// Receipts fields: a receipt laid out again from its source (version,
// layout, and the status and expiry it was laid out with when they
// differ from the record's), or, when that would not give the same
// documents, the documents themselves (or an old record's texts).
const (
	rcSignatureRequired = 1
	rcVersion           = 2
	rcLayout            = 3
	rcStatus            = 4
	rcExpiresAt         = 5
	rcNoExpiry          = 6
	rcMerchantText      = 7
	rcCustomerText      = 8
	rcMerchantDocument  = 9
	rcCustomerDocument  = 10
)

// Document and Line fields.
const (
	docWidth    = 1
	docLine     = 2
	lineText    = 1
	lineAlign   = 2
	lineBold    = 3
	lineDouble  = 4
	lineQR      = 5
	layoutName  = 1
	layoutAddr  = 2
	layoutMID   = 3
	layoutTID   = 4
	layoutZone  = 5
	layoutWidth = 6
	layoutQR    = 7
	// layoutOffset is the zone's offset east of UTC in seconds.
	layoutOffset = 8
)

// bucketLayouts holds the receipt layouts records refer to, by a hash of
// their encoding. It is not among allBuckets: a database of schema 1
// opened read-only has none (and no record refers to one).
var bucketLayouts = []byte("receipt_layouts")

// layouts caches the receipt layouts read from bucketLayouts. Entries
// are keyed by the hash of their content, so one never changes.
type layouts struct {
	mu   sync.RWMutex
	byID map[uint64]daemon.ReceiptLayout
}

// putTx writes a transaction's record.
func (s *DB) putTx(tx *bolt.Tx, t *daemon.Transaction) error {
	raw, err := s.encodeTransaction(tx, t)
	if err != nil {
		return fmt.Errorf("transaction %s: %w", t.ID, err)
	}
	return txBucket(tx).Put([]byte(t.ID), raw)
}

// getTx reads a transaction's record for the store's own use: receipts
// kept as their source are not laid out (writing the record back keeps
// them as they are).
func (s *DB) getTx(tx *bolt.Tx, id []byte, t *daemon.Transaction) error {
	raw := tx.Bucket(bucketTransactions).Get(id)
	if raw == nil {
		return daemon.ErrNotFound
	}
	return s.decodeTransaction(tx, raw, t)
}

// loadTx reads a transaction's record for a caller: with its receipts
// laid out.
func (s *DB) loadTx(tx *bolt.Tx, id []byte, t *daemon.Transaction) error {
	if err := s.getTx(tx, id, t); err != nil {
		return err
	}
	return layOut(t)
}

// decodeRecord reads a record of either format, for a caller.
func (s *DB) decodeRecord(tx *bolt.Tx, raw []byte, t *daemon.Transaction) error {
	if err := s.decodeTransaction(tx, raw, t); err != nil {
		return err
	}
	return layOut(t)
}

// layOut lays out receipts kept as their source.
func layOut(t *daemon.Transaction) error {
	r := t.Receipts
	if r == nil || r.Source == nil || r.MerchantDocument != nil {
		return nil
	}
	out, err := daemon.RenderReceipts(t, r.Source)
	if err != nil {
		return err
	}
	t.Receipts = out
	return nil
}

// txBucket is the transactions bucket, filled densely: records are
// appended in ID (time) order and rarely rewritten once final.
func txBucket(tx *bolt.Tx) *bolt.Bucket {
	b := tx.Bucket(bucketTransactions)
	b.FillPercent = appendFill
	return b
}

// appendFill is how full bbolt fills the pages of buckets whose keys grow
// with time (transactions, batch members): bbolt's default, 0.5, leaves
// half of every page empty there. Buckets keyed by the ECR's references
// keep the default, which suits keys that arrive in any order.
const appendFill = 0.95

// encodeTransaction is a transaction's record.
func (s *DB) encodeTransaction(tx *bolt.Tx, t *daemon.Transaction) ([]byte, error) {
	w := recordWriter{b: make([]byte, 0, 256)}
	w.b = append(w.b, recordFormat)
	w.str(txID, t.ID)
	w.str(txKind, string(t.Kind))
	w.str(txReference, t.Reference)
	w.str(txStatus, string(t.Status))
	w.str(txStage, string(t.Stage))
	w.int(txAmount, t.Amount)
	w.int(txTipAmount, t.TipAmount)
	w.str(txCurrency, t.Currency)
	w.str(txOriginalID, t.OriginalID)
	w.str(txOriginalReference, t.OriginalReference)
	w.str(txOriginalKind, string(t.OriginalKind))
	if c := t.Card; c != nil {
		w.key(txCard, wireBytes)
		w.b = appendBytes(w.b, encodeCard(c))
	}
	w.str(txAuthCode, t.AuthCode)
	w.str(txHostReference, t.HostReference)
	w.str(txResponseCode, t.ResponseCode)
	if m := t.HostMessage; m != nil {
		var h recordWriter
		h.str(hostMTI, m.MTI)
		h.str(hostSTAN, m.STAN)
		h.str(hostTransmissionTime, m.TransmissionTime)
		h.str(hostAcquirerID, m.AcquirerID)
		h.str(hostForwarderID, m.ForwarderID)
		w.key(txHostMessage, wireBytes)
		w.b = appendBytes(w.b, h.b)
	}
	w.str(txDeclineCode, t.DeclineCode)
	w.str(txDeclineMessage, t.DeclineMessage)
	w.str(txErrorCode, t.ErrorCode)
	w.str(txErrorMessage, t.ErrorMessage)
	w.time(txStartedAt, t.StartedAt)
	w.time(txCompletedAt, t.CompletedAt)
	w.time(txExpiresAt, t.ExpiresAt)
	w.time(txReleasedAt, t.ReleasedAt)
	w.str(txCompletionID, t.CompletionID)
	w.int(txCapturedAmount, t.CapturedAmount)
	w.int(txIncrementedAmount, t.IncrementedAmount)
	w.str(txHoldEnd, string(t.HoldEnd))
	w.str(txReleaseID, t.ReleaseID)
	w.int(txHeldAmount, t.HeldAmount)
	w.int(txRefundedAmount, t.RefundedAmount)
	w.str(txBatchID, t.BatchID)
	if t.Receipts != nil {
		r, err := s.encodeReceipts(tx, t)
		if err != nil {
			return nil, err
		}
		w.key(txReceipts, wireBytes)
		w.b = appendBytes(w.b, r)
	}
	w.flag(txPrintReceipt, t.PrintReceipt)
	w.flag(txReceiptPrinted, t.ReceiptPrinted)
	w.str(txPrinterError, t.PrinterError)
	w.flag(txReversalPending, t.ReversalPending)
	w.flag(txOffline, t.Offline)
	w.flag(txAdvicePending, t.AdvicePending)
	w.bytes(txAdviceICC, t.AdviceICC)
	w.flag(txAdviceRejected, t.AdviceRejected)
	w.bytes(txReversalICC, t.ReversalICC)
	w.str(txECRID, t.ECRID)
	return w.b, nil
}

// appendBytes appends a length and the bytes, empty ones included: a
// nested message that is there but empty (a card without data) is kept.
func appendBytes(b, v []byte) []byte {
	return append(binary.AppendUvarint(b, uint64(len(v))), v...)
}

func encodeCard(c *daemon.CardInfo) []byte {
	var w recordWriter
	w.str(cardMaskedPAN, c.MaskedPAN)
	w.str(cardScheme, c.Scheme)
	w.str(cardEntryMethod, c.EntryMethod)
	w.str(cardCardholderName, c.CardholderName)
	w.str(cardAID, c.AID)
	w.str(cardApplicationLabel, c.ApplicationLabel)
	w.str(cardTVR, c.TVR)
	w.str(cardTSI, c.TSI)
	w.str(cardCryptogram, c.Cryptogram)
	w.str(cardATC, c.ATC)
	w.flag(cardSignatureRequired, c.SignatureRequired)
	w.flag(cardPINVerified, c.PINVerified)
	return w.b
}

// encodeReceipts is the receipts part of a record: their source when it
// lays out the very documents the transaction holds, else the documents
// (or texts) themselves.
func (s *DB) encodeReceipts(tx *bolt.Tx, t *daemon.Transaction) ([]byte, error) {
	r := t.Receipts
	var w recordWriter
	w.flag(rcSignatureRequired, r.SignatureRequired)
	if src := r.Source; src != nil {
		id, ok, err := s.sourceFits(tx, t)
		if err != nil {
			return nil, err
		}
		if ok {
			w.int(rcVersion, int64(src.Version))
			w.key(rcLayout, wireVarint)
			w.b = binary.AppendVarint(w.b, int64(id))
			if src.Status != t.Status {
				w.str(rcStatus, string(src.Status))
			}
			if !src.ExpiresAt.Equal(t.ExpiresAt) {
				if src.ExpiresAt.IsZero() {
					w.flag(rcNoExpiry, true)
				}
				w.time(rcExpiresAt, src.ExpiresAt)
			}
			return w.b, nil
		}
		if r.MerchantDocument == nil && r.CustomerDocument == nil && r.Merchant == "" && r.Customer == "" {
			// Read from the store and not laid out: keep the documents.
			if r, err = daemon.RenderReceipts(t, src); err != nil {
				return nil, err
			}
		}
	}
	if d := r.MerchantDocument; d != nil {
		w.key(rcMerchantDocument, wireBytes)
		w.b = appendBytes(w.b, encodeDocument(d))
	} else {
		w.str(rcMerchantText, r.Merchant)
	}
	if d := r.CustomerDocument; d != nil {
		w.key(rcCustomerDocument, wireBytes)
		w.b = appendBytes(w.b, encodeDocument(d))
	} else {
		w.str(rcCustomerText, r.Customer)
	}
	return w.b, nil
}

// sourceFits stores the receipt layout of t's receipts and reports
// whether laying the receipts out again from their source gives the very
// documents, texts and signature flag they hold (receipts read from the
// store and not laid out hold only the source, which was checked when it
// was first written).
func (s *DB) sourceFits(tx *bolt.Tx, t *daemon.Transaction) (uint64, bool, error) {
	r := t.Receipts
	if r.Source.Version != daemon.ReceiptLayoutVersion || (r.Source.Status == "" && t.Status != "") {
		return 0, false, nil
	}
	enc := encodeLayout(r.Source.Layout, receiptTime(t))
	id := layoutHash(enc)
	b := tx.Bucket(bucketLayouts)
	switch have := b.Get(u64(id)); {
	case have == nil:
		if err := b.Put(u64(id), enc); err != nil {
			return 0, false, err
		}
	case !bytes.Equal(have, enc):
		return 0, false, nil // another layout has the same hash
	}
	if r.MerchantDocument == nil && r.CustomerDocument == nil && r.Merchant == "" && r.Customer == "" {
		return id, true, nil // read from the store and not laid out: checked when first written
	}
	layout, err := s.layout(tx, id)
	if err != nil {
		return 0, false, err
	}
	src := *r.Source
	src.Layout = layout
	again, err := daemon.RenderReceipts(t, &src)
	if err != nil {
		return 0, false, nil
	}
	same := again.Merchant == r.Merchant && again.Customer == r.Customer && again.SignatureRequired == r.SignatureRequired &&
		sameDocument(again.MerchantDocument, r.MerchantDocument) && sameDocument(again.CustomerDocument, r.CustomerDocument)
	return id, same, nil
}

func sameDocument(a, b *daemon.Document) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Width == b.Width && slices.Equal(a.Lines, b.Lines)
}

func encodeDocument(d *daemon.Document) []byte {
	var w recordWriter
	w.int(docWidth, int64(d.Width))
	for _, l := range d.Lines {
		var lw recordWriter
		lw.str(lineText, l.Text)
		lw.int(lineAlign, int64(l.Align))
		lw.flag(lineBold, l.Bold)
		lw.flag(lineDouble, l.Double)
		lw.str(lineQR, l.QR)
		w.key(docLine, wireBytes)
		w.b = appendBytes(w.b, lw.b)
	}
	return w.b
}

// receiptTime is the time a transaction's receipt shows.
func receiptTime(t *daemon.Transaction) time.Time {
	if t.CompletedAt.IsZero() {
		return t.StartedAt
	}
	return t.CompletedAt
}

// encodeLayout is a receipt layout's encoding for a receipt showing the
// time at. The time zone is kept as the zone in force then (its
// abbreviation and offset), not by name: laying the receipt out again
// then needs no time zone database, and a later change of the zone's
// rules cannot change a receipt already printed.
func encodeLayout(l daemon.ReceiptLayout, at time.Time) []byte {
	var w recordWriter
	w.str(layoutName, l.Merchant.Name)
	w.str(layoutAddr, l.Merchant.Address)
	w.str(layoutMID, l.Merchant.ID)
	w.str(layoutTID, l.TerminalID)
	loc := l.Location
	if loc == nil {
		loc = time.UTC
	}
	zone, offset := at.In(loc).Zone()
	w.str(layoutZone, zone)
	w.int(layoutOffset, int64(offset))
	w.int(layoutWidth, int64(l.Width))
	w.flag(layoutQR, l.QR)
	return w.b
}

// layoutHash is a layout's key: a hash of its encoding.
func layoutHash(enc []byte) uint64 {
	h := fnv.New64a()
	_, _ = h.Write(enc)
	return h.Sum64()
}

// layout returns a stored receipt layout.
func (s *DB) layout(tx *bolt.Tx, id uint64) (daemon.ReceiptLayout, error) {
	s.layouts.mu.RLock()
	l, ok := s.layouts.byID[id]
	s.layouts.mu.RUnlock()
	if ok {
		return l, nil
	}
	var raw []byte
	if b := tx.Bucket(bucketLayouts); b != nil {
		raw = b.Get(u64(id))
	}
	if raw == nil || layoutHash(raw) != id {
		return l, fmt.Errorf("%w: receipt layout %x is missing", errRecord, id)
	}
	l, err := decodeLayout(raw)
	if err != nil {
		return l, err
	}
	s.layouts.mu.Lock()
	if s.layouts.byID == nil {
		s.layouts.byID = map[uint64]daemon.ReceiptLayout{}
	}
	s.layouts.byID[id] = l
	s.layouts.mu.Unlock()
	return l, nil
}

func decodeLayout(raw []byte) (daemon.ReceiptLayout, error) {
	var l daemon.ReceiptLayout
	var zone string
	var offset int64
	err := readFields(raw, func(f recordField) error {
		var err error
		switch f.tag {
		case layoutName:
			l.Merchant.Name, err = f.str()
		case layoutAddr:
			l.Merchant.Address, err = f.str()
		case layoutMID:
			l.Merchant.ID, err = f.str()
		case layoutTID:
			l.TerminalID, err = f.str()
		case layoutZone:
			zone, err = f.str()
		case layoutOffset:
			offset, err = f.int()
		case layoutWidth:
			var n int64
			n, err = f.int()
			l.Width = int(n)
		case layoutQR:
			l.QR, err = f.flag()
		default:
			return f.unknown("receipt layout")
		}
		return err
	})
	l.Location = time.FixedZone(zone, int(offset))
	return l, err
}

// decodeTransaction reads a record of either format. Receipts kept as
// their source are left to layOut.
func (s *DB) decodeTransaction(tx *bolt.Tx, raw []byte, t *daemon.Transaction) error {
	receipts, err := decodeTx(raw, t)
	if err != nil || receipts == nil {
		return err
	}
	t.Receipts, err = s.decodeReceipts(tx, receipts, t)
	return err
}

// decodeTx reads a record of either format but for the receipts part of
// a binary record, which it returns: what scans read (they write nothing
// back).
func decodeTx(raw []byte, t *daemon.Transaction) ([]byte, error) {
	if len(raw) > 0 && raw[0] != recordFormat {
		return nil, json.Unmarshal(raw, t)
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("%w: empty", errRecord)
	}
	*t = daemon.Transaction{}
	var receipts []byte
	err := readFields(raw[1:], func(f recordField) error {
		var err error
		switch f.tag {
		case txID:
			t.ID, err = f.str()
		case txKind:
			err = setString(f, &t.Kind)
		case txReference:
			t.Reference, err = f.str()
		case txStatus:
			err = setString(f, &t.Status)
		case txStage:
			err = setString(f, &t.Stage)
		case txAmount:
			t.Amount, err = f.int()
		case txTipAmount:
			t.TipAmount, err = f.int()
		case txCurrency:
			t.Currency, err = f.str()
		case txOriginalID:
			t.OriginalID, err = f.str()
		case txOriginalReference:
			t.OriginalReference, err = f.str()
		case txOriginalKind:
			err = setString(f, &t.OriginalKind)
		case txCard:
			t.Card, err = decodeCard(f)
		case txAuthCode:
			t.AuthCode, err = f.str()
		case txHostReference:
			t.HostReference, err = f.str()
		case txResponseCode:
			t.ResponseCode, err = f.str()
		case txHostMessage:
			t.HostMessage, err = decodeHostMessage(f)
		case txDeclineCode:
			t.DeclineCode, err = f.str()
		case txDeclineMessage:
			t.DeclineMessage, err = f.str()
		case txErrorCode:
			t.ErrorCode, err = f.str()
		case txErrorMessage:
			t.ErrorMessage, err = f.str()
		case txStartedAt:
			t.StartedAt, err = f.time()
		case txCompletedAt:
			t.CompletedAt, err = f.time()
		case txExpiresAt:
			t.ExpiresAt, err = f.time()
		case txCompletionID:
			t.CompletionID, err = f.str()
		case txCapturedAmount:
			t.CapturedAmount, err = f.int()
		case txIncrementedAmount:
			t.IncrementedAmount, err = f.int()
		case txHoldEnd:
			err = setString(f, &t.HoldEnd)
		case txReleasedAt:
			t.ReleasedAt, err = f.time()
		case txReleaseID:
			t.ReleaseID, err = f.str()
		case txHeldAmount:
			t.HeldAmount, err = f.int()
		case txRefundedAmount:
			t.RefundedAmount, err = f.int()
		case txBatchID:
			t.BatchID, err = f.str()
		case txReceipts:
			receipts, err = f.message()
		case txPrintReceipt:
			t.PrintReceipt, err = f.flag()
		case txReceiptPrinted:
			t.ReceiptPrinted, err = f.flag()
		case txPrinterError:
			t.PrinterError, err = f.str()
		case txReversalPending:
			t.ReversalPending, err = f.flag()
		case txOffline:
			t.Offline, err = f.flag()
		case txAdvicePending:
			t.AdvicePending, err = f.flag()
		case txAdviceICC:
			var b []byte
			if b, err = f.message(); err == nil {
				t.AdviceICC = bytes.Clone(b)
			}
		case txAdviceRejected:
			t.AdviceRejected, err = f.flag()
		case txReversalICC:
			var b []byte
			if b, err = f.message(); err == nil {
				t.ReversalICC = bytes.Clone(b)
			}
		case txECRID:
			t.ECRID, err = f.str()
		default:
			return f.unknown("transaction")
		}
		return err
	})
	return receipts, err
}

// setString sets a string-typed field.
func setString[S ~string](f recordField, to *S) error {
	s, err := f.str()
	*to = S(s)
	return err
}

func decodeCard(f recordField) (*daemon.CardInfo, error) {
	raw, err := f.message()
	if err != nil {
		return nil, err
	}
	var c daemon.CardInfo
	return &c, readFields(raw, func(f recordField) error {
		var err error
		switch f.tag {
		case cardMaskedPAN:
			c.MaskedPAN, err = f.str()
		case cardScheme:
			c.Scheme, err = f.str()
		case cardEntryMethod:
			c.EntryMethod, err = f.str()
		case cardCardholderName:
			c.CardholderName, err = f.str()
		case cardAID:
			c.AID, err = f.str()
		case cardApplicationLabel:
			c.ApplicationLabel, err = f.str()
		case cardTVR:
			c.TVR, err = f.str()
		case cardTSI:
			c.TSI, err = f.str()
		case cardCryptogram:
			c.Cryptogram, err = f.str()
		case cardATC:
			c.ATC, err = f.str()
		case cardSignatureRequired:
			c.SignatureRequired, err = f.flag()
		case cardPINVerified:
			c.PINVerified, err = f.flag()
		default:
			return f.unknown("card")
		}
		return err
	})
}

func decodeHostMessage(f recordField) (*daemon.HostMessage, error) {
	raw, err := f.message()
	if err != nil {
		return nil, err
	}
	var m daemon.HostMessage
	return &m, readFields(raw, func(f recordField) error {
		var err error
		switch f.tag {
		case hostMTI:
			m.MTI, err = f.str()
		case hostSTAN:
			m.STAN, err = f.str()
		case hostTransmissionTime:
			m.TransmissionTime, err = f.str()
		case hostAcquirerID:
			m.AcquirerID, err = f.str()
		case hostForwarderID:
			m.ForwarderID, err = f.str()
		default:
			return f.unknown("host message")
		}
		return err
	})
}

// decodeReceipts reads the receipts part of a record of t (whose other
// fields are read).
func (s *DB) decodeReceipts(tx *bolt.Tx, raw []byte, t *daemon.Transaction) (*daemon.Receipts, error) {
	var r daemon.Receipts
	var src daemon.ReceiptSource
	var layoutID uint64
	compact, noExpiry := false, false
	src.Status, src.ExpiresAt = t.Status, t.ExpiresAt
	err := readFields(raw, func(f recordField) error {
		var err error
		switch f.tag {
		case rcSignatureRequired:
			r.SignatureRequired, err = f.flag()
		case rcVersion:
			var n int64
			n, err = f.int()
			src.Version, compact = int(n), true
		case rcLayout:
			var n int64
			n, err = f.int()
			layoutID = uint64(n)
		case rcStatus:
			err = setString(f, &src.Status)
		case rcExpiresAt:
			src.ExpiresAt, err = f.time()
		case rcNoExpiry:
			noExpiry, err = f.flag()
		case rcMerchantText:
			r.Merchant, err = f.str()
		case rcCustomerText:
			r.Customer, err = f.str()
		case rcMerchantDocument:
			r.MerchantDocument, err = decodeDocument(f)
		case rcCustomerDocument:
			r.CustomerDocument, err = decodeDocument(f)
		default:
			return f.unknown("receipts")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if compact {
		if noExpiry {
			src.ExpiresAt = time.Time{}
		}
		if src.Layout, err = s.layout(tx, layoutID); err != nil {
			return nil, err
		}
		r.Source = &src
		return &r, nil
	}
	if d := r.MerchantDocument; d != nil {
		r.Merchant = d.Text()
	}
	if d := r.CustomerDocument; d != nil {
		r.Customer = d.Text()
	}
	return &r, nil
}

func decodeDocument(f recordField) (*daemon.Document, error) {
	raw, err := f.message()
	if err != nil {
		return nil, err
	}
	var d daemon.Document
	return &d, readFields(raw, func(f recordField) error {
		switch f.tag {
		case docWidth:
			n, err := f.int()
			d.Width = int(n)
			return err
		case docLine:
			raw, err := f.message()
			if err != nil {
				return err
			}
			var l daemon.Line
			err = readFields(raw, func(f recordField) error {
				var err error
				switch f.tag {
				case lineText:
					l.Text, err = f.str()
				case lineAlign:
					var n int64
					n, err = f.int()
					l.Align = daemon.Align(n)
				case lineBold:
					l.Bold, err = f.flag()
				case lineDouble:
					l.Double, err = f.flag()
				case lineQR:
					l.QR, err = f.str()
				default:
					return f.unknown("receipt line")
				}
				return err
			})
			d.Lines = append(d.Lines, l)
			return err
		default:
			return f.unknown("receipt document")
		}
	})
}
