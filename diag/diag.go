// Package diag is the technician's check of a terminal: the configuration,
// the TLS identity, the clock, the disk, the database, the card reader, the
// printer and the acquirer, each reported ok, warn, fail or skip. With no
// daemon running it opens the devices as the daemon would (in simulator
// mode, the simulated ones). When a daemon holds the data directory, its
// devices are left alone: the daemon's own view of them (the admin
// socket's health request) is reported instead, with its API port, TLS
// certificate and key, and whether it can take a payment.
package diag

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/certs"
	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/admin"
	"github.com/vinr/cashlessd/daemon/config"
	"github.com/vinr/cashlessd/daemon/host"
	"github.com/vinr/cashlessd/daemon/host/hostsim"
	"github.com/vinr/cashlessd/daemon/store"
	"github.com/vinr/cashlessd/emv/reader"
	vreader "github.com/vinr/cashlessd/emv/reader/virtual"
	"github.com/vinr/cashlessd/hardware"
	"github.com/vinr/cashlessd/printer"
	"github.com/vinr/cashlessd/printer/virtual"
)

// Check outcomes. Only fail makes diag exit 1.
const (
	OK   = "ok"
	Warn = "warn" // works, but needs attention soon (certificate expiring, paper low, disk filling)
	Fail = "fail"
	Skip = "skip" // not checked: not applicable, or the running daemon holds the resource
)

// Thresholds of the checks.
const (
	certWarn     = 30 * 24 * time.Hour // a certificate expiring sooner is a warning
	diskFail     = 16 << 20            // less free space than this fails
	diskWarn     = 64 << 20            // less than this warns
	minYear      = 2024                // a clock before this was never set
	clockSkew    = 5 * time.Minute     // tolerated before a certificate's NotBefore
	deviceWait   = 10 * time.Second    // per device check
	dbLockWait   = 500 * time.Millisecond
	hostMaxWait  = 15 * time.Second
	stanFallback = 900000 // echo STANs beside a running daemon: 900000-989999
	healthWait   = 10 * time.Second
)

// Check is one line of the report.
type Check struct {
	Name       string `json:"name"`
	Status     string `json:"status"`
	Detail     string `json:"detail"`
	DurationMs int64  `json:"durationMs"`
}

// Report is what `cashlessd diag` prints; --json prints it as is.
type Report struct {
	OK         bool      `json:"ok"`
	Version    string    `json:"version"`
	TerminalID string    `json:"terminalId,omitempty"`
	Model      string    `json:"model,omitempty"`
	Simulator  bool      `json:"simulator"`
	ConfigFile string    `json:"configFile,omitempty"`
	DataDir    string    `json:"dataDir,omitempty"`
	CheckedAt  time.Time `json:"checkedAt"`
	Checks     []Check   `json:"checks"`
	// Daemon is the running daemon's own health report, when one answers
	// on the data directory's admin socket.
	Daemon *admin.HealthReport `json:"daemon,omitempty"`
}

// Failed lists the names of the failed checks.
func (r *Report) Failed() []string {
	var out []string
	for _, c := range r.Checks {
		if c.Status == Fail {
			out = append(out, c.Name)
		}
	}
	return out
}

// Options say what Run checks.
type Options struct {
	// Version is the software version the report names.
	Version string
	// ConfigFile is the configuration to check; empty means the built-in
	// defaults.
	ConfigFile string
	// Override applies the command line's settings over the file's.
	Override func(*config.Config)
	// Now is the clock the certificate and clock checks read; nil means
	// time.Now.
	Now func() time.Time
	// Key, when set, is a shared key to try against a running daemon's
	// API (a status call must answer 200).
	Key string
}

// Run runs every check in order and returns the report; Report.OK says
// whether none failed (warnings and skips are not failures).
func Run(ctx context.Context, opts Options) Report {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	override := opts.Override
	if override == nil {
		override = func(*config.Config) {}
	}
	d := &diagnosis{
		report: Report{Version: opts.Version, ConfigFile: opts.ConfigFile, CheckedAt: time.Now().UTC()},
		now:    now,
	}
	d.run(ctx, opts.ConfigFile, override, opts.Key)
	d.report.OK = len(d.report.Failed()) == 0
	return d.report
}

