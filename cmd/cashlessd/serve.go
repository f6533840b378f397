package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/certs"
	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/admin"
	"github.com/vinr/cashlessd/daemon/api"
	"github.com/vinr/cashlessd/daemon/api/connlimit"
	"github.com/vinr/cashlessd/daemon/audit"
	"github.com/vinr/cashlessd/daemon/auth"
	"github.com/vinr/cashlessd/daemon/config"
	"github.com/vinr/cashlessd/daemon/logging"
	"github.com/vinr/cashlessd/daemon/metrics"
	"github.com/vinr/cashlessd/daemon/store"
	"github.com/vinr/cashlessd/discovery"
	"github.com/vinr/cashlessd/hardware"
)

// shutdownGrace bounds how long SIGTERM waits for a running transaction,
// unless Main.ShutdownGrace says otherwise.
const shutdownGrace = 30 * time.Second

// answerGrace is how long the HTTP server waits past shutdownGrace, so the
// ECR still gets the answer of a transaction the grace cut short.
const answerGrace = 5 * time.Second

// loadConfig parses serve's (or print-test's) flags over the config file.
func (m *Main) loadConfig(name string, args []string) (config.Config, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	var (
		file       = fs.String("config", "", "TOML configuration file")
		listen     = fs.String("listen", "", "address to listen on (default :8443)")
		dataDir    = fs.String("data-dir", "", "data directory (default /var/lib/cashlessd)")
		simulator  = fs.Bool("simulator", false, "simulate the card reader, printer and acquirer host")
		model      = fs.String("model", "", "terminal model (nexgo_n92, nexgo_ct20, nexgo_ct20p, nexgo_n86pro, ciontek_cm30)")
		terminalID = fs.String("terminal-id", "", "terminal ID reported by status and printed on receipts")
	)
	if err := m.parseFlags(fs, args); err != nil {
		return config.Config{}, err
	}
	cfg, err := config.Load(*file)
	if err != nil {
		return cfg, err
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "listen":
			cfg.Listen = *listen
		case "data-dir":
			cfg.DataDir = *dataDir
		case "simulator":
			cfg.Simulator = *simulator
		case "model":
			cfg.Model = *model
		case "terminal-id":
			cfg.TerminalID = *terminalID
		}
	})
	return cfg, cfg.Validate()
}

// memoryLimit is the soft memory limit serve sets from the configuration:
// none (0) when the GOMEMLIMIT environment variable is set (env), which
// the runtime has already applied and which takes precedence.
func memoryLimit(cfg *config.Config, env string) int64 {
	if env != "" {
		return 0
	}
	return cfg.MemoryLimit()
}

