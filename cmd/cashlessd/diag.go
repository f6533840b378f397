package main

import (
	"context"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/vinr/cashlessd/certs"
	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/admin"
	"github.com/vinr/cashlessd/daemon/config"
	"github.com/vinr/cashlessd/daemon/hardware"
	"github.com/vinr/cashlessd/daemon/host"
	"github.com/vinr/cashlessd/daemon/host/hostsim"
	"github.com/vinr/cashlessd/daemon/store"
	"github.com/vinr/cashlessd/emv/reader"
	vreader "github.com/vinr/cashlessd/emv/reader/virtual"
	"github.com/vinr/cashlessd/printer"
	"github.com/vinr/cashlessd/printer/virtual"
)

// Check outcomes. Only fail makes diag exit 1.
const (
	diagOK   = "ok"
	diagWarn = "warn" // works, but needs attention soon (certificate expiring, paper low, disk filling)
	diagFail = "fail"
	diagSkip = "skip" // not checked: not applicable, or the running daemon holds the resource
)

// Thresholds of the checks.
const (
	diagCertWarn     = 30 * 24 * time.Hour // a certificate expiring sooner is a warning
	diagDiskFail     = 16 << 20            // less free space than this fails
	diagDiskWarn     = 64 << 20            // less than this warns
	diagMinYear      = 2024                // a clock before this was never set
	diagClockSkew    = 5 * time.Minute     // tolerated before a certificate's NotBefore
	diagDeviceWait   = 10 * time.Second    // per device check
	diagDBLockWait   = 500 * time.Millisecond
	diagHostMaxWait  = 15 * time.Second
	diagStanFallback = 900000 // echo STANs beside a running daemon: 900000-989999
)

// diagCheck is one line of the report.
type diagCheck struct {
	Name       string `json:"name"`
	Status     string `json:"status"`
	Detail     string `json:"detail"`
	DurationMs int64  `json:"durationMs"`
}

// diagReport is what `cashlessd diag` prints; --json prints it as is.
type diagReport struct {
	OK         bool        `json:"ok"`
	Version    string      `json:"version"`
	TerminalID string      `json:"terminalId,omitempty"`
	Model      string      `json:"model,omitempty"`
	Simulator  bool        `json:"simulator"`
	ConfigFile string      `json:"configFile,omitempty"`
	DataDir    string      `json:"dataDir,omitempty"`
	CheckedAt  time.Time   `json:"checkedAt"`
	Checks     []diagCheck `json:"checks"`
}

// failed lists the names of the failed checks.
func (r *diagReport) failed() []string {
	var out []string
	for _, c := range r.Checks {
		if c.Status == diagFail {
			out = append(out, c.Name)
		}
	}
	return out
}

// diagError is diag's exit status 1: at least one check failed. The report
// has already been printed.
type diagError struct{ failed []string }

func (e diagError) Error() string {
	return fmt.Sprintf("diag: %d check(s) failed: %s", len(e.failed), strings.Join(e.failed, ", "))
}

// diag checks everything the daemon needs and prints a report: exit 0 when
// every check passed (warnings included), 1 when one failed.
func (m *Main) diag(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("diag", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	var (
		file      = fs.String("config", "", "TOML configuration file")
		dataDir   = fs.String("data-dir", "", "data directory (default: the config's, or /var/lib/cashlessd)")
		simulator = fs.Bool("simulator", false, "check against the simulated reader, printer and host")
		asJSON    = fs.Bool("json", false, "print the report as JSON (for fleet tools)")
	)
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("diag: unexpected argument %q", fs.Arg(0))}
	}
	d := &diagnosis{
		version: m.Version,
		report:  diagReport{Version: m.Version, ConfigFile: *file, CheckedAt: time.Now().UTC()},
		now:     time.Now,
	}
	d.run(ctx, *file, func(cfg *config.Config) {
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "data-dir":
				cfg.DataDir = *dataDir
			case "simulator":
				cfg.Simulator = *simulator
			}
		})
	})
	d.report.OK = len(d.report.failed()) == 0
	if *asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(d.report); err != nil {
			return err
		}
	} else {
		d.report.writeText(m.Stdout)
	}
	if failed := d.report.failed(); len(failed) > 0 {
		return diagError{failed: failed}
	}
	return nil
}

