// Package terminal accepts cards for the engine: it drives the card reader
// and PIN pad through the serial driver (emv/reader) and runs the EMV
// kernel (emv) over it, offering the engine's daemon.CardReader. It is
// the one place where the kernel's types meet the engine's (engine.go):
// the kernel does not import the engine. A chip card swiped is asked to
// be inserted; a swipe falls back only after a failed chip read.
package terminal

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/emv"
	"github.com/vinr/cashlessd/emv/reader"
)

// closeTimeout bounds powering the card off at the end of a session.
const closeTimeout = 5 * time.Second

// Acceptor is the engine's card reader.
type Acceptor struct {
	reader   *reader.Reader
	kernel   *emv.Kernel
	log      zerolog.Logger
	now      func() time.Time
	counters Counters
	// prompts is told of every prompt shown (prompts.go); may be nil.
	prompts PromptObserver
}

var _ daemon.CardReader = (*Acceptor)(nil)

// Counters hands out numbers that survive a restart (the daemon's store).
type Counters interface {
	// Next advances the named counter by one and returns the new value.
	Next(name string) (uint32, error)
}

// CounterSequence names the terminal's transaction sequence counter (EMV
// tag 9F41): one number per card transaction, never reused after a
// restart.
const CounterSequence = "emv.sequence"

// SequenceWrap is the largest transaction sequence counter: 9F41 has
// eight digits.
const SequenceWrap = 99999999

// SequenceBlock is how many sequence numbers a persisted counter reserves
// per commit (numbers reserved but not used before a restart are skipped).
const SequenceBlock = 100

// Option tunes an Acceptor.
type Option func(*Acceptor)

// WithCounters numbers card transactions (9F41) from persisted counters;
// without it they are numbered from 1 in memory, per process.
func WithCounters(c Counters) Option { return func(a *Acceptor) { a.counters = c } }

// New makes an acceptor over a reader driver and a kernel; now is the
// transaction clock.
func New(r *reader.Reader, k *emv.Kernel, now func() time.Time, log zerolog.Logger, opts ...Option) *Acceptor {
	if now == nil {
		now = time.Now
	}
	a := &Acceptor{reader: r, kernel: k, now: now, log: log.With().Str("component", "card").Logger()}
	for _, o := range opts {
		o(a)
	}
	if a.counters == nil {
		a.counters = &memoryCounter{}
	}
	return a
}

// memoryCounter numbers transactions in memory: from 1 in every process.
type memoryCounter struct {
	mu sync.Mutex
	n  uint32
}

// Next returns the next number (one counter only: the name is ignored).
func (m *memoryCounter) Next(string) (uint32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.n = m.n%SequenceWrap + 1
	return m.n, nil
}

// ShowMessage shows lines of text on the reader's display (a pairing code
// while the terminal is idle).
func (a *Acceptor) ShowMessage(ctx context.Context, lines ...string) error {
	return a.reader.Display(ctx, lines...)
}

var _ daemon.MessageDisplay = (*Acceptor)(nil)

