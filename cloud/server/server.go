// Package server assembles one relay process: the embedded NATS node (or a
// connection to an existing cluster), the JetStream store, the terminal
// link, the cloudECR-compatible API, the native passthrough, the simulator
// controls, TLS and metrics. cmd/cashless-cloud parses flags into a Config
// and calls Start.
package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/certs"
	"github.com/vinr/cashlessd/cloud/accounts"
	"github.com/vinr/cashlessd/cloud/auth"
	"github.com/vinr/cashlessd/cloud/clock"
	"github.com/vinr/cashlessd/cloud/fiuu"
	"github.com/vinr/cashlessd/cloud/native"
	"github.com/vinr/cashlessd/cloud/natsnode"
	"github.com/vinr/cashlessd/cloud/relay"
	"github.com/vinr/cashlessd/cloud/store"
	"github.com/vinr/cashlessd/daemon/metrics"
	"github.com/vinr/cashlessd/relaylink"
)

// The simulator's POS account (the docs' example secret, so the published
// signature example applies).
const (
	SimulatorPosID      = "fiuuPos1"
	SimulatorPassword   = "ck_test_simulator"
	SimulatorMerchantID = "fiuuMerch1"
	SimulatorSecret     = "75DC529B942513DFA77F43EC3451F137"
)

// Config is one relay process.
type Config struct {
	// Listen is the HTTPS address of the APIs.
	Listen string
	// DataDir holds the relay key, the development certificates and the
	// embedded NATS server's files.
	DataDir string
	// CertFile, KeyFile serve a configured certificate; empty: a
	// development CA under <data-dir>/certs. Hosts are extra names for it.
	CertFile, KeyFile string
	Hosts             []string
	// RelayKeyFile is the key every relay of one cloud shares (default
	// <data-dir>/relay.key).
	RelayKeyFile string
	// NATSURL joins an existing NATS (no embedded server); NATSCAFile is
	// the CA it is trusted with; the URL carries its credentials.
	NATSURL, NATSCAFile string
	// NATSListen is the embedded server's client address (terminals).
	NATSListen string
	// NATSName names the embedded node (unique in a cluster).
	NATSName string
	// ClusterListen, Routes, ClusterName, ClusterUser, ClusterPassword
	// join the embedded node to other relays' nodes.
	ClusterListen, ClusterName   string
	Routes                       []string
	ClusterUser, ClusterPassword string
	Replicas                     int
	// NATSLogs writes the embedded NATS server's log to stderr.
	NATSLogs bool
	// MetricsListen serves Prometheus metrics over plain HTTP ("" none).
	MetricsListen string
	// Simulator enables the simulator account, the simulator credential
	// for terminals and /simulator/v1/clock.
	Simulator bool
	// TransferWait is how long a call waits for a terminal (default 80 s).
	TransferWait time.Duration
	Log          zerolog.Logger
}

// Process is a running relay.
type Process struct {
	// HTTPAddr is where the APIs listen; NATSAddr where terminals connect
	// (nil with an external NATS); CAFile the development CA ("" with
	// configured certificates); MetricsAddr the metrics listener.
	HTTPAddr, NATSAddr, MetricsAddr net.Addr
	CAFile                          string
	// Accounts and Relay are exposed for the admin commands and tests.
	Accounts *accounts.Service
	Relay    *relay.Relay
	Store    *store.Store

	ns      *natsserver.Server
	nc      *nats.Conn
	http    *http.Server
	cancel  context.CancelFunc
	stopMet func()
	done    chan struct{}
	closed  atomic.Bool
}

// Closed reports whether Close was called.
func (p *Process) Closed() bool { return p.closed.Load() }

