package main

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"
	"github.com/vinr/cashlessd/daemon"

	"github.com/vinr/cashlessd/certs"
	"github.com/vinr/cashlessd/daemon/config"
	"github.com/vinr/cashlessd/daemon/host"
	"github.com/vinr/cashlessd/daemon/host/hostsim"
	"github.com/vinr/cashlessd/daemon/sim"
	"github.com/vinr/cashlessd/daemon/store"
	"github.com/vinr/cashlessd/emv"
	"github.com/vinr/cashlessd/emv/reader"
	vreader "github.com/vinr/cashlessd/emv/reader/virtual"
	"github.com/vinr/cashlessd/emv/terminal"
	"github.com/vinr/cashlessd/money"
	"github.com/vinr/cashlessd/printer"
	"github.com/vinr/cashlessd/printer/virtual"
)

// devices are the engine's outside world: the production drivers, and in
// simulator mode the simulated devices at their far end.
type devices struct {
	reader  daemon.CardReader
	host    daemon.Host
	printer daemon.Printer // nil on models without a printer
	clock   daemon.Clock
	sim     *simulator // nil outside simulator mode
	closers []func() error
}

// close releases every device, last opened first.
func (d *devices) close() {
	for i := len(d.closers) - 1; i >= 0; i-- {
		_ = d.closers[i]()
	}
}

// openDevices opens the drivers the configuration names. In simulator mode
// the devices at the far end are started first: the virtual printer on a
// pseudo-terminal (the real serial driver talks to it).
func openDevices(ctx context.Context, cfg config.Config, db *store.DB, log zerolog.Logger) (*devices, error) {
	// Devices outlive a cancelled serve context: a shutdown lets the running
	// transaction finish, then closes them.
	ctx = context.WithoutCancel(ctx)
	if _, err := money.Numeric(cfg.Currency); err != nil {
		return nil, fmt.Errorf("currency %s: %w", cfg.Currency, err)
	}
	d := &devices{clock: daemon.SystemClock{}}
	if cfg.Simulator {
		world := sim.New()
		d.sim = &simulator{world: world}
		d.clock = world
	}
	if err := d.openReader(ctx, cfg, log); err != nil {
		d.close()
		return nil, err
	}

	hcfg, err := hostConfig(cfg, db, log)
	if err != nil {
		return nil, err
	}
	if cfg.Simulator && cfg.Host.Address == "" {
		ledger := ""
		if cfg.Sim.HostLedger {
			ledger = filepath.Join(cfg.DataDir, "hostsim", "ledger.json")
		}
		hs, err := hostsim.New(hostsim.Config{LedgerPath: ledger, Log: log})
		if err == nil {
			err = hs.Listen(ctx, "127.0.0.1:0")
		}
		if err != nil {
			return nil, fmt.Errorf("host simulator: %w", err)
		}
		d.closers = append(d.closers, hs.Close)
		d.sim.host, d.sim.hostTerminal = hs, hcfg.TerminalID
		hcfg.Address, hcfg.TLS = hs.Addr(), nil
	}
	client, err := host.New(hcfg)
	if err != nil {
		d.close()
		return nil, err
	}
	d.closers = append(d.closers, client.Close)
	d.host = client

	if cfg.HasPrinter() {
		pcfg := printerConfig(cfg)
		if cfg.Simulator {
			vp, err := virtual.Start(ctx, filepath.Join(cfg.DataDir, "printer"), virtual.Columns(cfg.Receipt.Width))
			if err != nil {
				d.close()
				return nil, fmt.Errorf("virtual printer: %w", err)
			}
			d.closers = append(d.closers, vp.Close)
			d.sim.printer = vp
			pcfg.Device = vp.Path()
		}
		p, err := printer.NewSerial(pcfg)
		if err != nil {
			d.close()
			return nil, err
		}
		d.closers = append(d.closers, p.Close)
		d.printer = p
	}
	return d, nil
}

// openReader opens the card reader driver and the EMV kernel; in simulator
// mode the virtual reader and its cardholder come first.
func (d *devices) openReader(ctx context.Context, cfg config.Config, log zerolog.Logger) error {
	rcfg := reader.Config{Device: cfg.Reader.Device, Baud: cfg.Reader.Baud, ResponseTimeout: cfg.Reader.ResponseTimeout.Duration, Logger: log}
	if d.sim != nil {
		vr, err := vreader.Start(ctx, vreader.Config{})
		if err != nil {
			return fmt.Errorf("virtual reader: %w", err)
		}
		d.closers = append(d.closers, vr.Close)
		d.sim.reader = vr
		hctx, stop := context.WithCancel(ctx)
		go d.sim.world.Cardholder(hctx, vr, log)
		d.closers = append(d.closers, func() error { stop(); return nil })
		rcfg.Device = vr.Path()
	}
	r, err := reader.New(rcfg)
	if err != nil {
		return err
	}
	d.closers = append(d.closers, r.Close)
	kcfg := emv.DefaultConfig()
	kcfg.ContactlessCVMLimit = cfg.Reader.ContactlessCVMLimit
	kcfg.OfflineApprovals, kcfg.FloorLimit = cfg.Offline.Approvals, cfg.Offline.FloorLimit
	if cfg.Offline.TACDefault != "" {
		tac, err := hex.DecodeString(cfg.Offline.TACDefault)
		if err != nil {
			return fmt.Errorf("offline.tac_default: %w", err)
		}
		for i := range kcfg.AIDs {
			kcfg.AIDs[i].TACDefault = tac
		}
	}
	kernel, err := emv.NewKernel(kcfg)
	if err != nil {
		return err
	}
	d.reader = terminal.New(r, kernel, d.clock.Now, log)
	return nil
}

