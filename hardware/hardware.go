// Package hardware opens the card reader, printer and acquirer link a
// configuration names — or, in simulator mode, the simulators at the far
// end of a pseudo-terminal or a loopback TCP socket — and closes them all in
// one deferred clean-up. The engine gets the production drivers either way:
// only the devices behind them are simulated.
package hardware

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/config"
	"github.com/vinr/cashlessd/daemon/host"
	"github.com/vinr/cashlessd/daemon/host/hostsim"
	"github.com/vinr/cashlessd/daemon/sim"
	"github.com/vinr/cashlessd/daemon/store"
	"github.com/vinr/cashlessd/daemon/terminal"
	"github.com/vinr/cashlessd/emv/reader"
	vreader "github.com/vinr/cashlessd/emv/reader/virtual"
	"github.com/vinr/cashlessd/money"
	"github.com/vinr/cashlessd/printer"
	"github.com/vinr/cashlessd/printer/virtual"
)

// Devices are the engine's outside world: the production drivers, and in
// simulator mode the simulated devices at their far end.
type Devices struct {
	// Reader is the card reader and PIN pad behind the EMV kernel.
	Reader daemon.CardReader
	// Printer is the receipt printer; nil on models without one.
	Printer daemon.Printer
	// Host is the ISO 8583 link to the acquirer.
	Host daemon.Host
	// Clock is the system clock, or the simulator's movable one.
	Clock daemon.Clock
	// Simulator controls the simulated devices; nil outside simulator mode.
	Simulator *Simulator

	closers []func() error
}

// Close releases every device, last opened first, and returns the first
// error met.
func (d *Devices) Close() error {
	var errs []error
	for i := len(d.closers) - 1; i >= 0; i-- {
		errs = append(errs, d.closers[i]())
	}
	d.closers = nil
	return errors.Join(errs...)
}

// onClose registers f to run at Close, before everything opened earlier.
func (d *Devices) onClose(f func() error) { d.closers = append(d.closers, f) }

// Open opens the drivers cfg names; db keeps the host link's counters (STAN,
// batch number). In simulator mode the devices at the far end are started
// first: the virtual reader and its cardholder, the host simulator unless
// host.address names an acquirer, and the virtual printer, each on the
// pseudo-terminal or loopback port the real driver then opens.
//
// The devices outlive ctx's cancellation: a shutdown lets the running
// transaction finish, then calls Close. When a step fails, everything
// opened before it is closed again and the error returned.
func Open(ctx context.Context, cfg config.Config, db *store.DB, log zerolog.Logger) (_ *Devices, err error) {
	ctx = context.WithoutCancel(ctx)
	if _, err := money.Numeric(cfg.Currency); err != nil {
		return nil, fmt.Errorf("currency %s: %w", cfg.Currency, err)
	}
	d := &Devices{Clock: daemon.SystemClock{}}
	defer func() {
		if err != nil {
			_ = d.Close()
		}
	}()
	if cfg.Simulator {
		world := sim.New()
		d.Simulator = &Simulator{world: world}
		d.Clock = world
	}
	if err := d.openReader(ctx, cfg, db, log); err != nil {
		return nil, err
	}
	if err := d.openHost(ctx, cfg, db, log); err != nil {
		return nil, err
	}
	if cfg.HasPrinter() {
		if err := d.openPrinter(ctx, cfg); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// openReader opens the card reader driver and the EMV kernel; in simulator
// mode the virtual reader and its cardholder come first.
func (d *Devices) openReader(ctx context.Context, cfg config.Config, db *store.DB, log zerolog.Logger) error {
	rcfg := ReaderConfig(cfg, log)
	if d.Simulator != nil {
		vr, err := vreader.Start(ctx, vreader.Config{})
		if err != nil {
			return fmt.Errorf("virtual reader: %w", err)
		}
		d.onClose(vr.Close)
		d.Simulator.reader = vr
		held, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			d.Simulator.world.Cardholder(held, vr, log)
		}()
		d.onClose(func() error { stop(); <-done; return nil })
		rcfg.Device = vr.Path()
	}
	r, err := reader.New(rcfg)
	if err != nil {
		return err
	}
	d.onClose(r.Close)
	kernel, err := Kernel(cfg)
	if err != nil {
		return err
	}
	d.Reader = terminal.New(r, kernel, d.Clock.Now, log, terminal.WithCounters(CardCounters(db)))
	return nil
}

// openHost opens the ISO 8583 client; in simulator mode without a
// host.address the host simulator listens on loopback first.
func (d *Devices) openHost(ctx context.Context, cfg config.Config, db *store.DB, log zerolog.Logger) error {
	hcfg, err := HostConfig(cfg, log)
	if err != nil {
		return err
	}
	hcfg.Counters = HostCounters(db)
	if cfg.Simulator && cfg.Host.Address == "" {
		ledger := ""
		if cfg.Sim.HostLedger {
			ledger = filepath.Join(cfg.DataDir, "hostsim", "ledger.json")
		}
		hs, err := hostsim.New(hostsim.Config{LedgerPath: ledger, Dialect: hcfg.Dialect, Log: log})
		if err == nil {
			err = hs.Listen(ctx, "127.0.0.1:0")
		}
		if err != nil {
			if hs != nil {
				_ = hs.Close()
			}
			return fmt.Errorf("host simulator: %w", err)
		}
		d.onClose(hs.Close)
		d.Simulator.host, d.Simulator.hostTerminal = hs, hcfg.TerminalID
		hcfg.Address, hcfg.TLS = hs.Addr(), nil
	}
	client, err := host.New(hcfg)
	if err != nil {
		return err
	}
	d.onClose(client.Close)
	d.Host = client
	return nil
}

// openPrinter opens the serial printer driver; in simulator mode the
// virtual printer on its pseudo-terminal comes first.
func (d *Devices) openPrinter(ctx context.Context, cfg config.Config) error {
	pcfg := PrinterConfig(cfg)
	if d.Simulator != nil {
		vp, err := StartVirtualPrinter(ctx, cfg)
		if err != nil {
			return fmt.Errorf("virtual printer: %w", err)
		}
		d.onClose(vp.Close)
		d.Simulator.printer = vp
		pcfg.Device = vp.Path()
	}
	p, err := printer.NewSerial(pcfg)
	if err != nil {
		return err
	}
	d.onClose(p.Close)
	d.Printer = p
	return nil
}

// OpenPrinter opens only the printer cfg names (in simulator mode, behind
// the virtual printer): what the test page needs. Devices.Printer is nil
// on models without a printer.
func OpenPrinter(ctx context.Context, cfg config.Config) (_ *Devices, err error) {
	d := &Devices{Clock: daemon.SystemClock{}}
	if !cfg.HasPrinter() {
		return d, nil
	}
	defer func() {
		if err != nil {
			_ = d.Close()
		}
	}()
	pcfg := PrinterConfig(cfg)
	if cfg.Simulator {
		vp, err := StartVirtualPrinter(ctx, cfg)
		if err != nil {
			return nil, err
		}
		d.onClose(vp.Close)
		pcfg.Device = vp.Path()
	}
	p, err := printer.NewSerial(pcfg)
	if err != nil {
		return nil, err
	}
	d.onClose(p.Close)
	d.Printer = p
	return d, nil
}

// StartVirtualPrinter starts simulator mode's printer on a pseudo-terminal;
// it keeps its jobs in the data directory's "printer" folder.
func StartVirtualPrinter(ctx context.Context, cfg config.Config) (*virtual.Printer, error) {
	return virtual.Start(ctx, filepath.Join(cfg.DataDir, "printer"), virtual.Columns(cfg.Receipt.Width))
}