// diagnosis runs the checks in order; later checks use what earlier ones
// found (the configuration, the certificate, the STAN counter).
type diagnosis struct {
	version string
	report  diagReport
	now     func() time.Time

	cfg     config.Config
	leaf    *x509.Certificate // the terminal certificate, when found
	running bool              // a daemon answers on the data directory's admin socket
}

func (d *diagnosis) add(name, status, detail string, started time.Time) {
	d.report.Checks = append(d.report.Checks, diagCheck{Name: name, Status: status, Detail: detail,
		DurationMs: time.Since(started).Milliseconds()})
}

func (d *diagnosis) run(ctx context.Context, file string, override func(*config.Config)) {
	start := time.Now()
	cfg, err := config.Load(file)
	if err != nil {
		d.add("config", diagFail, err.Error(), start)
		for _, name := range []string{"certificates", "clock", "disk", "database", "reader", "printer", "host"} {
			d.add(name, diagSkip, "configuration not readable", start)
		}
		return
	}
	override(&cfg)
	where := file
	if where == "" {
		where = "built-in defaults"
	}
	if err := cfg.Validate(); err != nil {
		d.add("config", diagFail, where+": "+strings.ReplaceAll(err.Error(), "\n", "; "), start)
	} else {
		mode := "production"
		if cfg.Simulator {
			mode = "simulator"
		}
		d.add("config", diagOK, fmt.Sprintf("%s valid (%s, listen %s)", where, mode, cfg.Listen), start)
	}
	d.cfg = cfg
	d.report.TerminalID, d.report.Model, d.report.Simulator, d.report.DataDir = cfg.TerminalID, cfg.Model, cfg.Simulator, cfg.DataDir
	d.running = daemonRunning(cfg.DataDir)

	d.checkCertificates()
	d.checkClock()
	d.checkDisk()
	d.checkDatabase()

	// The devices: in simulator mode the simulated ones are started here,
	// as serve does, and stopped when diag ends.
	devCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	d.checkReader(devCtx)
	d.checkPrinter(devCtx)
	d.checkHost(devCtx)
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
		files = certs.Files{Cert: filepath.Join(dir, certs.CertFile), Key: filepath.Join(dir, certs.KeyFile), CA: filepath.Join(dir, certs.CAFile)}
		kind = "development"
		if _, err := os.Stat(files.Cert); errors.Is(err, os.ErrNotExist) {
			d.add("certificates", diagOK, "none yet: serve makes a development CA and terminal certificate in "+dir+" at first start", start)
			return
		}
	}
	if _, err := certs.ServerConfig(files); err != nil {
		d.add("certificates", diagFail, fmt.Sprintf("%s: %v", files.Cert, err), start)
		return
	}
	leaf, err := certs.Leaf(files.Cert)
	if err != nil {
		d.add("certificates", diagFail, fmt.Sprintf("%s: %v", files.Cert, err), start)
		return
	}
	d.leaf = leaf
	now := d.now()
	status := diagOK
	var notes []string
	if files.CA != "" {
		pool, err := certs.Pool(files.CA)
		if err != nil {
			d.add("certificates", diagFail, fmt.Sprintf("CA bundle %s: %v", files.CA, err), start)
			return
		}
		opts := x509.VerifyOptions{Roots: pool, Intermediates: intermediates(files.Cert), CurrentTime: now,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
		if _, err := leaf.Verify(opts); err != nil {
			d.add("certificates", diagFail, fmt.Sprintf("%s does not chain to %s: %v", files.Cert, files.CA, err), start)
			return
		}
		notes = append(notes, "chains to "+filepath.Base(files.CA))
	} else {
		notes = append(notes, "no tls.ca_file: chain not checked")
		status = diagWarn
	}
	left := leaf.NotAfter.Sub(now)
	switch {
	case now.Before(leaf.NotBefore):
		d.add("certificates", diagFail, fmt.Sprintf("%s certificate not valid before %s (clock %s)", kind, leaf.NotBefore.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339)), start)
		return
	case left <= 0:
		d.add("certificates", diagFail, fmt.Sprintf("%s certificate expired %s", kind, leaf.NotAfter.UTC().Format(time.RFC3339)), start)
		return
	case left < diagCertWarn:
		status = diagWarn
		notes = append(notes, fmt.Sprintf("EXPIRES IN %d DAYS", int(left.Hours()/24)))
	}
	fp := certs.Fingerprint(leaf)
	d.add("certificates", status, fmt.Sprintf("%s, %s, expires %s (%d days), sha256 %s…",
		kind, strings.Join(notes, ", "), leaf.NotAfter.UTC().Format("2006-01-02"), int(left.Hours()/24), fp[:16]), start)
}

