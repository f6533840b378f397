package faults

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vinr/cashlessd/daemon/host/hostsim"
)

// HostTerminalID is the terminal ID (field 41) simulator mode uses.
const HostTerminalID = "SIM00001"

// Options configure a run.
type Options struct {
	Launcher Launcher
	// Dir holds data directories, logs and the host's ledger.
	Dir string
	// Kills is the number of SIGKILL rounds (a recovery round kills
	// twice); Terms the number of SIGTERM rounds.
	Kills, Terms int
	// LongShutdown adds one SIGTERM whose transaction outlives the 30 s
	// grace, to check the bound.
	LongShutdown bool
	Seed         uint64
	// DataDir is the terminal's data directory (default Dir/terminal).
	DataDir string
	// Ops restricts the interrupted operations (default: all, weighted).
	Ops []string
	// LogLevel is the daemon's log level (default info).
	LogLevel string
	// HostTimeout is the daemon's [host] timeout (default 10 s).
	HostTimeout time.Duration
	// MaxHold bounds how long the proxy holds a message to land a kill in
	// flight (default 700 ms); a short run uses less.
	MaxHold time.Duration
	// Progress gets one line per round; nil is quiet.
	Progress io.Writer
}

// Harness is one terminal (daemon process, data directory) against one
// host simulator process, with the proxy between them.
type Harness struct {
	opt     Options
	rng     *rand.Rand
	Report  *Report
	dataDir string
	cfg     string
	ledger  string
	scratch string
	logs    string

	host   *Proc
	proxy  *Proxy
	d      *Daemon
	ecr    *ECR
	starts int

	known     map[string]bool // transaction IDs seen at earlier inspections
	sales     []*original     // approved sales and completions that can be refunded
	preauths  []*original     // approved pre-auths not completed
	answers   []recorded      // every final answer the ECR got
	pooled    map[string]bool // references already in a pool
	stuck     string          // set once a batch that never settles was reported
	paidTwice string          // the last double settlement reported
	firstOps  []string        // operations still to be killed once before weights decide
	seq       int
}

// original is an approved transaction a refund or completion can use.
type original struct {
	ref      string
	amount   int64
	refunded int64
	// incremented is what approved increments added to a pre-auth.
	incremented int64
	// closed is set once a batch close the ECR saw succeed took it.
	closed bool
}

// recorded is an answer the ECR got, checked against the books at the end.
type recorded struct {
	kind, ref, txID string
	status          int
	code            string
}