// diagnosis runs the checks in order; later checks use what earlier ones
// found (the configuration, the certificate, the STAN counter).
type diagnosis struct {
	report Report
	now    func() time.Time

	cfg     config.Config
	leaf    *x509.Certificate // the terminal certificate, when found
	running bool              // a daemon answers on the data directory's admin socket
}

func (d *diagnosis) add(name, status, detail string, started time.Time) {
	d.report.Checks = append(d.report.Checks, Check{Name: name, Status: status, Detail: detail,
		DurationMs: time.Since(started).Milliseconds()})
}

func (d *diagnosis) run(ctx context.Context, file string, override func(*config.Config), key string) {
	start := time.Now()
	cfg, err := config.Load(file)
	if err != nil {
		d.add("config", Fail, err.Error(), start)
		for _, name := range []string{"certificates", "clock", "disk", "database", "host tls", "reader", "printer", "host"} {
			d.add(name, Skip, "configuration not readable", start)
		}
		return
	}
	override(&cfg)
	where := file
	if where == "" {
		where = "built-in defaults"
	}
	if err := cfg.Validate(); err != nil {
		d.add("config", Fail, where+": "+strings.ReplaceAll(err.Error(), "\n", "; "), start)
	} else {
		mode := "production"
		if cfg.Simulator {
			mode = "simulator"
		}
		d.add("config", OK, fmt.Sprintf("%s valid (%s, listen %s)", where, mode, cfg.Listen), start)
	}
	d.cfg = cfg
	d.report.TerminalID, d.report.Model, d.report.Simulator, d.report.DataDir = cfg.TerminalID, cfg.Model, cfg.Simulator, cfg.DataDir
	d.running = daemonRunning(cfg.DataDir)

	d.checkCertificates()
	d.checkClock()
	d.checkDisk()
	d.checkDatabase()
	d.checkHostTLS()

	if d.running {
		hctx, cancel := context.WithTimeout(ctx, healthWait)
		h, err := admin.Health(hctx, cfg.DataDir)
		cancel()
		if err == nil {
			d.report.Daemon = &h
			d.checkRunning(ctx, h, key)
			d.checkCloud(ctx, &h)
			return
		}
		// An older daemon, or one that does not answer: its devices are
		// left alone below.
	}

	// The devices: in simulator mode the simulated ones are started here,
	// as serve does, and stopped when diag ends.
	devCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	d.checkReader(devCtx)
	d.checkPrinter(devCtx)
	d.checkHost(devCtx)
	d.checkCloud(ctx, nil)
}