// Detect shows the amount and waits for a card on every interface. A chip
// card swiped is refused with "insert card" and detection goes on for the
// chip; the context ending (cancel, card timeout) ends detection on the
// reader too.
func (a *Acceptor) Detect(ctx context.Context, req daemon.CardRequest) (daemon.CardSession, error) {
	tx, err := transaction(req, a.now())
	if err != nil {
		return nil, err
	}
	if tx.SequenceCounter, err = a.counters.Next(CounterSequence); err != nil {
		return nil, fmt.Errorf("terminal: transaction sequence counter: %w", err)
	}
	amount := daemon.FormatAmount(req.Amount, req.Currency)
	pins := pinPad{reader: a.reader, amount: amount, acceptor: a, transactionID: req.TransactionID}
	ifaces := reader.Contact | reader.Contactless | reader.Magstripe
	a.prompt(req.TransactionID, PromptPresentCard, amount)
	for {
		ev, err := a.reader.Detect(ctx, reader.DetectRequest{AmountText: amount, Interfaces: ifaces})
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if errors.Is(err, reader.ErrCardholderCancel) {
				return nil, daemon.ErrCardholderCancelled
			}
			if errors.Is(err, reader.ErrTimeout) {
				// The reader's own prompt timer (the card timeout, rounded
				// up to whole seconds) can end just before ctx does.
				return nil, daemon.ErrNoCard
			}
			return nil, err
		}
		// 9F1E is the reader's serial number, known once its port is open.
		tx.IFDSerial = a.reader.LastInfo().Serial
		switch ev.Kind {
		case reader.CardInserted:
			if _, err := a.reader.PowerOn(ctx, reader.Contact); err != nil {
				return nil, fmt.Errorf("chip: %w", err)
			}
			return &session{a: a, s: a.kernel.Contact(a.reader, pins, tx), powered: true}, nil
		case reader.CardTapped:
			if _, err := a.reader.PowerOn(ctx, reader.Contactless); err != nil {
				return nil, fmt.Errorf("contactless: %w", err)
			}
			deadline, hasDeadline := ctx.Deadline()
			return &session{a: a, s: a.kernel.Contactless(a.reader, pins, tx), powered: true,
				tapped: &tap{tx: tx, pins: pins, deadline: deadline, hasDeadline: hasDeadline, wait: req.Wait}}, nil
		case reader.CardSwiped:
			track := string(ev.Track2)
			ev.Clear()
			t2, err := emv.ParseTrack2(track)
			if err != nil {
				a.prompt(req.TransactionID, PromptCardNotRead, "CARD NOT READ", "PLEASE TRY AGAIN")
				_ = a.reader.Display(ctx, "CARD NOT READ", "PLEASE TRY AGAIN")
				continue
			}
			if t2.ChipCard() {
				// A chip card must be inserted; only a failed chip read
				// allows the swipe (fallback).
				a.log.Info().Msg("chip card swiped: asking for the chip")
				a.prompt(req.TransactionID, PromptInsertCard, "CHIP CARD", "PLEASE INSERT CARD")
				_ = a.reader.Display(ctx, "CHIP CARD", "PLEASE INSERT CARD")
				ifaces = reader.Contact
				continue
			}
			return &session{a: a, s: a.kernel.Swipe(track, pins, tx, false)}, nil
		case reader.KeypadCancel:
			return nil, daemon.ErrCardholderCancelled
		}
	}
}

// session is one card on the reader.
type session struct {
	a       *Acceptor
	s       *emv.Session
	powered bool
	final   []byte // chip data after the second GENERATE AC
	scripts []byte // issuer script results (9F5B) after it
	// tapped is set while the session is a contactless card's, for
	// sending the cardholder to the chip.
	tapped *tap
}

// tap is what a contactless session needs to go on with the chip when
// the card or the kernel asks for another interface.
type tap struct {
	tx          emv.Transaction
	pins        pinPad
	deadline    time.Time // the card timeout of the detection
	hasDeadline bool
	// wait, when set, is told that the reader waits for the chip (the
	// ECR may cancel meanwhile) and when the chip is inserted.
	wait daemon.CardWait
}

// Read runs the kernel up to the online request. When a contactless
// card cannot go on contactless (the kernel says insert the card: over
// the contactless limit, a CVM the reader cannot do, the card asks for
// another interface, mag-stripe mode), the card is powered off, the
// reader asks for the chip and the session goes on with the inserted
// card, as with a chip card swiped.
func (s *session) Read(ctx context.Context) (daemon.CardData, error) {
	out, err := s.s.Read(ctx)
	if s.tapped != nil && errors.Is(err, emv.ErrInsertCard) && !errors.Is(err, emv.ErrDeclined) {
		s.a.log.Info().Str("why", err.Error()).Msg("contactless card sent to the chip")
		if err := s.toChip(ctx); err != nil {
			return daemon.CardData{}, err
		}
		out, err = s.s.Read(ctx)
	}
	switch {
	case err == nil:
		return cardData(out), nil
	case errors.Is(err, emv.ErrDeclined):
		// The card declined offline (AAC): a decline with a receipt.
		return cardData(out), fmt.Errorf("%w: %v", daemon.ErrDeclinedByCard, err)
	case errors.Is(err, emv.ErrPINBypassed), errors.Is(err, reader.ErrCardholderCancel):
		return daemon.CardData{}, daemon.ErrCardholderCancelled
	}
	return daemon.CardData{}, err
}

