package main

import (
	"context"
	"fmt"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/hardware"
)

// printTest prints a test page on the configured printer: the technician's
// check that the printer, its baud rate and code page are right.
func (m *Main) printTest(ctx context.Context, args []string) error {
	cfg, err := m.loadConfig("print-test", args)
	if err != nil {
		return err
	}
	if !cfg.HasPrinter() {
		return fmt.Errorf("model %s has no built-in printer", cfg.Model)
	}
	devs, err := hardware.OpenPrinter(ctx, cfg)
	if err != nil {
		return err
	}
	defer devs.Close()
	p := devs.Printer
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	doc := daemon.PrinterTestPage(cfg.Merchant.Name, cfg.TerminalID, cfg.Model, m.Version, cfg.Receipt.Width, time.Now().In(cfg.Location()))
	if err := p.Print(ctx, doc); err != nil {
		st := p.Status(ctx)
		return fmt.Errorf("test page not printed: %w (printer: %s)", err, st.State)
	}
	fmt.Fprintf(m.Stdout, "test page printed (%d lines, %d columns)\n", len(doc.Lines), doc.Width)
	return nil
}
