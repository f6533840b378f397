package host

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/daemon"
)

// DefaultTimeout is how long a request waits for its answer when
// Config.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// ErrClosed is returned (wrapped in daemon.ErrHostUnreachable) once Close
// has been called.
var ErrClosed = errors.New("host: client closed")

// Config configures a Client.
type Config struct {
	// Address is the host's host:port.
	Address string
	// TLS, when set, wraps the connection in TLS; nil means plain TCP.
	// ServerName defaults to the host part of Address.
	TLS *tls.Config
	// TerminalID (field 41, at most 8 characters) and MerchantID (field 42,
	// at most 15) are padded with spaces.
	TerminalID string
	MerchantID string
	// Timeout bounds connecting and each request's wait for its answer;
	// zero means DefaultTimeout. A shorter context deadline wins.
	Timeout time.Duration
	// EchoInterval is how long the link may stay idle before an echo
	// (0800, network code 301) checks it; zero disables echoes.
	EchoInterval time.Duration
	// Counters keeps the STAN and the batch number across restarts.
	Counters Counters
	// Log receives link events. It never sees a PAN, PIN block, track or
	// chip data. The zero Logger discards everything.
	Log zerolog.Logger
}

// Client is the acquirer link. It implements daemon.Host and is safe for
// concurrent use.
type Client struct {
	cfg  Config
	spec *iso8583.MessageSpec
	log  zerolog.Logger

	// dialing is a one-slot semaphore: one goroutine connects at a time,
	// the others wait for it or for their context.
	dialing chan struct{}

	mu     sync.Mutex // guards conn and closed
	conn   *hostLink
	closed bool

	sent   *sentLog
	writes *writeTracker
	// uploads holds the batch numbers UploadBatch delivered in full, so
	// the next Settle of that batch is the one after the upload.
	uploads uploadedBatches
	// health is what status and diag learn of the link.
	health linkHealth
}

var (
	_ daemon.Host          = (*Client)(nil)
	_ daemon.BatchUploader = (*Client)(nil)
)

// New checks cfg and returns a Client. It does not connect: the first
// request (or Connect) does.
func New(cfg Config) (*Client, error) {
	if cfg.Address == "" {
		return nil, errors.New("host: Address is required")
	}
	if cfg.Counters == nil {
		return nil, errors.New("host: Counters is required")
	}
	tid, err := padField(cfg.TerminalID, 8, "TerminalID")
	if err != nil {
		return nil, err
	}
	mid, err := padField(cfg.MerchantID, 15, "MerchantID")
	if err != nil {
		return nil, err
	}
	cfg.TerminalID, cfg.MerchantID = tid, mid
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.EchoInterval < 0 {
		cfg.EchoInterval = 0
	}
	return &Client{
		cfg:     cfg,
		spec:    Spec(),
		log:     cfg.Log.With().Str("component", "host").Str("terminalId", strings.TrimSpace(tid)).Logger(),
		dialing: make(chan struct{}, 1),
		sent:    newSentLog(256),
		writes:  newWriteTracker(),
	}, nil
}

// padField right-pads an identifier with spaces to its fixed length.
func padField(v string, n int, name string) (string, error) {
	if v == "" {
		return "", fmt.Errorf("host: %s is required", name)
	}
	if len(v) > n {
		return "", fmt.Errorf("host: %s %q is longer than %d characters", name, v, n)
	}
	return v + strings.Repeat(" ", n-len(v)), nil
}

// Connect opens the link and signs on, unless it is already up. Requests
// connect by themselves; Connect lets the daemon check the host at start.
func (c *Client) Connect(ctx context.Context) error {
	_, err := c.link(ctx)
	return err
}

// closeWait bounds how long Close waits for the connection to close.
const closeWait = 2 * time.Second

// Close closes the link at once (the host needs no sign-off); requests
// still waiting for an answer end with daemon.ErrOutcomeUnknown, and later
// ones with ErrClosed.
//
// It waits at most closeWait for the connection to finish closing:
// iso8583-connection v0.9.0 can block for good while closing when a
// request's Send has just stopped waiting (its timeout or answer) but not
// yet left the pending table, because the closer hands that request the
// error on an unbuffered channel while holding the table's lock. The
// socket is then left to the host to close; nothing is sent on it again.
func (c *Client) Close() error {
	c.mu.Lock()
	c.closed = true
	conn := c.conn
	c.conn = nil
	c.mu.Unlock()
	c.health.lost(ErrClosed, false)
	if conn == nil {
		return nil
	}
	closed := make(chan struct{})
	go func() {
		conn.TriggerFailure(ErrClosed)
		close(closed)
	}()
	t := time.NewTimer(closeWait)
	defer t.Stop()
	select {
	case <-closed:
	case <-t.C:
		c.log.Warn().Msg("host link did not finish closing; left behind")
	}
	return nil
}

// Echo sends a network management echo (0800, code 301) and waits for its
// answer.
func (c *Client) Echo(ctx context.Context) error {
	conn, err := c.link(ctx)
	if err != nil {
		return err
	}
	return c.network(ctx, conn, NetworkEcho)
}

// nextSTAN takes the next trace number from the persistent counter.
func (c *Client) nextSTAN() (string, error) {
	n, err := c.cfg.Counters.Next(CounterSTAN)
	if err != nil {
		return "", fmt.Errorf("%w: STAN counter: %w", daemon.ErrHostUnreachable, err)
	}
	return sixDigits(n), nil
}

// openBatch is the number of the batch transactions join now (field 60).
func (c *Client) openBatch() (string, error) {
	n, err := c.cfg.Counters.Current(CounterBatch)
	if err != nil {
		return "", fmt.Errorf("%w: batch counter: %w", daemon.ErrHostUnreachable, err)
	}
	return sixDigits(n + 1), nil
}

// settlingBatch is the batch number a settlement or upload of b goes
// under: the one fixed on b when it began settling, or else the open
// batch's.
func (c *Client) settlingBatch(b *daemon.Batch) (string, error) {
	if b.HostBatch > 0 {
		return sixDigits(b.HostBatch), nil
	}
	return c.openBatch()
}

// header fills the fields every terminal-originated message carries.
func (c *Client) header(mti, stan string, now time.Time) *Fields {
	return &Fields{
		MTI:              mti,
		TransmissionTime: now.UTC().Format("0102150405"),
		STAN:             stan,
		TerminalID:       c.cfg.TerminalID,
	}
}
