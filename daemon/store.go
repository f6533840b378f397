package daemon

import (
	"errors"
	"time"
)

// ErrNotFound is returned by a Store when nothing matches.
var ErrNotFound = errors.New("not found")

// Store keeps transactions, batches and keys durably. Every method commits
// before it returns.
type Store interface {
	// ReferenceAttempts lists every attempt under a reference, across
	// kinds; CreateTransaction indexes the attempt in its commit and
	// refuses it with ErrReferenceTaken when ReferenceHolder names one.
	ReferenceStore
	// CreateTransaction writes a new pending transaction.
	CreateTransaction(t *Transaction) error
	// UpdateTransaction rewrites a transaction's record (stage, printing,
	// reversal flags) without touching indexes or batches.
	UpdateTransaction(t *Transaction) error
	// FinishTransaction writes a transaction's final state in one commit:
	// for an approval it indexes the reference, books the original's
	// refunded or captured amount, and joins sales, completions and refunds
	// to the open batch (creating one with newBatchID when none is open).
	FinishTransaction(t *Transaction, newBatchID string) error
	// VoidTransaction books an approved void in one commit: it indexes
	// the void's reference, marks its original (OriginalID) voided and
	// queued for reversal, takes the original out of the open batch and
	// undoes what the original booked on its own original. It returns the
	// voided original.
	VoidTransaction(void *Transaction) (*Transaction, error)
	// Transaction returns a transaction by ID.
	Transaction(id string) (*Transaction, error)
	// ApprovedByReference returns the approved transaction of a kind with
	// the reference, without scanning history: the original of a refund,
	// completion or void. Its receipts may be returned as their Source
	// only (not laid out, no texts or documents): what an original is
	// needed for does not read them, and writing it back keeps them.
	ApprovedByReference(kind Kind, reference string) (*Transaction, error)
	// LastTransaction returns the most recently finished transaction.
	LastTransaction() (*Transaction, error)
	// LastReceipt returns the most recent transaction that has receipts.
	LastReceipt() (*Transaction, error)
	// PendingTransactions returns every transaction not yet final.
	PendingTransactions() ([]*Transaction, error)
	// PendingReversals returns every transaction whose reversal waits.
	PendingReversals() ([]*Transaction, error)
	// PendingAdvices returns every transaction whose advice waits (an
	// offline approval's, or an online approval's TC advice).
	PendingAdvices() ([]*Transaction, error)
	// StatusSummary is what status reports from the store, as of the
	// last commit; it may be kept between commits, so its transaction
	// and batches must not be changed.
	StatusSummary() (StoreSummary, error)
	// OpenBatch returns the open batch, or ErrNotFound when none is open.
	OpenBatch() (*Batch, error)
	// BatchByReference returns the closed batch with the close reference.
	BatchByReference(reference string) (*Batch, error)
	// BatchTransactions returns the transactions of a batch, in order.
	BatchTransactions(batchID string) ([]*Transaction, error)
	// CloseBatch closes the open batch (or records an empty batch with
	// emptyID when none is open) under the reference, without the host.
	CloseBatch(reference string, closedAt time.Time, automatic bool, emptyID, currency string) (*Batch, error)
	// BeginSettlement moves the open batch to settling under the reference
	// and fixes its acquirer batch number, in one commit that also
	// advances CounterBatch: later transactions join a new batch under
	// the next number. It returns ErrNotFound when no batch is open, and
	// the settling batch unchanged when there already is one.
	BeginSettlement(reference string, automatic bool) (*Batch, error)
	// SettlingBatch returns the batch being settled, or ErrNotFound.
	SettlingBatch() (*Batch, error)
	// ReopenSettlement undoes BeginSettlement when the totals surely never
	// reached the host: the batch is open again under its old number.
	ReopenSettlement(batchID string) error
	// FinishSettlement closes the settling batch under its reference once
	// the host has confirmed it.
	FinishSettlement(batchID string, closedAt time.Time) (*Batch, error)
}

// StoreSummary is what status reports from the store.
type StoreSummary struct {
	// LastTransaction is the most recently finished transaction; nil
	// when none is.
	LastTransaction *Transaction
	// OpenBatch and SettlingBatch are nil when there is none.
	OpenBatch     *Batch
	SettlingBatch *Batch
	// The depths of the reversal and advice queues.
	PendingReversals int
	PendingAdvices   int
}

// CounterBatch is the acquirer batch number's counter: the store advances
// it in the same commit that closes a batch, so a crash between the host's
// settlement and the local close can never skip or reuse a batch number.
const CounterBatch = "host.batch"

// KeyStore keeps the hash of the shared key.
type KeyStore interface {
	KeyHash() ([]byte, error)
	SetKeyHash(hash []byte) error
}
