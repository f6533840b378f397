package host

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/host/iso8583"
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
	// Dialect is the message layout the acquirer speaks: DialectDefault
	// ("" too) or DialectBCDTPDU.
	Dialect string
	// TPDU is the 5-byte TPDU sent in a dialect that has one; nil means
	// DefaultTPDU.
	TPDU []byte
	// Counters keeps the STAN and the batch number across restarts.
	Counters Counters
	// Log receives link events. It never sees a PAN, PIN block, track or
	// chip data. The zero Logger discards everything.
	Log zerolog.Logger
}

// Client is the acquirer link. It implements daemon.Host and is safe for
// concurrent use.
type Client struct {
	cfg     Config
	spec    *iso8583.Spec
	dialect string
	tpdu    []byte
	log     zerolog.Logger

	// dialing is a one-slot semaphore: one goroutine connects at a time,
	// the others wait for it or for their context.
	dialing chan struct{}

	mu     sync.Mutex // guards conn and closed
	conn   *hostLink
	closed bool

	// order is held from taking a STAN until the writer has taken its
	// message, so STANs go on the wire in the order they are taken.
	order sync.Mutex
	sent  *sentLog
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
	if cfg.Dialect == "" {
		cfg.Dialect = DialectDefault
	}
	spec, err := SpecFor(cfg.Dialect)
	if err != nil {
		return nil, err
	}
	tpdu := cfg.TPDU
	if tpdu == nil {
		tpdu = DefaultTPDU()
	}
	if len(tpdu) != iso8583.TPDULength || tpdu[0] != iso8583.TPDUID {
		return nil, fmt.Errorf("host: TPDU %x is not %d bytes starting with %02x", tpdu, iso8583.TPDULength, iso8583.TPDUID)
	}
	return &Client{
		cfg:     cfg,
		spec:    spec,
		dialect: cfg.Dialect,
		tpdu:    tpdu,
		log:     cfg.Log.With().Str("component", "host").Str("terminalId", strings.TrimSpace(tid)).Logger(),
		dialing: make(chan struct{}, 1),
		sent:    newSentLog(256),
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

// Close closes the link at once (the host needs no sign-off); requests
// still waiting for an answer end with daemon.ErrOutcomeUnknown, and later
// ones with ErrClosed.
func (c *Client) Close() error {
	c.mu.Lock()
	c.closed = true
	conn := c.conn
	c.conn = nil
	c.mu.Unlock()
	c.health.lost(ErrClosed, false)
	if conn != nil {
		conn.fail(ErrClosed)
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

// header fills the fields every terminal-originated message carries but
// the STAN and transmission time, which the message takes when it is sent.
func (c *Client) header(mti string) *Fields {
	return &Fields{MTI: mti, TerminalID: c.cfg.TerminalID}
}
