package reader

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"go.bug.st/serial"
)

// Config says where the reader is and how patient to be with it.
type Config struct {
	// Device is the serial device, such as /dev/ttyACM0 or a udev
	// symlink; it is opened again (and the symlink followed again) after
	// every failure.
	Device string
	// Baud is the line speed, 8N1. Default 115200.
	Baud int
	// ResponseTimeout is how long the driver waits for an answer before
	// it sends a command again. Default: 300 ms plus the time two frames
	// of the largest size take at Baud.
	ResponseTimeout time.Duration
	// MaxTries is how many times a command is sent before the driver
	// gives up with ErrNoResponse. Default 3.
	MaxTries int
	// FrameGap is how long the line may be quiet in the middle of a frame
	// before the receiver drops it as damaged. Default 50 ms.
	FrameGap time.Duration
	// Heartbeat is how often the driver asks the reader for its STATUS
	// while it waits for the cardholder, to notice a reader that went
	// silent. Default 2 s.
	Heartbeat time.Duration
	// PINTimeout is sent with PIN entry commands: the reader ends entry
	// with a TIMEOUT event after it. Default 30 s.
	PINTimeout time.Duration
	// Logger receives link diagnostics (never card data). The zero value
	// logs nothing.
	Logger zerolog.Logger
}

func (c Config) withDefaults() (Config, error) {
	if c.Device == "" {
		return c, errors.New("reader: no device configured")
	}
	if c.Baud <= 0 {
		c.Baud = 115200
	}
	if c.ResponseTimeout <= 0 {
		frame := time.Duration(MaxPayload+Overhead) * 10 * time.Second / time.Duration(c.Baud)
		c.ResponseTimeout = 300*time.Millisecond + 2*frame
	}
	if c.MaxTries <= 0 {
		c.MaxTries = 3
	}
	if c.FrameGap <= 0 {
		c.FrameGap = 50 * time.Millisecond
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = 2 * time.Second
	}
	if c.PINTimeout <= 0 {
		c.PINTimeout = 30 * time.Second
	}
	return c, nil
}

// Reader drives a card reader and PIN pad over a serial line with the
// protocol in docs/reader-protocol.md. Calls take turns: one runs at a
// time, the others wait within their contexts. A Reader that loses its
// port (ErrDisconnected, ErrNoResponse) opens it again on the next call.
type Reader struct {
	cfg   Config
	st    counters
	turn  chan struct{} // holds a token while a call runs
	done  chan struct{} // closed by Close
	close sync.Once

	// Only the holder of the turn touches these.
	link   *link
	closed bool

	mu      sync.Mutex
	info    Info      // from the last open
	state   LinkState // what the driver has seen of its port
	watched *link     // the link state describes
	// onState is told when the link comes up or is lost (state.go).
	onState func(connected bool, why error)
}

// New checks cfg and returns a Reader that opens the port on its first
// call, so that the daemon can start while the reader is unplugged.
func New(cfg Config) (*Reader, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Reader{cfg: cfg, turn: make(chan struct{}, 1), done: make(chan struct{})}, nil
}