// Start starts a relay process.
func Start(ctx context.Context, cfg Config) (*Process, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	p := &Process{done: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			p.Close()
		}
	}()
	tlsConfig, caFile, err := serverTLS(cfg)
	if err != nil {
		return nil, err
	}
	p.CAFile = caFile
	keyFile := cfg.RelayKeyFile
	if keyFile == "" {
		keyFile = filepath.Join(cfg.DataDir, "relay.key")
	}
	keys, err := auth.LoadOrCreateKey(keyFile)
	if err != nil {
		return nil, fmt.Errorf("relay key: %w", err)
	}
	var clk clock.Clock = clock.System{}
	var simClock *clock.Offset
	if cfg.Simulator {
		simClock = &clock.Offset{}
		clk = simClock
	}
	simMerchant := ""
	if cfg.Simulator {
		simMerchant = SimulatorMerchantID
	}

	// NATS: the embedded node, or an existing cluster.
	dir := &lateDirectory{}
	var authn *natsnode.Authenticator
	if cfg.NATSURL == "" {
		token := keys.NATSToken()
		authn = natsnode.NewAuthenticator(token, dir, cfg.Simulator, cfg.Log)
		p.ns, err = natsnode.Start(natsnode.Options{Name: cfg.NATSName, DataDir: cfg.DataDir, Listen: cfg.NATSListen, TLS: tlsConfig,
			ClusterName: cfg.ClusterName, ClusterListen: cfg.ClusterListen, Routes: cfg.Routes,
			ClusterUser: cfg.ClusterUser, ClusterPassword: cfg.ClusterPassword, Auth: authn, Logs: cfg.NATSLogs})
		if err != nil {
			return nil, fmt.Errorf("embedded nats: %w", err)
		}
		authn.Attach(p.ns)
		p.NATSAddr = p.ns.Addr()
		p.nc, err = nats.Connect("", nats.InProcessServer(p.ns), nats.Token(token), nats.Name("cashless-cloud"),
			nats.MaxReconnects(-1))
	} else {
		opts := []nats.Option{nats.Name("cashless-cloud"), nats.MaxReconnects(-1)}
		if cfg.NATSCAFile != "" {
			opts = append(opts, nats.RootCAs(cfg.NATSCAFile))
		}
		p.nc, err = nats.Connect(cfg.NATSURL, opts...)
	}
	if err != nil {
		return nil, fmt.Errorf("nats connection: %w", err)
	}
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	p.Store, err = openStore(sctx, p.nc, cfg.Replicas)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	p.Accounts = accounts.New(p.Store, keys, clk)
	if cfg.Simulator {
		if err := p.Accounts.EnsureSimulator(sctx, SimulatorMerchantID, SimulatorPosID,
			accounts.POSSecrets{Password: SimulatorPassword, Secret: SimulatorSecret}); err != nil && !errors.Is(err, store.ErrExists) {
			return nil, fmt.Errorf("simulator account: %w", err)
		}
	}
	var kicker relay.Kicker
	if authn != nil {
		kicker = authn
	}
	p.Relay = relay.New(p.nc, p.Store, clk, cfg.Log, relay.Options{SimulatorMerchant: simMerchant, Kicker: kicker})
	dir.set(p.Relay)
	if err := p.Relay.Start(); err != nil {
		return nil, err
	}
	sessions := auth.NewSessions(keys, p.Store, clk)
	fiuuAPI := fiuu.New(p.Accounts, sessions, auth.NewLockout(p.Store, clk), p.Relay, p.Store, clk, cfg.Log,
		fiuu.Options{Wait: cfg.TransferWait})
	nativeAPI := native.New(p.Accounts, fiuuAPI, p.Relay, p.Store, clk, cfg.Log, cfg.TransferWait)

	runCtx, runCancel := context.WithCancel(context.WithoutCancel(ctx))
	p.cancel = runCancel
	go func() {
		defer close(p.done)
		for runCtx.Err() == nil {
			err := p.Relay.ConsumeOutcomes(runCtx, func(ctx context.Context, o relaylink.OutcomeMessage) error {
				return fiuuAPI.RecordOutcome(ctx, o.TerminalID, o.Endpoint, o.Reference, o.HTTPStatus, o.Body)
			})
			if err != nil && runCtx.Err() == nil {
				cfg.Log.Warn().Err(err).Msg("outcome consumer; retrying")
				select {
				case <-runCtx.Done():
				case <-time.After(2 * time.Second):
				}
			}
		}
	}()

	var m *metrics.Metrics
	if cfg.MetricsListen != "" {
		m = metrics.New()
		m.Gauge("cashless_cloud_terminals_connected", func() float64 { return float64(p.Relay.Connected()) })
		at, stop, err := m.Listen(cfg.MetricsListen)
		if err != nil {
			return nil, err
		}
		p.MetricsAddr, p.stopMet = at, stop
	}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.IPExtractor = echo.ExtractIPDirect()
	e.Use(middleware.Recover())
	e.Use(middleware.BodyLimit("64K"))
	e.Use(logRequests(cfg.Log, m))
	fiuuAPI.Register(e)
	nativeAPI.Register(e)
	if simClock != nil {
		e.POST("/simulator/v1/clock", simulatorClock(simClock))
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, err
	}
	p.HTTPAddr = ln.Addr()
	p.http = &http.Server{Handler: e, TLSConfig: tlsConfig, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 150 * time.Second, IdleTimeout: 120 * time.Second}
	go func() { _ = p.http.Serve(tls.NewListener(ln, tlsConfig)) }()
	cfg.Log.Info().Str("https", p.HTTPAddr.String()).Interface("nats", p.NATSAddr).Bool("simulator", cfg.Simulator).Msg("cashless-cloud listening")
	ok = true
	return p, nil
}

