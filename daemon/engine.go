package daemon

import (
	"context"
	"crypto/rand"
	"io"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/rs/zerolog"
)

// Config is what the engine needs to know about the terminal.
type Config struct {
	TerminalID      string
	Model           string
	SoftwareVersion string
	Currency        string
	// HasPrinter is false on models without a built-in printer.
	HasPrinter bool
	// CardTimeout is how long a prompt waits for a card.
	CardTimeout time.Duration
	// PreauthValidity is how long an approved pre-auth can be completed.
	PreauthValidity time.Duration
	Receipt         ReceiptLayout
	// AutoSettle closes the batch daily at SettleAt (minutes after local
	// midnight, in Receipt.Location).
	AutoSettle bool
	SettleAt   time.Duration
	// PrintSettlement prints a settlement report after each batch close.
	PrintSettlement bool
	// PrinterRefresh is how often the printer's state is asked for in the
	// background (status answers from the state seen last); 0 means 2 s.
	PrinterRefresh time.Duration
	// ReversalRetry is how often pending reversals and advices are retried.
	ReversalRetry time.Duration
	// OfflineApprovals lets a chip card approve a sale up to FloorLimit
	// (minor units) offline when the host cannot be reached; the sale is
	// forwarded as an advice later.
	OfflineApprovals bool
	FloorLimit       int64
	// HostGrace is how long the host link may be down before status says
	// a payment cannot succeed; it is also how often a down link is tried
	// again. The host's echo interval; zero: never tried in the background.
	HostGrace time.Duration
}

// Deps are the engine's outside world.
type Deps struct {
	Store   Store
	Reader  CardReader
	Printer Printer // nil on models without a printer
	Host    Host
	Clock   Clock
	Log     zerolog.Logger
	// Observer, when set, is told of finished transactions and stages.
	Observer Observer
	// Events, when set, is told of stages, outcomes, printer and batch
	// changes as they happen (the live event stream).
	Events EventSink
}

// Observer receives timings for metrics.
type Observer interface {
	TransactionFinished(kind Kind, status Status, took time.Duration)
	StageFinished(stage Stage, took time.Duration)
}

// Engine is the one-active-transaction state machine of a terminal.
type Engine struct {
	cfg  Config
	deps Deps
	ids  *IDs

	mu       sync.Mutex
	active   *active
	draining bool
	nextAuto time.Time
	// autoRetryAt holds off the next try of a daily settlement that
	// failed (host down), so it is not retried every second.
	autoRetryAt time.Time

	// scheduling serialises CheckSchedule.
	scheduling sync.Mutex

	printerCache printerStatusCache
	reversing    sync.Mutex // one reversal pass at a time
	health       healthTracker

	base    context.Context
	stop    context.CancelFunc
	running sync.WaitGroup
	loops   sync.WaitGroup
}

// active is the transaction (or batch close) that holds the terminal.
type active struct {
	tx          *Transaction // nil for a batch close
	kind        string
	reference   string
	startedAt   time.Time
	stage       Stage
	ecrID       string // the credential whose request took the terminal
	stageAt     time.Time
	begun       time.Time
	cancellable bool
	cancelled   bool
	cancel      context.CancelFunc
	done        chan struct{}
}

// New makes an engine; call Start before use.
func New(cfg Config, deps Deps) *Engine {
	if cfg.CardTimeout <= 0 {
		cfg.CardTimeout = 60 * time.Second
	}
	if cfg.PreauthValidity <= 0 {
		cfg.PreauthValidity = 7 * 24 * time.Hour
	}
	if cfg.ReversalRetry <= 0 {
		cfg.ReversalRetry = 30 * time.Second
	}
	if cfg.Receipt.Width == 0 {
		cfg.Receipt.Width = 32
	}
	if cfg.Receipt.TerminalID == "" {
		cfg.Receipt.TerminalID = cfg.TerminalID
	}
	if deps.Clock == nil {
		deps.Clock = SystemClock{}
	}
	return &Engine{cfg: cfg, deps: deps, ids: NewIDs()}
}

// Start resolves every transaction a crash left pending, then starts the
// daily settlement and reversal loops; the loop's first pass over the
// reversals and advices queued before the restart runs at once, in the
// background. New work is taken only after Start returns.
func (e *Engine) Start(ctx context.Context) error {
	e.base, e.stop = context.WithCancel(context.WithoutCancel(ctx))
	if err := e.recoverPending(ctx); err != nil {
		return err
	}
	e.mu.Lock()
	e.nextAuto = e.nextSettlement(e.deps.Clock.Now())
	e.mu.Unlock()
	e.loops.Add(1)
	go e.loop()
	// Reversals queued before the restart (a release's, a lost answer's)
	// go out now rather than at the loop's first retry.
	e.kickReversals()
	e.startPrinterWatch()
	e.startHealth()
	return nil
}

// Stop stops taking new work, lets the running transaction finish until ctx
// ends, then cancels what still runs and stops the loops.
func (e *Engine) Stop(ctx context.Context) error {
	e.mu.Lock()
	e.draining = true
	e.mu.Unlock()
	done := make(chan struct{})
	go func() { e.running.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	e.stop()
	e.running.Wait()
	e.loops.Wait()
	return err
}

// Busy reports whether a transaction or batch close holds the terminal.
func (e *Engine) Busy() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.active != nil
}

// Config returns the engine's configuration.
func (e *Engine) Config() Config { return e.cfg }

// Now is the engine's clock.
func (e *Engine) Now() time.Time { return e.deps.Clock.Now().UTC() }