// Open returns a Reader connected to the reader: the port is open and
// the reader answered INFO.
func Open(ctx context.Context, cfg Config) (*Reader, error) {
	r, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if err := r.call(ctx, func(*link) error { return nil }); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// Close closes the port. A call waiting for the cardholder returns
// ErrClosed (after cancelling the prompt on the reader); later calls
// return ErrClosed.
func (r *Reader) Close() error {
	r.close.Do(func() { close(r.done) })
	r.turn <- struct{}{}
	defer func() { <-r.turn }()
	r.closed = true
	r.drop(ErrClosed)
	return nil
}

// Info returns the reader's identity and capabilities (INFO).
func (r *Reader) Info(ctx context.Context) (Info, error) {
	var in Info
	err := r.call(ctx, func(l *link) error {
		f, err := r.command(ctx, l, CmdInfo, nil)
		if err != nil {
			return err
		}
		in, err = ParseInfo(f.Payload)
		return err
	})
	return in, err
}

// Status returns card presence and prompt state (STATUS).
func (r *Reader) Status(ctx context.Context) (Status, error) {
	var s Status
	err := r.call(ctx, func(l *link) error {
		var err error
		s, err = r.status(ctx, l)
		return err
	})
	return s, err
}

// Detect shows req.AmountText and waits until a card is inserted, tapped
// or swiped on one of req.Interfaces (zero: all). A card already in the
// slot or the field is reported at once. It returns ErrCardholderCancel
// when the cardholder presses cancel, ErrTimeout when req.Timeout passes
// on the reader, and ctx.Err() when ctx ends first; then detection is
// cancelled on the reader.
func (r *Reader) Detect(ctx context.Context, req DetectRequest) (Event, error) {
	if req.Interfaces == 0 {
		req.Interfaces = AllInterfaces
	}
	if req.Timeout <= 0 {
		if d, ok := ctx.Deadline(); ok {
			req.Timeout = time.Until(d)
		}
	}
	var ev Event
	err := r.call(ctx, func(l *link) error {
		l.drainEvents()
		arm := func() error {
			_, err := r.command(ctx, l, CmdDetect, req.Marshal())
			return err
		}
		if err := arm(); err != nil {
			return err
		}
		return r.await(ctx, l, stalled(func(s Status) bool { return s.Detecting }, arm), func(f Frame) (bool, error) {
			switch f.Type {
			case EvtCardInserted:
				ev = Event{Kind: CardInserted}
			case EvtCardTapped:
				ev = Event{Kind: CardTapped}
			case EvtCardSwiped:
				ev = Event{Kind: CardSwiped, Track2: f.Payload}
			case EvtKeyCancel:
				return true, ErrCardholderCancel
			case EvtTimeout:
				return true, ErrTimeout
			default:
				return false, nil
			}
			return true, nil
		})
	})
	return ev, err
}

// WaitRemoved returns once no card is in the slot or the field, such as
// after "Please remove card".
func (r *Reader) WaitRemoved(ctx context.Context) error {
	return r.call(ctx, func(l *link) error {
		l.drainEvents()
		s, err := r.status(ctx, l)
		if err != nil || !s.CardInSlot && !s.CardInField {
			return err
		}
		return r.await(ctx, l, func(s Status) (bool, error) {
			return !s.CardInSlot && !s.CardInField, nil
		}, func(f Frame) (bool, error) {
			return f.Type == EvtCardRemoved, nil
		})
	})
}

// PowerOn activates the card on iface (Contact or Contactless) and
// returns its answer to reset.
func (r *Reader) PowerOn(ctx context.Context, iface Interface) ([]byte, error) {
	if iface != Contact && iface != Contactless {
		return nil, fmt.Errorf("reader: power on %s: one of contact or contactless", iface)
	}
	var atr []byte
	err := r.call(ctx, func(l *link) error {
		f, err := r.command(ctx, l, CmdPowerOn, []byte{byte(iface)})
		atr = f.Payload
		return err
	})
	return atr, err
}

// Transmit sends one command APDU to the active card and returns its
// response, data and SW1 SW2, in one round trip. It has the shape of the
// EMV kernel's Transport. A card taken away during the exchange gives
// ErrCardRemoved.
func (r *Reader) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	if len(apdu) < 4 || len(apdu) > MaxPayload {
		return nil, fmt.Errorf("reader: command APDU of %d bytes", len(apdu))
	}
	var resp []byte
	err := r.call(ctx, func(l *link) error {
		f, err := r.command(ctx, l, CmdAPDU, apdu)
		if err == nil && len(f.Payload) < 2 {
			err = fmt.Errorf("%w: response APDU of %d bytes", ErrCard, len(f.Payload))
		}
		resp = f.Payload
		return err
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// TransmitBatch sends command APDUs to the active card in one exchange
// with the reader (APDUS) and returns the responses of the first of them,
// in order: the reader stops after a response whose status word is not
// 90 00, and before a command whose response might not fit in the
// answer. At least one response comes back; the caller sends the rest
// again. A reader without the APDUS capability gets the first command as
// one APDU.
func (r *Reader) TransmitBatch(ctx context.Context, apdus [][]byte) ([][]byte, error) {
	if len(apdus) == 0 {
		return nil, errors.New("reader: no command APDU")
	}
	r.mu.Lock()
	batch := r.info.Capabilities&CapAPDUBatch != 0
	r.mu.Unlock()
	if !batch || len(apdus) == 1 {
		resp, err := r.Transmit(ctx, apdus[0])
		if err != nil {
			return nil, err
		}
		return [][]byte{resp}, nil
	}
	sent, size := 0, 0
	for _, a := range apdus {
		if len(a) < 4 {
			return nil, fmt.Errorf("reader: command APDU of %d bytes", len(a))
		}
		if sent > 0 && size+2+len(a) > MaxPayload {
			break
		}
		sent, size = sent+1, size+2+len(a)
	}
	if size > MaxPayload {
		return nil, fmt.Errorf("reader: command APDU of %d bytes", len(apdus[0]))
	}
	var resps [][]byte
	err := r.call(ctx, func(l *link) error {
		f, err := r.command(ctx, l, CmdAPDUs, MarshalAPDUs(apdus[:sent]))
		if err != nil {
			return err
		}
		resps, err = ParseAPDUs(f.Payload)
		switch {
		case err != nil:
			return fmt.Errorf("%w: %v", ErrCard, err)
		case len(resps) == 0 || len(resps) > sent:
			return fmt.Errorf("%w: %d responses to %d APDUs", ErrCard, len(resps), sent)
		}
		for _, resp := range resps {
			if len(resp) < 2 {
				return fmt.Errorf("%w: response APDU of %d bytes", ErrCard, len(resp))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return resps, nil
}

// PowerOff deactivates the card.
func (r *Reader) PowerOff(ctx context.Context) error {
	return r.simple(ctx, CmdPowerOff, nil)
}

// Display shows lines of text (UTF-8) on the reader.
func (r *Reader) Display(ctx context.Context, lines ...string) error {
	return r.simple(ctx, CmdDisplay, MarshalLines(lines))
}

// Beep sounds the buzzer count times for d each.
func (r *Reader) Beep(ctx context.Context, count int, d time.Duration) error {
	return r.simple(ctx, CmdBeep, BeepRequest{Count: count, Duration: d}.Marshal())
}

// SetLEDs lights the contactless status LEDs in leds and turns the
// others off.
func (r *Reader) SetLEDs(ctx context.Context, leds LEDs) error {
	return r.simple(ctx, CmdLEDs, []byte{byte(leds)})
}

// OnlinePIN asks the cardholder for a PIN on the PIN pad, which returns
// it as an ISO 9564 format 0 PIN block (built with pan) encrypted under
// its current DUKPT PIN key, with the key serial number. The clear PIN
// never leaves the PIN pad. It returns ErrCardholderCancel,
// ErrPINBypassed, ErrTimeout, ErrPINPad, or ctx.Err() (the prompt is then
// cancelled on the reader).
func (r *Reader) OnlinePIN(ctx context.Context, pan string, amountText string) (pinBlock, ksn []byte, err error) {
	if err := CheckPAN(pan); err != nil {
		return nil, nil, err
	}
	req := OnlinePINRequest{Timeout: r.cfg.PINTimeout, PAN: pan, AmountText: amountText}
	payload := req.Marshal()
	defer clear(payload)
	err = r.call(ctx, func(l *link) error {
		l.drainEvents()
		if _, err := r.command(ctx, l, CmdOnlinePIN, payload); err != nil {
			return err
		}
		return r.await(ctx, l, stalled(func(s Status) bool { return s.PINEntry }, nil), func(f Frame) (bool, error) {
			switch f.Type {
			case EvtPIN:
				e, err := ParsePINEvent(f.Payload)
				clear(f.Payload)
				switch {
				case err != nil:
					return true, fmt.Errorf("%w: %w", ErrRejected, err)
				case e.Outcome == PINBypassed:
					return true, ErrPINBypassed
				case e.Outcome != PINOnline:
					return true, fmt.Errorf("%w: online PIN answered with %s", ErrRejected, e)
				}
				pinBlock, ksn = e.Block, e.KSN
				return true, nil
			case EvtKeyCancel:
				return true, ErrCardholderCancel
			case EvtTimeout:
				return true, ErrTimeout
			}
			return false, nil
		})
	})
	if err != nil {
		return nil, nil, err
	}
	return pinBlock, ksn, nil
}

// OfflinePINStatus is the card's verdict on an offline PIN.
type OfflinePINStatus int

// Offline PIN verdicts.
const (
	PINVerified OfflinePINStatus = iota + 1 // 9000
	PINWrong                                // 63Cx: x tries left
	PINBlocked                              // 6983, 6984, or 63C0
)

// String names the verdict.
func (s OfflinePINStatus) String() string {
	switch s {
	case PINVerified:
		return "verified"
	case PINWrong:
		return "wrong"
	case PINBlocked:
		return "blocked"
	}
	return fmt.Sprintf("OfflinePINStatus(%d)", int(s))
}

// OfflinePINResult is the card's answer to the offline PIN the reader
// presented.
type OfflinePINResult struct {
	Status    OfflinePINStatus
	TriesLeft int    // for PINWrong; 0 for PINBlocked; -1 when unknown
	SW        uint16 // SW1 SW2 of the card's answer to VERIFY
}

// OfflinePIN asks the cardholder for a PIN, which the reader presents to
// the active card itself (VERIFY, plaintext PIN); only the card's verdict
// comes back. The prompt shows the amount text of the last Detect. It
// returns ErrCardholderCancel, ErrPINBypassed, ErrTimeout,
// ErrCardRemoved, or ctx.Err() (the prompt is then cancelled on the
// reader). A status word that is no verdict gives an error wrapping
// ErrCard, with the result's SW set.
func (r *Reader) OfflinePIN(ctx context.Context) (OfflinePINResult, error) {
	var res OfflinePINResult
	err := r.call(ctx, func(l *link) error {
		l.drainEvents()
		req := OfflinePINRequest{Timeout: r.cfg.PINTimeout}
		if _, err := r.command(ctx, l, CmdOfflinePIN, req.Marshal()); err != nil {
			return err
		}
		return r.await(ctx, l, stalled(func(s Status) bool { return s.PINEntry }, nil), func(f Frame) (bool, error) {
			switch f.Type {
			case EvtPIN:
				e, err := ParsePINEvent(f.Payload)
				switch {
				case err != nil:
					return true, fmt.Errorf("%w: %w", ErrRejected, err)
				case e.Outcome == PINBypassed:
					return true, ErrPINBypassed
				case e.Outcome != PINOffline:
					return true, fmt.Errorf("%w: offline PIN answered with %s", ErrRejected, e)
				}
				res, err = offlineResult(e.SW)
				return true, err
			case EvtKeyCancel:
				return true, ErrCardholderCancel
			case EvtTimeout:
				return true, ErrTimeout
			case EvtCardRemoved:
				return true, ErrCardRemoved
			}
			return false, nil
		})
	})
	return res, err
}

func offlineResult(sw uint16) (OfflinePINResult, error) {
	switch {
	case sw == 0x9000:
		return OfflinePINResult{Status: PINVerified, TriesLeft: -1, SW: sw}, nil
	case sw == 0x63C0, sw == 0x6983, sw == 0x6984:
		return OfflinePINResult{Status: PINBlocked, SW: sw}, nil
	case sw&0xFFF0 == 0x63C0:
		return OfflinePINResult{Status: PINWrong, TriesLeft: int(sw & 0x0F), SW: sw}, nil
	}
	return OfflinePINResult{SW: sw}, fmt.Errorf("%w: VERIFY answered %04X", ErrCard, sw)
}

// Stats are the driver's counters since New, across reopened ports.
type Stats struct {
	FramesSent, FramesReceived int64
	BytesSent, BytesReceived   int64 // every byte written and read, noise included
	Commands                   int64 // commands sent (each counted once)
	Retransmissions            int64 // commands sent again
	NAKsSent, NAKsReceived     int64
	BytesDiscarded             int64 // noise and damaged frames dropped by the decoder
	Events                     int64 // events received (each counted once)
	DuplicateEvents            int64 // repeated events acknowledged again and not delivered
	Opens                      int64 // times the port was opened
}

// Stats returns the driver's counters.
func (r *Reader) Stats() Stats {
	return Stats{
		FramesSent:      r.st.framesSent.Load(),
		FramesReceived:  r.st.framesReceived.Load(),
		BytesSent:       r.st.bytesSent.Load(),
		BytesReceived:   r.st.bytesReceived.Load(),
		Commands:        r.st.commands.Load(),
		Retransmissions: r.st.retransmissions.Load(),
		NAKsSent:        r.st.naksSent.Load(),
		NAKsReceived:    r.st.naksReceived.Load(),
		BytesDiscarded:  r.st.bytesDiscarded.Load(),
		Events:          r.st.events.Load(),
		DuplicateEvents: r.st.duplicateEvents.Load(),
		Opens:           r.st.opens.Load(),
	}
}

// LastInfo is the INFO the reader gave when the port was last opened.
func (r *Reader) LastInfo() Info {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.info
}

// simple runs a command whose OK answer carries nothing of interest.
func (r *Reader) simple(ctx context.Context, t Type, payload []byte) error {
	return r.call(ctx, func(l *link) error {
		_, err := r.command(ctx, l, t, payload)
		return err
	})
}

// call takes the turn, makes sure the port is open, runs fn, and drops
// the port when the link failed.
func (r *Reader) call(ctx context.Context, fn func(*link) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case r.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-r.done:
		return ErrClosed
	}
	defer func() { <-r.turn }()
	if r.closed {
		return ErrClosed
	}
	if r.link != nil && !r.link.alive() {
		r.drop(nil)
	}
	fresh := r.link == nil
	if fresh {
		if err := r.connect(ctx); err != nil {
			return err
		}
	}
	err := fn(r.link)
	var notSent *notSentError
	if !fresh && errors.As(err, &notSent) {
		// The port failed before the reader got anything: it may have been
		// replugged since the last call. Once more on a fresh port.
		r.drop(err)
		if err := r.connect(ctx); err != nil {
			return err
		}
		err = fn(r.link)
	}
	if isLinkError(err) || r.link != nil && !r.link.alive() {
		r.cfg.Logger.Warn().Err(err).Str("device", r.cfg.Device).Msg("reader: link lost; the port is opened again on the next call")
		r.drop(err)
	}
	return err
}

// connect opens the port and resets the link with INFO, SEQ 0.
func (r *Reader) connect(ctx context.Context) error {
	mode := &serial.Mode{BaudRate: r.cfg.Baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit}
	port, err := serial.Open(r.cfg.Device, mode)
	if err != nil {
		r.linkDown(nil, err)
		return &linkError{op: "open " + r.cfg.Device, err: disconnected(err)}
	}
	if err := port.ResetInputBuffer(); err != nil {
		port.Close()
		r.linkDown(nil, err)
		return &linkError{op: "open " + r.cfg.Device, err: disconnected(err)}
	}
	r.st.opens.Add(1)
	l := newLink(port, r.cfg, &r.st)
	l.start()
	f, err := l.exchangeSeq(ctx, 0, CmdInfo, nil)
	if err == nil && f.Type != RespOK {
		err = fmt.Errorf("%w: INFO answered %s", ErrRejected, f.Type)
	}
	var in Info
	if err == nil {
		in, err = ParseInfo(f.Payload)
	}
	if err != nil {
		l.shutdown(err)
		r.linkDown(nil, err)
		if isLinkError(err) {
			return &linkError{op: "open " + r.cfg.Device, err: err}
		}
		return err
	}
	r.mu.Lock()
	r.info = in
	r.mu.Unlock()
	r.link = l
	r.linkUp(l)
	r.cfg.Logger.Debug().Str("device", r.cfg.Device).Str("model", in.Model).Str("firmware", in.Firmware).Msg("reader: connected")
	r.stateChanged(true, nil)
	return nil
}

// drop closes the port; the next call opens it again.
func (r *Reader) drop(why error) {
	if r.link != nil {
		if why == nil {
			why = ErrDisconnected
		}
		r.link.shutdown(why)
		r.link = nil
		r.stateChanged(false, why)
	}
}

// command runs one command and turns a status other than OK into a
// *StatusError. When ctx ends first it cancels on the reader.
func (r *Reader) command(ctx context.Context, l *link, t Type, payload []byte) (Frame, error) {
	f, err := l.exchange(ctx, t, payload)
	if err != nil {
		if ctx.Err() != nil && !isLinkError(err) {
			r.cancel(l)
			return Frame{}, ctx.Err()
		}
		if isLinkError(err) {
			return Frame{}, &linkError{op: t.String(), err: err}
		}
		return Frame{}, err
	}
	if f.Type != RespOK {
		return f, &StatusError{Command: t, Status: f.Type}
	}
	return f, nil
}

// status runs STATUS.
func (r *Reader) status(ctx context.Context, l *link) (Status, error) {
	f, err := r.command(ctx, l, CmdStatus, nil)
	if err != nil {
		return Status{}, err
	}
	return ParseStatus(f.Payload)
}

// cancel tells the reader to stop whatever it is doing (CANCEL), within
// a budget of its own: the caller's context has ended.
func (r *Reader) cancel(l *link) {
	ctx, stop := context.WithTimeout(context.Background(), time.Duration(r.cfg.MaxTries+1)*r.cfg.ResponseTimeout)
	defer stop()
	if _, err := l.exchange(ctx, CmdCancel, nil); err != nil {
		r.cfg.Logger.Debug().Err(err).Msg("reader: CANCEL not answered")
	}
}

// await waits for the event that ends a prompt: handle returns true
// when an event ends the wait. Every Heartbeat it asks the reader for
// STATUS, to notice a reader that went silent, and passes the answer to
// check, which may also end the wait. When ctx ends or the Reader is
// closed, the prompt is cancelled on the reader.
func (r *Reader) await(ctx context.Context, l *link, check func(Status) (bool, error), handle func(Frame) (bool, error)) error {
	hb := time.NewTicker(r.cfg.Heartbeat)
	defer hb.Stop()
	for {
		select {
		case f := <-l.events:
			if done, err := handle(f); done {
				return err
			}
		case <-hb.C:
			if len(l.events) > 0 {
				continue
			}
			s, err := r.status(ctx, l)
			if err != nil {
				return err
			}
			if done, err := check(s); done {
				return err
			}
		case <-l.dead:
			return &linkError{op: "waiting for the cardholder", err: l.failure()}
		case <-ctx.Done():
			r.cancel(l)
			return ctx.Err()
		case <-r.done:
			r.cancel(l)
			return ErrClosed
		}
	}
}

// stalled returns a STATUS check for a prompt: a prompt that is not
// running on two heartbeats in a row, while its ending event has not come
// (the reader restarted, say), is armed again with rearm, or ends the wait
// with an error when rearm is nil.
func stalled(running func(Status) bool, rearm func() error) func(Status) (bool, error) {
	missing := 0
	return func(s Status) (bool, error) {
		if running(s) {
			missing = 0
			return false, nil
		}
		if missing++; missing < 2 {
			return false, nil
		}
		missing = 0
		if rearm == nil {
			return true, fmt.Errorf("%w: the prompt ended on the reader without a result", ErrPINPad)
		}
		if err := rearm(); err != nil {
			return true, err
		}
		return false, nil
	}
}