// intermediates are the certificates after the leaf in its PEM file.
func intermediates(path string) *x509.CertPool {
	pool := x509.NewCertPool()
	raw, err := os.ReadFile(path)
	if err != nil {
		return pool
	}
	first := true
	for {
		var b *pem.Block
		b, raw = pem.Decode(raw)
		if b == nil {
			return pool
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		if first {
			first = false
			continue
		}
		if c, err := x509.ParseCertificate(b.Bytes); err == nil {
			pool.AddCert(c)
		}
	}
}

// checkClock: terminals without a real-time clock battery boot in 1970 or
// 2000, and TLS, receipts and settlement all go wrong.
func (d *diagnosis) checkClock() {
	start := time.Now()
	now := d.now().UTC()
	stamp := now.Format(time.RFC3339)
	switch {
	case now.Year() < diagMinYear:
		d.add("clock", diagFail, fmt.Sprintf("%s is before %d: the clock was never set (NTP?)", stamp, diagMinYear), start)
	case d.leaf != nil && now.Add(diagClockSkew).Before(d.leaf.NotBefore):
		d.add("clock", diagFail, fmt.Sprintf("%s is %s behind the certificate's NotBefore %s: the clock is late", stamp,
			d.leaf.NotBefore.Sub(now).Round(time.Second), d.leaf.NotBefore.UTC().Format(time.RFC3339)), start)
	default:
		d.add("clock", diagOK, stamp+" (timezone "+d.cfg.Timezone+")", start)
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
		d.add("disk", diagFail, fmt.Sprintf("%s: %v", probe, err), start)
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
			d.add("disk", diagFail, fmt.Sprintf("%s is not writable: %v", dir, err), start)
			return
		}
	} else {
		_ = f.Close()
		_ = os.Remove(f.Name())
	}
	switch {
	case free < diagDiskFail:
		d.add("disk", diagFail, detail+fmt.Sprintf(" (under %s: the database cannot grow)", mib(diagDiskFail)), start)
	case free < diagDiskWarn:
		d.add("disk", diagWarn, detail+fmt.Sprintf(" (under %s)", mib(diagDiskWarn)), start)
	default:
		d.add("disk", diagOK, detail, start)
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

// checkDatabase runs bbolt's consistency check on a read-only open. The
// running daemon holds bbolt's exclusive lock: then the check is skipped,
// not failed.
func (d *diagnosis) checkDatabase() {
	start := time.Now()
	path := filepath.Join(d.cfg.DataDir, store.FileName)
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		d.add("database", diagOK, path+" not created yet (serve makes it)", start)
		return
	}
	if err != nil {
		d.add("database", diagFail, err.Error(), start)
		return
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: diagDBLockWait})
	if errors.Is(err, berrors.ErrTimeout) {
		if d.running {
			d.add("database", diagSkip, fmt.Sprintf("%s (%s) in use by the running daemon: not checked", path, mib(uint64(fi.Size()))), start)
		} else {
			d.add("database", diagWarn, path+" is locked by another process: not checked", start)
		}
		return
	}
	if err != nil {
		d.add("database", diagFail, fmt.Sprintf("%s: %v", path, err), start)
		return
	}
	defer db.Close()
	var problems []string
	counts := map[string]int{}
	var schema uint64
	err = db.View(func(tx *bolt.Tx) error {
		for e := range tx.Check() {
			if len(problems) < 5 {
				problems = append(problems, e.Error())
			}
		}
		for _, name := range []string{"transactions", "pending", "reversals", "batches"} {
			if b := tx.Bucket([]byte(name)); b != nil {
				counts[name] = b.Stats().KeyN
			}
		}
		if b := tx.Bucket([]byte("meta")); b != nil {
			if v := b.Get([]byte("schema")); len(v) == 8 {
				schema = binary.BigEndian.Uint64(v)
			}
		}
		return nil
	})
	if err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		d.add("database", diagFail, fmt.Sprintf("%s: integrity check failed: %s", path, strings.Join(problems, "; ")), start)
		return
	}
	status := diagOK
	detail := fmt.Sprintf("%s (%s) consistent: schema %d, %d transactions, %d batches", path, mib(uint64(fi.Size())),
		schema, counts["transactions"], counts["batches"])
	if n := counts["pending"] + counts["reversals"]; n > 0 {
		detail += fmt.Sprintf(", %d pending/reversals queued (resolved at start)", n)
		status = diagWarn
	}
	d.add("database", status, detail, start)
}