func openStore(ctx context.Context, nc *nats.Conn, replicas int) (*store.Store, error) {
	var last error
	for attempt := 1; ctx.Err() == nil; attempt++ {
		// A JetStream cluster still electing its leaders drops requests:
		// each attempt gets a few seconds, a little more every time.
		actx, cancel := context.WithTimeout(ctx, time.Duration(min(attempt, 4))*5*time.Second)
		s, err := store.Open(actx, nc, store.Options{Replicas: replicas})
		cancel()
		if err == nil {
			return s, nil
		}
		last = err
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
	return nil, last
}

// Close stops the process: HTTP first, then the link, then NATS.
func (p *Process) Close() {
	if p.closed.Swap(true) {
		return
	}
	if p.http != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = p.http.Shutdown(sctx)
		cancel()
	}
	if p.cancel != nil {
		p.cancel()
		<-p.done
	}
	if p.stopMet != nil {
		p.stopMet()
	}
	if p.Relay != nil {
		p.Relay.Stop()
	}
	if p.nc != nil {
		p.nc.Close()
	}
	if p.ns != nil {
		p.ns.Shutdown()
		p.ns.WaitForShutdown()
	}
}

func serverTLS(cfg Config) (*tls.Config, string, error) {
	if cfg.CertFile != "" {
		c, err := certs.ServerConfig(certs.Files{Cert: cfg.CertFile, Key: cfg.KeyFile})
		return c, "", err
	}
	f, err := certs.EnsureDev(filepath.Join(cfg.DataDir, "certs"), cfg.Hosts, time.Now())
	if err != nil {
		return nil, "", fmt.Errorf("development certificates: %w", err)
	}
	c, err := certs.ServerConfig(f)
	return c, f.CA, err
}

// Admin is what the admin commands need: the store, the account service
// and the relay link (for unbind), over a NATS connection made with the
// relay key.
type Admin struct {
	Accounts *accounts.Service
	Relay    *relay.Relay
	nc       *nats.Conn
}

// Close closes the admin's connection.
func (a *Admin) Close() { a.nc.Close() }

// OpenAdmin connects to a relay's NATS (url, trusted with caFile) with the
// token derived from the relay key in keyFile.
func OpenAdmin(ctx context.Context, url, caFile, keyFile string) (*Admin, error) {
	keys, err := auth.LoadOrCreateKey(keyFile)
	if err != nil {
		return nil, err
	}
	opts := []nats.Option{nats.Name("cashless-cloud admin")}
	if caFile != "" {
		opts = append(opts, nats.RootCAs(caFile))
	}
	if !strings.Contains(url, "@") {
		opts = append(opts, nats.Token(keys.NATSToken()))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, err
	}
	s, err := store.Open(ctx, nc, store.Options{Existing: true})
	if err != nil {
		nc.Close()
		return nil, err
	}
	return &Admin{Accounts: accounts.New(s, keys, clock.System{}), Relay: relay.New(nc, s, clock.System{}, zerolog.Nop(), relay.Options{}), nc: nc}, nil
}

// lateDirectory lets the NATS authenticator exist before the relay (the
// relay needs the connection the server gives): until then it refuses.
type lateDirectory struct {
	r atomicRelay
}

func (d *lateDirectory) set(r *relay.Relay) { d.r.Store(r) }

func (d *lateDirectory) TerminalByKey(ctx context.Context, publicKey string) (string, error) {
	r := d.r.Load()
	if r == nil {
		return "", errors.New("relay starting")
	}
	return r.TerminalByKey(ctx, publicKey)
}

func (d *lateDirectory) EnrollSimulator(ctx context.Context, terminalID, publicKey string) (string, error) {
	r := d.r.Load()
	if r == nil {
		return "", errors.New("relay starting")
	}
	return r.EnrollSimulator(ctx, terminalID, publicKey)
}

func (d *lateDirectory) EnrollPrebound(ctx context.Context, terminalID, publicKey string) (string, error) {
	r := d.r.Load()
	if r == nil {
		return "", errors.New("relay starting")
	}
	return r.EnrollPrebound(ctx, terminalID, publicKey)
}

func simulatorClock(c *clock.Offset) echo.HandlerFunc {
	return func(ctx echo.Context) error {
		var body struct {
			AdvanceSeconds *int64 `json:"advanceSeconds"`
		}
		if err := json.NewDecoder(ctx.Request().Body).Decode(&body); err != nil || body.AdvanceSeconds == nil || *body.AdvanceSeconds < 0 {
			return ctx.JSON(http.StatusBadRequest, map[string]any{"error": map[string]string{"code": "invalid_request", "message": "advanceSeconds (≥ 0) is required"}})
		}
		now := c.Advance(time.Duration(*body.AdvanceSeconds) * time.Second)
		return ctx.JSON(http.StatusOK, map[string]string{"now": now.UTC().Format(time.RFC3339)})
	}
}

func logRequests(log zerolog.Logger, m *metrics.Metrics) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			status := c.Response().Status
			path := c.Path()
			if m != nil {
				m.Request(path, status, time.Since(start))
			}
			ev := log.Info()
			if status >= 500 {
				ev = log.Warn()
			}
			ev.Str("method", c.Request().Method).Str("path", strings.SplitN(c.Request().URL.Path, "?", 2)[0]).Int("status", status).
				Dur("took", time.Since(start)).Str("client", c.RealIP()).Msg("request")
			return nil
		}
	}
}