// daemonRunning reports whether a daemon answers on the admin socket.
func daemonRunning(dataDir string) bool {
	c, err := net.DialTimeout("unix", filepath.Join(dataDir, admin.SocketName), time.Second)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

// checkCertificates loads the terminal certificate and key, verifies the
// chain against the CA bundle and looks at the expiry dates.
func (d *diagnosis) checkCertificates() {
	start := time.Now()
	files := certs.Files{Cert: d.cfg.TLS.CertFile, Key: d.cfg.TLS.KeyFile, CA: d.cfg.TLS.CAFile}
	kind := "configured"
	if files.Cert == "" {
		dir := filepath.Join(d.cfg.DataDir, "certs")
		files = certs.DevFiles(dir)
		kind = "development"
		if _, err := os.Stat(files.Cert); errors.Is(err, os.ErrNotExist) {
			if !d.cfg.Simulator {
				d.add("certificates", Warn, "none yet, and no tls.cert_file: serve would run production on a development "+
					"CA made in "+dir+"; install a certificate from the merchant's CA (see docs/tls.md)", start)
				return
			}
			d.add("certificates", OK, "none yet: serve makes a development CA and terminal certificate in "+dir+" at first start", start)
			return
		}
	}
	now := d.now()
	leaf, err := certs.Verify(files, now)
	if leaf != nil {
		d.leaf = leaf
	}
	if err != nil {
		d.add("certificates", Fail, err.Error(), start)
		return
	}
	status := OK
	var notes []string
	if kind == "development" && !d.cfg.Simulator {
		// Production on the development CA: never silently.
		status = Warn
		key := "its key still on the terminal"
		if _, err := os.Stat(filepath.Join(filepath.Dir(files.CA), certs.CAKeyFile)); errors.Is(err, os.ErrNotExist) {
			key = "its key removed"
		}
		notes = append(notes, "PRODUCTION ON THE DEVELOPMENT CA ("+key+"): install a certificate from the merchant's CA or pin the fingerprint, see docs/tls.md")
	}
	if files.CA != "" {
		notes = append(notes, "chains to "+filepath.Base(files.CA))
	} else {
		notes = append(notes, "no tls.ca_file: chain not checked")
		status = Warn
	}
	left := leaf.NotAfter.Sub(now)
	switch {
	case now.Before(leaf.NotBefore):
		d.add("certificates", Fail, fmt.Sprintf("%s certificate not valid before %s (clock %s)", kind, leaf.NotBefore.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339)), start)
		return
	case left <= 0:
		d.add("certificates", Fail, fmt.Sprintf("%s certificate expired %s", kind, leaf.NotAfter.UTC().Format(time.RFC3339)), start)
		return
	case left < certWarn:
		status = Warn
		notes = append(notes, fmt.Sprintf("EXPIRES IN %d DAYS", int(left.Hours()/24)))
	}
	fp := certs.Fingerprint(leaf)
	d.add("certificates", status, fmt.Sprintf("%s, %s, expires %s (%d days), sha256 %s…",
		kind, strings.Join(notes, ", "), leaf.NotAfter.UTC().Format("2006-01-02"), int(left.Hours()/24), fp[:16]), start)
}

// checkClock: terminals without a real-time clock battery boot in 1970 or
// 2000, and TLS, receipts and settlement all go wrong.
func (d *diagnosis) checkClock() {
	start := time.Now()
	now := d.now().UTC()
	stamp := now.Format(time.RFC3339)
	switch {
	case now.Year() < minYear:
		d.add("clock", Fail, fmt.Sprintf("%s is before %d: the clock was never set (NTP?)", stamp, minYear), start)
	case d.leaf != nil && now.Add(clockSkew).Before(d.leaf.NotBefore):
		d.add("clock", Fail, fmt.Sprintf("%s is %s behind the certificate's NotBefore %s: the clock is late", stamp,
			d.leaf.NotBefore.Sub(now).Round(time.Second), d.leaf.NotBefore.UTC().Format(time.RFC3339)), start)
	default:
		d.add("clock", OK, stamp+" (timezone "+d.cfg.Timezone+")", start)
	}
}