// serve runs the daemon until ctx ends.
func (m *Main) serve(ctx context.Context, args []string) error {
	cfg, err := m.loadConfig("serve", args)
	if err != nil {
		return err
	}
	logOut, closeLog, err := logging.Open(cfg, m.Stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	log := logging.New(logOut, cfg.Log.Level).With().Str("terminalId", cfg.TerminalID).Logger()
	if limit := memoryLimit(&cfg, os.Getenv("GOMEMLIMIT")); limit > 0 {
		debug.SetMemoryLimit(limit)
		log.Debug().Int64("memoryLimitBytes", limit).Msg("soft memory limit set")
	}

	db, err := store.Open(cfg.DataDir, 2*time.Second)
	if err != nil {
		return err
	}
	defer db.Close()
	if db.ReadOnly() {
		log.Error().Str("dataDir", cfg.DataDir).Msg("the data directory's file system is read-only: status, receipts and " +
			"replays are answered, new transactions and batch closes are refused with storage_unavailable; " +
			"make it writable and restart cashlessd")
	}
	keys, err := auth.New(db, cfg.Simulator)
	if err != nil {
		return err
	}
	if !keys.HasKey() && !cfg.Simulator {
		log.Warn().Msg("no shared key is set: run `cashlessd key rotate --data-dir " + cfg.DataDir + "` to make one")
	}

	if cfg.HostPlainText() {
		log.Warn().Str("hostAddress", cfg.Host.Address).Msg("host.tls = false: the acquirer link is plain TCP, " +
			"card data and PIN blocks cross the network unencrypted; remove it to use TLS")
	}
	devs, err := hardware.Open(ctx, cfg, db, log)
	if err != nil {
		return err
	}
	defer devs.Close()
	// Pairing codes and rotation grace periods run on the terminal's
	// clock (the simulator's in simulator mode).
	keys.SetClock(devs.Clock.Now)
	auditLog, err := audit.Open(cfg.DataDir)
	if err != nil {
		log.Warn().Err(err).Msg("no audit log: pairing and ECR changes are not recorded")
	}
	defer auditLog.Close()
	meters := metrics.New()
	hub := liveEvents(devs)
	engine := daemon.New(cfg.Engine(m.Version), daemon.Deps{
		Store:    db,
		Reader:   devs.Reader,
		Printer:  devs.Printer,
		Host:     devs.Host,
		Clock:    devs.Clock,
		Log:      log,
		Observer: meters,
		Events:   hub,
	})
	var simControl daemon.Simulator
	if devs.Simulator != nil {
		devs.Simulator.OnClockAdvance(engine.CheckSchedule)
		simControl = devs.Simulator
	}

	tlsConfig, caFile, err := m.tlsConfig(cfg, log)
	if err != nil {
		return err
	}
	if err := engine.Start(ctx); err != nil {
		return fmt.Errorf("recovering pending transactions: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		_ = engine.Stop(context.Background())
		return err
	}
	certSHA256 := func() string { return fingerprint(tlsConfig) }
	// pairingChanged tells the LAN announcement to say paired=0/1 again.
	pairingChanged := make(chan struct{}, 1)
	onPairing := func() {
		select {
		case pairingChanged <- struct{}{}:
		default:
		}
	}
	adminSrv, err := admin.Listen(cfg.DataDir, keys, log, admin.WithHealth(admin.HealthSource{Engine: engine, Keys: keys,
		Listen: ln.Addr().String(), Simulator: cfg.Simulator}),
		admin.WithECRs(admin.ECRSource{ECRs: keys, Display: engine, TerminalID: cfg.TerminalID,
			Address: advertisedAddress(ln.Addr()), Fingerprint: certSHA256, Audit: auditLog, OnChange: onPairing}))
	switch {
	case err != nil && db.ReadOnly():
		// Nothing could rotate the key anyway: the database is read-only.
		log.Warn().Err(err).Msg("no admin socket on a read-only data directory")
	case err != nil:
		_ = ln.Close()
		_ = engine.Stop(context.Background())
		return err
	default:
		defer adminSrv.Close()
	}
	proxies, err := cfg.API.Proxies()
	if err != nil {
		_ = ln.Close()
		_ = engine.Stop(context.Background())
		return err
	}
	// Bound open connections (each costs a descriptor, and go.bug.st/serial
	// cannot use descriptors >= 1024: it uses select()), and keep clients
	// without the key from taking them from the ECR.
	limited, err := connlimit.New(ln, connlimit.Config{Max: cfg.API.MaxConnections, Reserved: cfg.API.ReservedConnections,
		PerAddress: cfg.API.ConnectionsPerAddress, UnauthenticatedTimeout: cfg.API.UnauthenticatedTimeout.Duration})
	if err != nil {
		_ = ln.Close()
		_ = engine.Stop(context.Background())
		return err
	}
	if cfg.Metrics.Listen != "" {
		stopMetrics, err := serveMetrics(cfg.Metrics.Listen, meters, db, engine, log)
		if err != nil {
			_ = engine.Stop(context.Background())
			return err
		}
		defer stopMetrics()
	}
	apiSrv := api.New(api.Options{Engine: engine, Keys: keys, Simulator: simControl, Log: log, Metrics: meters,
		TrustedProxies: proxies, Events: hub, Pairing: keys, OnPaired: onPairing, CertFingerprint: certSHA256,
		KeyFingerprint: func() string { return keyFingerprint(tlsConfig) }, Audit: auditLog})
	httpSrv := apiSrv.HTTPServer(tlsConfig)
	limited.Hook(httpSrv)
	served := make(chan error, 1)
	go func() { served <- httpSrv.ServeTLS(limited, "", "") }()
	// The ready line is written whatever the configured level: scripts
	// and tools wait for it.
	always := log.Level(zerolog.InfoLevel)
	always.Info().Str("listen", ln.Addr().String()).Str("caBundle", caFile).Bool("simulator", cfg.Simulator).
		Str("model", cfg.Model).Str("version", m.Version).Msg("cashlessd ready")
	if cfg.DiscoveryEnabled() {
		stopDiscovery := discovery.Announce(discovery.Announcement{TerminalID: cfg.TerminalID, Model: cfg.Model,
			Version: m.Version, CertSHA256: fingerprint(tlsConfig), Addr: ln.Addr(), Interfaces: cfg.Discovery.Interfaces,
			Paired: keys.Paired, Changed: pairingChanged}, log)
		defer stopDiscovery()
	}
	if m.Ready != nil {
		m.Ready(ln.Addr())
	}

	select {
	case <-ctx.Done():
	case err := <-served:
		_ = engine.Stop(context.Background())
		return err
	}
	log.Info().Msg("shutting down: no new transactions; finishing the running one")
	graceFor := shutdownGrace
	if m.ShutdownGrace > 0 {
		graceFor = m.ShutdownGrace
	}
	grace, cancel := context.WithTimeout(context.Background(), graceFor)
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- engine.Stop(grace) }()
	answered, cancelAnswers := context.WithTimeout(context.Background(), graceFor+answerGrace)
	defer cancelAnswers()
	if err := httpSrv.Shutdown(answered); err != nil {
		_ = httpSrv.Close()
	}
	if err := <-stopped; err != nil {
		log.Warn().Err(err).Msg("a transaction was still running at shutdown; it will be resolved at the next start")
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info().Msg("stopped")
	return nil
}

// tlsConfig loads configured certificates or keeps the development
// identity current (the LAN addresses included), logging what an
// operator must know: production mode never runs silently on the
// development CA.
func (m *Main) tlsConfig(cfg config.Config, log zerolog.Logger) (*tls.Config, string, error) {
	files := certs.Files{Cert: cfg.TLS.CertFile, Key: cfg.TLS.KeyFile, CA: cfg.TLS.CAFile}
	if files.Cert == "" {
		id, err := devIdentity(cfg, nil)
		if err != nil {
			log.Warn().Err(err).Msg("LAN addresses not detected: the terminal certificate names only tls.hosts and localhost")
		}
		dev, err := id.Ensure()
		if err != nil {
			return nil, "", fmt.Errorf("development certificates: %w", err)
		}
		files = dev.Files
		if dev.Issued {
			log.Info().Strs("dnsNames", dev.Leaf.DNSNames).Strs("ipAddresses", ipStrings(dev.Leaf)).
				Time("notAfter", dev.Leaf.NotAfter).Msg("terminal certificate issued by the development CA")
		}
		for _, w := range dev.Warnings() {
			log.Warn().Msg(w)
		}
		if !cfg.Simulator {
			log.Warn().Str("caBundle", files.CA).Bool("caKeyRemoved", dev.CAKeyRemoved).Msg("production mode on the " +
				"development CA made on this terminal: install a certificate from the merchant's CA (tls.cert_file, " +
				"tls.key_file, tls.ca_file) or have ECRs pin the certificate's fingerprint; see docs/tls.md")
		}
	}
	tc, err := certs.ServerConfig(files)
	return tc, files.CA, err
}

// fingerprint is the SHA-256 of the served certificate, when known.
func fingerprint(tc *tls.Config) string {
	if tc == nil || len(tc.Certificates) == 0 || tc.Certificates[0].Leaf == nil {
		return ""
	}
	return certs.Fingerprint(tc.Certificates[0].Leaf)
}

// advertisedAddress is the API's host:port as an ECR on the LAN dials it
// (the pairing QR code): a wildcard listener is named by the first LAN
// address found.
func advertisedAddress(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return a.String()
	}
	addrs, _ := net.InterfaceAddrs()
	for _, ad := range addrs {
		if ipn, ok := ad.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() && !ipn.IP.IsLinkLocalUnicast() {
			return net.JoinHostPort(ipn.IP.String(), strconv.Itoa(tcp.Port))
		}
	}
	return a.String()
}

// keyFingerprint is the SHA-256 of the served certificate's public key,
// when known.
func keyFingerprint(tc *tls.Config) string {
	if tc == nil || len(tc.Certificates) == 0 || tc.Certificates[0].Leaf == nil {
		return ""
	}
	return certs.PublicKeyFingerprint(tc.Certificates[0].Leaf)
}

// serveMetrics adds the store's and the engine's gauges and starts the
// Prometheus endpoint on its own listener.
func serveMetrics(addr string, m *metrics.Metrics, db *store.DB, engine *daemon.Engine, log zerolog.Logger) (func(), error) {
	m.Gauge("cashless_db_commits_total", func() float64 { return float64(db.Commits()) })
	m.Gauge("cashless_pending_reversals", func() float64 {
		n, _ := db.CountPendingReversals()
		return float64(n)
	})
	m.Gauge("cashless_terminal_busy", func() float64 {
		if engine.Busy() {
			return 1
		}
		return 0
	})
	at, stop, err := m.Listen(addr)
	if err != nil {
		return nil, err
	}
	always := log.Level(zerolog.InfoLevel)
	always.Info().Str("metrics", at.String()).Msg("metrics listening")
	return stop, nil
}
