package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/config"
	"github.com/vinr/cashlessd/daemon/sim"
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
func openDevices(ctx context.Context, cfg config.Config) (*devices, error) {
	d := &devices{}
	if !cfg.Simulator {
		return nil, errors.New("this build drives the card reader and acquirer host in simulator mode only (--simulator); their serial and ISO 8583 drivers are not wired in yet")
	}
	simDevices := sim.New()
	d.sim = &simulator{devices: simDevices}
	d.reader, d.host, d.clock = simDevices.Reader(), simDevices.Host(), simDevices

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
	devices *sim.Devices
	printer *virtual.Printer // nil on models without a printer
}

// SetCard chooses the card presented to following transactions.
func (s *simulator) SetCard(c daemon.SimCard) error { return s.devices.SetCard(c) }

// SetHost changes the simulated acquirer.
func (s *simulator) SetHost(h daemon.SimHost) error { return s.devices.SetHost(h) }

// SetPaper loads or takes out the virtual printer's paper.
func (s *simulator) SetPaper(ok bool) error {
	if s.printer == nil {
		return daemon.Errorf(daemon.CodePrinterUnavailable, "This terminal model has no built-in printer.")
	}
	s.printer.SetPaper(ok)
	return nil
}

// AdvanceClock moves the simulated clock forward.
func (s *simulator) AdvanceClock(d time.Duration) error { return s.devices.AdvanceClock(d) }