// hostConfig maps the [host] section onto the ISO 8583 client.
func hostConfig(cfg config.Config, db *store.DB, log zerolog.Logger) (host.Config, error) {
	h := host.Config{
		Address:      cfg.Host.Address,
		TerminalID:   cfg.Host.TerminalID,
		MerchantID:   cfg.Host.MerchantID,
		Timeout:      cfg.Host.Timeout.Duration,
		EchoInterval: cfg.Host.EchoInterval.Duration,
		Counters:     store.NewCounters(db, 999999, map[string]uint32{host.CounterSTAN: 100}),
		Log:          log,
	}
	if cfg.Simulator {
		if h.TerminalID == "" {
			h.TerminalID = "SIM00001"
		}
		if h.MerchantID == "" {
			h.MerchantID = "SIMMERCHANT0001"
		}
	}
	if cfg.Host.TLS {
		tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.Host.ServerName}
		if cfg.Host.CAFile != "" {
			pool, err := certs.Pool(cfg.Host.CAFile)
			if err != nil {
				return h, fmt.Errorf("host.ca_file: %w", err)
			}
			tc.RootCAs = pool
		}
		h.TLS = tc
	}
	return h, nil
}

// printerConfig maps the [printer] section onto the serial driver.
func printerConfig(cfg config.Config) printer.SerialConfig {
	return printer.SerialConfig{
		Device:      cfg.Printer.Device,
		Baud:        cfg.Printer.Baud,
		FlowControl: printer.FlowControl(cfg.Printer.FlowControl),
		JobTimeout:  cfg.Printer.JobTimeout.Duration,
		Encoder:     printer.Encoder{CodePage: printer.CodePage(cfg.Printer.CodePage)},
	}
}

// simulator is simulator mode's control surface: each setting goes to the
// simulated device it belongs to.
type simulator struct {
	world  *sim.World
	reader *vreader.Reader
	host   *hostsim.Server
	// hostTerminal is the terminal ID (field 41) the host knows us by.
	hostTerminal string
	printer      *virtual.Printer // nil on models without a printer
}

// SetCard chooses the card presented to following transactions.
func (s *simulator) SetCard(c daemon.SimCard) error { return s.world.SetCard(c) }

// SetHost changes the simulated acquirer.
func (s *simulator) SetHost(h daemon.SimHost) error {
	if s.host == nil {
		return daemon.Errorf(daemon.CodeInvalidRequest, "The acquirer host is external (host.address); control it there.")
	}
	if h.Latency != nil {
		s.host.SetLatency(*h.Latency)
	}
	if h.Offline != nil {
		s.host.SetOffline(*h.Offline)
	}
	if h.DropResponse != nil {
		s.host.SetDropResponse(*h.DropResponse)
	}
	if h.ForgetTransaction != "" {
		if err := s.host.ForgetApproval(s.hostTerminal, h.ForgetTransaction); err != nil {
			return daemon.Errorf(daemon.CodeInvalidRequest, "forgetTransaction: %v", err)
		}
	}
	return nil
}

// SetPaper loads or takes out the virtual printer's paper.
func (s *simulator) SetPaper(ok bool) error {
	if s.printer == nil {
		return daemon.Errorf(daemon.CodePrinterUnavailable, "This terminal model has no built-in printer.")
	}
	s.printer.SetPaper(ok)
	return nil
}

// SetReader injects faults at the virtual reader.
func (s *simulator) SetReader(r daemon.SimReader) error {
	if r.Unplugged != nil {
		if *r.Unplugged {
			s.reader.Unplug()
		} else if err := s.reader.Replug(); err != nil {
			return err
		}
	}
	if r.GarbleFrames > 0 {
		s.reader.Garble(r.GarbleFrames)
	}
	if r.DropBytes > 0 {
		s.reader.DropBytes(r.DropBytes)
	}
	if r.RemoveCard {
		s.reader.Remove()
	}
	return nil
}

// AdvanceClock moves the simulated clock forward.
func (s *simulator) AdvanceClock(d time.Duration) error { return s.world.AdvanceClock(d) }