// checkReader asks the card reader for INFO. Next to a running daemon the
// real reader is left alone: as root, diag could open the port despite
// the daemon's exclusive mode and garble a transaction's frames.
func (d *diagnosis) checkReader(ctx context.Context) {
	start := time.Now()
	if !d.cfg.Simulator && d.running {
		d.add("reader", diagSkip, d.cfg.Reader.Device+" in use by the running daemon: not checked (diag does not share the serial line)", start)
		return
	}
	rcfg := reader.Config{Device: d.cfg.Reader.Device, Baud: d.cfg.Reader.Baud, ResponseTimeout: d.cfg.Reader.ResponseTimeout.Duration}
	if d.cfg.Simulator {
		vr, err := vreader.Start(ctx, vreader.Config{})
		if err != nil {
			d.add("reader", diagFail, "virtual reader: "+err.Error(), start)
			return
		}
		defer vr.Close()
		rcfg.Device = vr.Path()
	}
	if rcfg.Device == "" {
		d.add("reader", diagFail, "reader.device is not set", start)
		return
	}
	r, err := reader.New(rcfg)
	if err != nil {
		d.add("reader", diagFail, err.Error(), start)
		return
	}
	defer r.Close()
	cctx, cancel := context.WithTimeout(ctx, diagDeviceWait)
	defer cancel()
	in, err := r.Info(cctx)
	if err != nil {
		if d.running && busy(err) {
			d.add("reader", diagSkip, rcfg.Device+" in use by the running daemon: not checked", start)
			return
		}
		d.add("reader", diagFail, fmt.Sprintf("%s does not answer: %v", deviceName(d.cfg.Simulator, rcfg.Device, "virtual reader"), err), start)
		return
	}
	d.add("reader", diagOK, fmt.Sprintf("%s answers: %s serial %s firmware %s, protocol %d, display %dx%d",
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
		d.add("printer", diagSkip, "model "+d.cfg.Model+" has no printer", start)
		return
	}
	if !d.cfg.Simulator && d.running {
		d.add("printer", diagSkip, d.cfg.Printer.Device+" in use by the running daemon: not checked (`cashless status` shows its printer)", start)
		return
	}
	pcfg := hardware.PrinterConfig(d.cfg)
	if d.cfg.Simulator {
		dir, err := os.MkdirTemp("", "cashlessd-diag-printer-")
		if err != nil {
			d.add("printer", diagFail, err.Error(), start)
			return
		}
		defer os.RemoveAll(dir)
		vp, err := virtual.Start(ctx, dir, virtual.Columns(d.cfg.Receipt.Width))
		if err != nil {
			d.add("printer", diagFail, "virtual printer: "+err.Error(), start)
			return
		}
		defer vp.Close()
		pcfg.Device = vp.Path()
	}
	if pcfg.JobTimeout <= 0 || pcfg.JobTimeout > diagDeviceWait {
		pcfg.JobTimeout = diagDeviceWait
	}
	p, err := printer.NewSerial(pcfg)
	if err != nil {
		d.add("printer", diagFail, err.Error(), start)
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
		d.add("printer", diagOK, name+" ready ("+d.cfg.Printer.CodePage+", "+fmt.Sprint(d.cfg.Printer.Baud)+" baud)", start)
	case daemon.PrinterPaperLow:
		d.add("printer", diagWarn, name+": paper near end", start)
	case daemon.PrinterUnavailable:
		if d.running && busy(errors.New(msg)) {
			d.add("printer", diagSkip, name+" in use by the running daemon: not checked", start)
			return
		}
		d.add("printer", diagFail, fmt.Sprintf("%s %s: %s", name, st.State, msg), start)
	default:
		d.add("printer", diagFail, fmt.Sprintf("%s %s: %s", name, st.State, msg), start)
	}
}

// checkHost connects to the acquirer (TCP, TLS when configured, sign-on)
// and sends an echo (0800, network code 301).
func (d *diagnosis) checkHost(ctx context.Context) {
	start := time.Now()
	hcfg, err := hardware.HostConfig(d.cfg, zerolog.Nop())
	if err != nil {
		d.add("host", diagFail, err.Error(), start)
		return
	}
	if d.cfg.Simulator && hcfg.Address == "" {
		hs, err := hostsim.New(hostsim.Config{Log: zerolog.Nop()})
		if err == nil {
			err = hs.Listen(ctx, "127.0.0.1:0")
		}
		if err != nil {
			d.add("host", diagFail, "host simulator: "+err.Error(), start)
			return
		}
		defer hs.Close()
		hcfg.Address, hcfg.TLS = hs.Addr(), nil
	}
	if hcfg.Address == "" {
		d.add("host", diagFail, "host.address is not set", start)
		return
	}
	hcfg.Counters = &memCounters{n: map[string]uint32{host.CounterSTAN: d.stanSeed()}}
	hcfg.EchoInterval = 0
	if hcfg.Timeout <= 0 || hcfg.Timeout > diagHostMaxWait {
		hcfg.Timeout = diagHostMaxWait
	}
	c, err := host.New(hcfg)
	if err != nil {
		d.add("host", diagFail, err.Error(), start)
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
		d.add("host", diagFail, fmt.Sprintf("%s (%s) unreachable: %v", name, tlsNote, err), start)
		return
	}
	d.add("host", diagOK, fmt.Sprintf("%s (%s) answered sign-on and echo (0800) in %s", name, tlsNote,
		time.Since(start).Round(time.Millisecond)), start)
}

// stanSeed is where the echo's STANs start. With the daemon stopped a
// block is reserved in the database's counter, as the daemon does, so no
// STAN is ever used twice; the database is closed again at once (a daemon
// starting meanwhile waits for its lock only briefly). Beside a running
// daemon they come from a range its counter reaches rarely.
func (d *diagnosis) stanSeed() uint32 {
	fallback := uint32(diagStanFallback + time.Now().Unix()%90000)
	if d.running {
		return fallback
	}
	if _, err := os.Stat(filepath.Join(d.cfg.DataDir, store.FileName)); err != nil {
		return fallback
	}
	db, err := store.Open(d.cfg.DataDir, diagDBLockWait)
	if err != nil {
		return fallback
	}
	defer db.Close()
	n, err := store.NewCounters(db, 999999, map[string]uint32{host.CounterSTAN: 100}).Next(host.CounterSTAN)
	if err != nil || n == 0 {
		return fallback
	}
	return n - 1
}

// memCounters hands out STANs for diag's echo without writing the
// database (the running daemon may hold it).
type memCounters struct {
	mu sync.Mutex
	n  map[string]uint32
}

func (c *memCounters) Next(name string) (uint32, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[name]++
	return c.n[name], nil
}

func (c *memCounters) Current(name string) (uint32, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[name], nil
}

// writeText prints the report for people.
func (r *diagReport) writeText(w io.Writer) {
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
		case diagWarn:
			warn++
		case diagSkip:
			skip++
		}
		fmt.Fprintf(w, "  %-4s  %-*s  %s\n", strings.ToUpper(c.Status), width, c.Name, c.Detail)
	}
	failed := r.failed()
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