// toChip powers the tapped card off, asks for the chip and waits for it
// until the detection's card timeout; the session then runs the kernel's
// contact flow on the inserted card. The cardholder's cancel key ends it,
// and so does the ECR's cancel while no chip is inserted (through the
// engine's CardWait: it returns ctx's error then).
func (s *session) toChip(ctx context.Context) error {
	t := s.tapped
	s.tapped = nil
	if s.powered {
		_ = s.Close()
		s.powered = false
	}
	if t.hasDeadline {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, t.deadline)
		defer cancel()
	}
	if t.wait != nil {
		var stop context.CancelFunc
		ctx, stop = t.wait.WaitingForCard(ctx)
		defer stop()
	}
	a := s.a
	a.prompt(t.pins.transactionID, PromptInsertCard, "USE CHIP", "PLEASE INSERT CARD")
	_ = a.reader.Display(ctx, "USE CHIP", "PLEASE INSERT CARD")
	for {
		ev, err := a.reader.Detect(ctx, reader.DetectRequest{AmountText: t.pins.amount, Interfaces: reader.Contact})
		switch {
		case err == nil:
		case errors.Is(err, reader.ErrCardholderCancel):
			return daemon.ErrCardholderCancelled
		case errors.Is(err, reader.ErrTimeout), errors.Is(ctx.Err(), context.DeadlineExceeded):
			return daemon.ErrNoCard
		case ctx.Err() != nil:
			return ctx.Err()
		default:
			return err
		}
		switch ev.Kind {
		case reader.KeypadCancel:
			return daemon.ErrCardholderCancelled
		case reader.CardInserted:
			if t.wait != nil && !t.wait.CardPresented() {
				return context.Canceled // the ECR cancelled first
			}
			if _, err := a.reader.PowerOn(ctx, reader.Contact); err != nil {
				return fmt.Errorf("chip: %w", err)
			}
			s.powered = true
			s.s = a.kernel.Contact(a.reader, t.pins, t.tx)
			return nil
		}
		ev.Clear() // anything else: keep asking for the chip
	}
}

// Complete hands the card the host's answer (second GENERATE AC).
func (s *session) Complete(ctx context.Context, answer daemon.AuthResponse) (bool, error) {
	out, err := s.s.Complete(ctx, hostResponse(answer))
	if err != nil {
		if errors.Is(err, emv.ErrDeclined) {
			// The card's AAC: a reversal of the host's approval carries
			// it.
			s.final, s.scripts = out.ICCData, out.ScriptResults
			return false, nil
		}
		return false, err
	}
	s.final, s.scripts = out.ICCData, out.ScriptResults
	return out.Approved(), nil
}

// IssuerScriptResults is the issuer script results (9F5B) of the completed
// transaction, nil when the host's answer carried no script: the engine
// forwards them to the host in a TC advice.
func (s *session) IssuerScriptResults() []byte { return s.scripts }

// FinalICCData is the chip data of the completed transaction (with the TC
// of an approval, for the advice to the host; with the AAC when the card
// declined, for the reversal of a host approval the card refused).
func (s *session) FinalICCData() []byte { return s.final }

// Close powers the card off.
func (s *session) Close() error {
	if !s.powered {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	return s.a.reader.PowerOff(ctx)
}

// pinPad is the kernel's PIN pad on the reader: the reader returns only an
// encrypted PIN block (online) or the card's answer to VERIFY (offline).
type pinPad struct {
	reader *reader.Reader
	amount string
	// acceptor and transactionID report the PIN prompt.
	acceptor      *Acceptor
	transactionID string
}

// OnlinePIN asks the cardholder for a PIN enciphered under DUKPT.
func (p pinPad) OnlinePIN(ctx context.Context, req emv.PINRequest) (emv.EncryptedPIN, error) {
	p.acceptor.prompt(p.transactionID, PromptEnterPIN, p.amount)
	block, ksn, err := p.reader.OnlinePIN(ctx, req.PAN, p.amount)
	if errors.Is(err, reader.ErrPINBypassed) {
		return emv.EncryptedPIN{}, emv.ErrPINBypassed
	}
	return emv.EncryptedPIN{Block: block, KSN: ksn}, err
}

// OfflinePIN lets the reader verify the PIN with the card.
func (p pinPad) OfflinePIN(ctx context.Context, _ emv.PINRequest) (emv.OfflinePINResult, error) {
	p.acceptor.prompt(p.transactionID, PromptEnterPIN, p.amount)
	res, err := p.reader.OfflinePIN(ctx)
	if errors.Is(err, reader.ErrPINBypassed) {
		return emv.OfflinePINResult{}, emv.ErrPINBypassed
	}
	if err != nil {
		return emv.OfflinePINResult{}, err
	}
	out := emv.OfflinePINResult{TriesLeft: res.TriesLeft}
	switch res.Status {
	case reader.PINVerified:
		out.Status = emv.PINVerified
	case reader.PINWrong:
		out.Status = emv.PINWrong
	default:
		out.Status = emv.PINBlocked
	}
	return out, nil
}