// loop drives the daily settlement and pending reversals. Reversals and
// advices queued before a restart go out right away rather than one
// retry interval later: a queued reversal keeps the customer's hold.
func (e *Engine) loop() {
	defer e.loops.Done()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	e.kickReversals()
	lastReversal := time.Now()
	for {
		select {
		case <-e.base.Done():
			return
		case <-tick.C:
			e.CheckSchedule()
			if time.Since(lastReversal) >= e.cfg.ReversalRetry {
				lastReversal = time.Now()
				e.tryReversals(e.base)
			}
		}
	}
}

// acquire takes the terminal for one piece of work, or answers
// terminal_busy.
func (e *Engine) acquire(a *active) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.draining {
		return Errorf(CodeTerminalBusy, "The terminal is shutting down and takes no new transactions.")
	}
	if e.active != nil {
		if e.active.reference == a.reference {
			busy := Errorf(CodeTerminalBusy, "Transaction %q is still running.", a.reference)
			busy.Cause = ErrStillRunning
			return busy
		}
		return Errorf(CodeTerminalBusy, "Another transaction is currently active on this terminal.")
	}
	a.done = make(chan struct{})
	if a.tx != nil && a.ecrID == "" {
		a.ecrID = a.tx.ECRID
	}
	a.stageAt = time.Now()
	a.begun = a.stageAt
	e.active = a
	e.running.Add(1)
	return nil
}

// release frees the terminal.
func (e *Engine) release(a *active) {
	e.emitOutcome(a)
	e.mu.Lock()
	if e.active == a {
		e.active = nil
	}
	e.observeStage(a, "")
	e.mu.Unlock()
	if o := e.deps.Observer; o != nil && a.tx != nil {
		o.TransactionFinished(a.tx.Kind, a.tx.Status, time.Since(a.begun))
	}
	close(a.done)
	e.running.Done()
}

// observeStage reports the time spent in the stage a is leaving; the
// caller holds e.mu.
func (e *Engine) observeStage(a *active, next Stage) {
	now := time.Now()
	if o := e.deps.Observer; o != nil && a.stage != "" && a.stage != next {
		o.StageFinished(a.stage, now.Sub(a.stageAt))
	}
	if a.stage != next {
		a.stageAt = now
	}
}

// setStage records the active work's stage for status.
func (e *Engine) setStage(a *active, s Stage) {
	e.mu.Lock()
	e.observeStage(a, s)
	a.stage = s
	if a.tx != nil {
		a.tx.Stage = s
	}
	e.mu.Unlock()
	e.emitStage(a, s)
}

// wait returns when the work is done or the caller gives up; the work goes
// on either way.
func wait(ctx context.Context, a *active) error {
	select {
	case <-a.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// IDs makes time-sortable identifiers that are unique across restarts.
type IDs struct {
	mu      sync.Mutex
	entropy io.Reader
}

// NewIDs makes an ID generator seeded from crypto/rand.
func NewIDs() *IDs {
	return &IDs{entropy: ulid.Monotonic(rand.Reader, 0)}
}

// New returns prefix + "_" + a ULID for now.
func (g *IDs) New(prefix string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	id, err := ulid.New(ulid.Timestamp(time.Now()), g.entropy)
	if err != nil {
		// The monotonic reader overflows only after 2^80 IDs in one
		// millisecond; fall back to fresh entropy.
		id = ulid.MustNew(ulid.Timestamp(time.Now()), rand.Reader)
	}
	return prefix + "_" + id.String()
}

// StatusInfo is what status reports. LastTransaction and Settling are
// shared with other polls (see Store.StatusSummary): read them only.
type StatusInfo struct {
	Busy            bool
	ActiveKind      string
	ActiveReference string
	ActiveStartedAt time.Time
	ActiveStage     Stage
	// ActiveECRID is the credential whose request holds the terminal.
	ActiveECRID      string
	LastTransaction  *Transaction
	Printer          *PrinterStatus
	PendingReversals int
	PendingAdvices   int
	OpenBatchCount   int64
	OpenBatchAmount  int64
	// Settling is the batch handed to the host whose settlement is not
	// confirmed yet; the next batch/close finishes it first.
	Settling          *Batch
	NextAutoSettle    time.Time
	AutoSettleEnabled bool
	// Health is the devices' states and whether a payment can succeed,
	// from what the drivers have observed.
	Health Health
}

// Status reports whether the terminal is busy and what it did last.
func (e *Engine) Status(ctx context.Context) (StatusInfo, error) {
	var s StatusInfo
	e.mu.Lock()
	if a := e.active; a != nil {
		s.Busy = true
		s.ActiveKind = a.kind
		s.ActiveReference = a.reference
		s.ActiveStartedAt = a.startedAt
		s.ActiveStage = a.stage
		s.ActiveECRID = a.ecrID
	}
	s.NextAutoSettle = e.nextAuto
	e.mu.Unlock()
	s.AutoSettleEnabled = e.cfg.AutoSettle
	// The store's part is kept in memory between commits: a poll reads
	// no bbolt transaction and decodes no record.
	sum, err := e.deps.Store.StatusSummary()
	if err != nil {
		return s, storageError(err)
	}
	s.LastTransaction = sum.LastTransaction
	if e.deps.Printer != nil {
		ps := e.printerStatus()
		s.Printer = &ps
	}
	if b := sum.OpenBatch; b != nil {
		s.OpenBatchCount = b.TransactionCount()
		s.OpenBatchAmount = b.TotalAmount()
	}
	s.Settling = sum.SettlingBatch
	s.PendingReversals = sum.PendingReversals
	s.PendingAdvices = sum.PendingAdvices
	s.Health = e.deviceHealth(s.Printer)
	return s, nil
}