// NewHarness starts the host simulator and the proxy, and writes the
// daemon's configuration. Call Close when done.
func NewHarness(opt Options, extraConfig string) (*Harness, error) {
	if opt.MaxHold <= 0 {
		opt.MaxHold = 700 * time.Millisecond
	}
	if opt.LogLevel == "" {
		opt.LogLevel = "info"
	}
	if opt.HostTimeout <= 0 {
		opt.HostTimeout = 10 * time.Second
	}
	if opt.Seed == 0 {
		opt.Seed = uint64(time.Now().UnixNano())
	}
	h := &Harness{opt: opt, rng: rand.New(rand.NewPCG(opt.Seed, opt.Seed^0x9e3779b97f4a7c15)), Report: NewReport(),
		known: map[string]bool{}, pooled: map[string]bool{}}
	h.dataDir = opt.DataDir
	if h.dataDir == "" {
		h.dataDir = filepath.Join(opt.Dir, "terminal")
	}
	h.ledger = filepath.Join(opt.Dir, "host", "ledger.json")
	h.scratch = filepath.Join(opt.Dir, "scratch")
	h.logs = filepath.Join(opt.Dir, "logs")
	for _, d := range []string{filepath.Dir(h.ledger), h.scratch, h.logs} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	addr, hp, err := opt.Launcher.StartHost(h.ledger, filepath.Join(h.logs, "hostsim.log"))
	if err != nil {
		return nil, err
	}
	h.host = hp
	if h.proxy, err = NewProxy(addr); err != nil {
		hp.Kill()
		return nil, err
	}
	h.cfg = filepath.Join(opt.Dir, "cashlessd.toml")
	conf := fmt.Sprintf("card_timeout = \"60s\"\n%s\n[host]\naddress = %q\ntimeout = %q\n[settlement]\nauto = false\n[log]\nlevel = %q\n",
		extraConfig, h.proxy.Addr(), opt.HostTimeout.String(), opt.LogLevel)
	if err := os.WriteFile(h.cfg, []byte(conf), 0o600); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// Close stops everything the harness started.
func (h *Harness) Close() {
	if h.d != nil {
		h.d.Kill()
	}
	if h.ecr != nil {
		h.ecr.Close()
	}
	if h.proxy != nil {
		h.proxy.Close()
	}
	if h.host != nil {
		_ = h.host.Signal(15)
		if !h.host.Wait(5 * time.Second) {
			h.host.Kill()
		}
	}
}

func (h *Harness) progress(format string, a ...any) {
	if h.opt.Progress != nil {
		fmt.Fprintf(h.opt.Progress, format+"\n", a...)
	}
}

// daemonLog is the log file of the n-th start.
func (h *Harness) daemonLog() string {
	return filepath.Join(h.logs, "cashlessd.log")
}

// startDaemon starts the daemon on the data directory and waits until it
// is ready; it returns how long start-up (recovery included) took.
func (h *Harness) startDaemon(ctx context.Context) (time.Duration, error) {
	begin := time.Now()
	d, err := h.opt.Launcher.StartDaemon(h.dataDir, h.cfg, h.daemonLog())
	if err != nil {
		return 0, err
	}
	h.starts++
	if err := d.WaitReady(ctx, 60*time.Second); err != nil {
		return 0, err
	}
	return h.attach(d, begin)
}

func (h *Harness) attach(d *Daemon, begin time.Time) (time.Duration, error) {
	took := time.Since(begin)
	e, err := d.ECR()
	if err != nil {
		d.Kill()
		return 0, err
	}
	if h.ecr != nil {
		h.ecr.Close()
	}
	h.d, h.ecr = d, e
	return took, nil
}

func (h *Harness) checkRace(p *Daemon) {
	if strings.Contains(p.Log(), "WARNING: DATA RACE") {
		h.Report.Violate(Violation{VRace, "the race detector reported in cashlessd (see " + h.daemonLog() + ")"})
	}
}

// stopDaemon sends SIGTERM and waits for the exit.
func (h *Harness) stopDaemon() error {
	if h.d == nil {
		return nil
	}
	_ = h.d.Signal(15)
	if !h.d.Wait(45 * time.Second) {
		h.d.Kill()
		return fmt.Errorf("cashlessd did not stop within 45 s of SIGTERM")
	}
	h.checkRace(h.d)
	if err := h.d.ExitErr(); err != nil {
		return fmt.Errorf("cashlessd exited with %v after SIGTERM:\n%s", err, tail(h.d.Log(), 1500))
	}
	return nil
}

// readLedger reads the host's ledger file.
func (h *Harness) readLedger() (hostsim.Ledger, error) {
	l, err := hostsim.ReadLedger(h.ledger)
	if os.IsNotExist(err) {
		return hostsim.Ledger{}, nil
	}
	return l, err
}

// uniform returns a duration in [lo, hi).
func (h *Harness) uniform(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(h.rng.Int64N(int64(hi-lo)))
}

// pick returns one of the items.
func pick[T any](h *Harness, items ...T) T { return items[h.rng.IntN(len(items))] }

// waitNoReversals polls status until no reversal is queued.
func (h *Harness) waitNoReversals(ctx context.Context, within time.Duration) (int64, error) {
	deadline := time.Now().Add(within)
	for {
		a := h.ecr.Post(ctx, "/cashless/v1/status", "{}")
		if a.Err != nil {
			return -1, a.Err
		}
		n := a.Num("pendingReversals")
		if n == 0 || time.Now().After(deadline) {
			return n, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}