// checkDisk looks at the free space of the data directory's file system
// and whether the directory is writable.
func (d *diagnosis) checkDisk() {
	start := time.Now()
	dir := d.cfg.DataDir
	probe := dir
	missing := false
	for {
		if _, err := os.Stat(probe); err == nil {
			break
		}
		missing = true
		parent := filepath.Dir(probe)
		if parent == probe {
			break
		}
		probe = parent
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(probe, &st); err != nil {
		d.add("disk", Fail, fmt.Sprintf("%s: %v", probe, err), start)
		return
	}
	free := st.Bavail * uint64(st.Bsize)
	total := st.Blocks * uint64(st.Bsize)
	detail := fmt.Sprintf("%s: %s free of %s", dir, mib(free), mib(total))
	if missing {
		detail = fmt.Sprintf("%s does not exist yet (serve makes it); %s: %s free of %s", dir, probe, mib(free), mib(total))
	} else if f, err := os.CreateTemp(dir, ".diag-*"); err != nil {
		if d.running && errors.Is(err, os.ErrPermission) {
			detail += "; not writable by this user (run diag as the daemon's user)"
		} else {
			d.add("disk", Fail, fmt.Sprintf("%s is not writable: %v", dir, err), start)
			return
		}
	} else {
		_ = f.Close()
		_ = os.Remove(f.Name())
	}
	switch {
	case free < diskFail:
		d.add("disk", Fail, detail+fmt.Sprintf(" (under %s: the database cannot grow)", mib(diskFail)), start)
	case free < diskWarn:
		d.add("disk", Warn, detail+fmt.Sprintf(" (under %s)", mib(diskWarn)), start)
	default:
		d.add("disk", OK, detail, start)
	}
}

func mib(n uint64) string {
	switch {
	case n >= 10<<30:
		return fmt.Sprintf("%.0f GiB", float64(n)/(1<<30))
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KiB", (n+1023)>>10)
}

// checkDatabase runs the store's consistency check on a read-only open. The
// running daemon holds bbolt's exclusive lock: then the check is skipped,
// not failed.
func (d *diagnosis) checkDatabase() {
	start := time.Now()
	path := filepath.Join(d.cfg.DataDir, store.FileName)
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		d.add("database", OK, path+" not created yet (serve makes it)", start)
		return
	}
	if err != nil {
		d.add("database", Fail, err.Error(), start)
		return
	}
	h, err := store.Check(d.cfg.DataDir, dbLockWait)
	if errors.Is(err, store.ErrLocked) {
		if d.running {
			d.add("database", Skip, fmt.Sprintf("%s (%s) in use by the running daemon: not checked", path, mib(uint64(fi.Size()))), start)
		} else {
			d.add("database", Warn, path+" is locked by another process: not checked", start)
		}
		return
	}
	if err != nil {
		d.add("database", Fail, fmt.Sprintf("%s: %v", path, err), start)
		return
	}
	if len(h.Problems) > 0 {
		d.add("database", Fail, fmt.Sprintf("%s: integrity check failed: %s", path, strings.Join(h.Problems, "; ")), start)
		return
	}
	status := OK
	detail := fmt.Sprintf("%s (%s) consistent: schema %d, %d transactions, %d batches", path, mib(uint64(fi.Size())),
		h.Schema, h.Transactions, h.Batches)
	if n := h.Queued(); n > 0 {
		detail += fmt.Sprintf(", %d pending/reversals/advices queued (resolved at start)", n)
		status = Warn
	}
	d.add("database", status, detail, start)
}

// checkReader asks the card reader for INFO. Next to a running daemon the
// real reader is left alone: as root, diag could open the port despite
// the daemon's exclusive mode and garble a transaction's frames.
func (d *diagnosis) checkReader(ctx context.Context) {
	start := time.Now()
	if !d.cfg.Simulator && d.running {
		d.add("reader", Skip, d.cfg.Reader.Device+" in use by the running daemon: not checked (diag does not share the serial line)", start)
		return
	}
	rcfg := reader.Config{Device: d.cfg.Reader.Device, Baud: d.cfg.Reader.Baud, ResponseTimeout: d.cfg.Reader.ResponseTimeout.Duration}
	if d.cfg.Simulator {
		vr, err := vreader.Start(ctx, vreader.Config{})
		if err != nil {
			d.add("reader", Fail, "virtual reader: "+err.Error(), start)
			return
		}
		defer vr.Close()
		rcfg.Device = vr.Path()
	}
	if rcfg.Device == "" {
		d.add("reader", Fail, "reader.device is not set", start)
		return
	}
	r, err := reader.New(rcfg)
	if err != nil {
		d.add("reader", Fail, err.Error(), start)
		return
	}
	defer r.Close()
	cctx, cancel := context.WithTimeout(ctx, deviceWait)
	defer cancel()
	in, err := r.Info(cctx)
	if err != nil {
		if d.running && busy(err) {
			d.add("reader", Skip, rcfg.Device+" in use by the running daemon: not checked", start)
			return
		}
		d.add("reader", Fail, fmt.Sprintf("%s does not answer: %v", deviceName(d.cfg.Simulator, rcfg.Device, "virtual reader"), err), start)
		return
	}
	d.add("reader", OK, fmt.Sprintf("%s answers: %s serial %s firmware %s, protocol %d, display %dx%d",
		deviceName(d.cfg.Simulator, rcfg.Device, "virtual reader"), in.Model, in.Serial, in.Firmware, in.Protocol, in.DisplayRows, in.DisplayCols), start)
}

// busy reports a serial port another process holds (TIOCEXCL).
func busy(err error) bool {
	return errors.Is(err, syscall.EBUSY) || strings.Contains(strings.ToLower(err.Error()), "busy")
}

func deviceName(sim bool, path, virtualName string) string {
	if sim {
		return virtualName
	}
	return path
}

// checkPrinter asks the printer for its status (DLE EOT).
func (d *diagnosis) checkPrinter(ctx context.Context) {
	start := time.Now()
	if !d.cfg.HasPrinter() {
		d.add("printer", Skip, "model "+d.cfg.Model+" has no printer", start)
		return
	}
	if !d.cfg.Simulator && d.running {
		d.add("printer", Skip, d.cfg.Printer.Device+" in use by the running daemon: not checked (`cashless status` shows its printer)", start)
		return
	}
	pcfg := hardware.PrinterConfig(d.cfg)
	if d.cfg.Simulator {
		dir, err := os.MkdirTemp("", "cashlessd-diag-printer-")
		if err != nil {
			d.add("printer", Fail, err.Error(), start)
			return
		}
		defer os.RemoveAll(dir)
		vp, err := virtual.Start(ctx, dir, virtual.Columns(d.cfg.Receipt.Width))
		if err != nil {
			d.add("printer", Fail, "virtual printer: "+err.Error(), start)
			return
		}
		defer vp.Close()
		pcfg.Device = vp.Path()
	}
	if pcfg.JobTimeout <= 0 || pcfg.JobTimeout > deviceWait {
		pcfg.JobTimeout = deviceWait
	}
	p, err := printer.NewSerial(pcfg)
	if err != nil {
		d.add("printer", Fail, err.Error(), start)
		return
	}
	defer p.Close()
	st := p.Status(ctx)
	name := deviceName(d.cfg.Simulator, pcfg.Device, "virtual printer")
	msg := strings.TrimSpace(st.Message)
	if msg == "" {
		msg = string(st.State)
	}
	switch st.State {
	case daemon.PrinterReady:
		d.add("printer", OK, name+" ready ("+d.cfg.Printer.CodePage+", "+fmt.Sprint(d.cfg.Printer.Baud)+" baud)", start)
	case daemon.PrinterPaperLow:
		d.add("printer", Warn, name+": paper near end", start)
	case daemon.PrinterUnavailable:
		if d.running && busy(errors.New(msg)) {
			d.add("printer", Skip, name+" in use by the running daemon: not checked", start)
			return
		}
		d.add("printer", Fail, fmt.Sprintf("%s %s: %s", name, st.State, msg), start)
	default:
		d.add("printer", Fail, fmt.Sprintf("%s %s: %s", name, st.State, msg), start)
	}
}

// checkHostTLS says how the acquirer link is protected: a warning for a
// production link without TLS (host.tls = false).
func (d *diagnosis) checkHostTLS() {
	start := time.Now()
	switch {
	case d.cfg.HostPlainText():
		d.add("host tls", Warn, fmt.Sprintf("host.tls = false: the link to %s is plain TCP (card data and PIN blocks "+
			"unencrypted on the network)", d.cfg.Host.Address), start)
	case !d.cfg.HostTLS():
		d.add("host tls", OK, "simulator mode: plain TCP to the host simulator", start)
	default:
		ca := "system roots"
		if d.cfg.Host.CAFile != "" {
			ca = d.cfg.Host.CAFile
		}
		d.add("host tls", OK, fmt.Sprintf("TLS 1.2+, certificate verified against %s for %q", ca, d.cfg.HostServerName()), start)
	}
}

// checkHost connects to the acquirer (TCP, TLS when configured, sign-on)
// and sends an echo (0800, network code 301).
func (d *diagnosis) checkHost(ctx context.Context) {
	start := time.Now()
	hcfg, err := hardware.HostConfig(d.cfg, zerolog.Nop())
	if err != nil {
		d.add("host", Fail, err.Error(), start)
		return
	}
	if d.cfg.Simulator && hcfg.Address == "" {
		hs, err := hostsim.New(hostsim.Config{Dialect: hcfg.Dialect, Log: zerolog.Nop()})
		if err == nil {
			err = hs.Listen(ctx, "127.0.0.1:0")
		}
		if err != nil {
			d.add("host", Fail, "host simulator: "+err.Error(), start)
			return
		}
		defer hs.Close()
		hcfg.Address, hcfg.TLS = hs.Addr(), nil
	}
	if hcfg.Address == "" {
		d.add("host", Fail, "host.address is not set", start)
		return
	}
	hcfg.Counters = host.NewMemoryCounters(map[string]uint32{host.CounterSTAN: d.stanSeed()})
	hcfg.EchoInterval = 0
	if hcfg.Timeout <= 0 || hcfg.Timeout > hostMaxWait {
		hcfg.Timeout = hostMaxWait
	}
	c, err := host.New(hcfg)
	if err != nil {
		d.add("host", Fail, err.Error(), start)
		return
	}
	defer c.Close()
	cctx, cancel := context.WithTimeout(ctx, hcfg.Timeout)
	defer cancel()
	name := hcfg.Address
	if d.cfg.Simulator && d.cfg.Host.Address == "" {
		name = "host simulator " + hcfg.Address
	}
	tlsNote := "plain TCP"
	if hcfg.TLS != nil {
		tlsNote = "TLS"
	}
	if err := c.Echo(cctx); err != nil {
		d.add("host", Fail, fmt.Sprintf("%s (%s) unreachable: %v", name, tlsNote, err), start)
		return
	}
	d.add("host", OK, fmt.Sprintf("%s (%s) answered sign-on and echo (0800) in %s", name, tlsNote,
		time.Since(start).Round(time.Millisecond)), start)
}

// stanSeed is where the echo's STANs start. With the daemon stopped a
// block is reserved in the database's counter, as the daemon does, so no
// STAN is ever used twice; the database is closed again at once (a daemon
// starting meanwhile waits for its lock only briefly). Beside a running
// daemon they come from a range its counter reaches rarely.
func (d *diagnosis) stanSeed() uint32 {
	fallback := uint32(stanFallback + time.Now().Unix()%90000)
	if d.running {
		return fallback
	}
	if _, err := os.Stat(filepath.Join(d.cfg.DataDir, store.FileName)); err != nil {
		return fallback
	}
	db, err := store.Open(d.cfg.DataDir, dbLockWait)
	if err != nil {
		return fallback
	}
	defer db.Close()
	n, err := hardware.HostCounters(db).Next(host.CounterSTAN)
	if err != nil || n == 0 {
		return fallback
	}
	return n - 1
}

// WriteText prints the report for people.
func (r *Report) WriteText(w io.Writer) {
	mode := ""
	if r.Simulator {
		mode = " (simulator)"
	}
	fmt.Fprintf(w, "cashlessd %s diag: terminal %s, model %s%s, data %s\n", r.Version, orDash(r.TerminalID), orDash(r.Model), mode, orDash(r.DataDir))
	width := 0
	for _, c := range r.Checks {
		width = max(width, len(c.Name))
	}
	var warn, skip int
	for _, c := range r.Checks {
		switch c.Status {
		case Warn:
			warn++
		case Skip:
			skip++
		}
		fmt.Fprintf(w, "  %-4s  %-*s  %s\n", strings.ToUpper(c.Status), width, c.Name, c.Detail)
	}
	failed := r.Failed()
	switch {
	case len(failed) > 0:
		fmt.Fprintf(w, "FAILED: %s (%d of %d checks)\n", strings.Join(failed, ", "), len(failed), len(r.Checks))
	default:
		fmt.Fprintf(w, "OK: %d checks passed", len(r.Checks)-skip)
		if warn > 0 {
			fmt.Fprintf(w, ", %d with warnings", warn)
		}
		if skip > 0 {
			fmt.Fprintf(w, ", %d skipped", skip)
		}
		fmt.Fprintln(w)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
