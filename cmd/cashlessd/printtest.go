package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/hardware"
)

// printTest prints a test page on the configured printer: the technician's
// check that the printer, its baud rate and code page are right.
func (m *Main) printTest(ctx context.Context, args []string) error {
	cfg, err := m.loadConfig(args)
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
	doc := testPage(cfg.Merchant.Name, cfg.TerminalID, cfg.Model, m.Version, cfg.Receipt.Width, time.Now().In(cfg.Location()))
	if err := p.Print(ctx, doc); err != nil {
		st := p.Status(ctx)
		return fmt.Errorf("test page not printed: %w (printer: %s)", err, st.State)
	}
	fmt.Fprintf(m.Stdout, "test page printed (%d lines, %d columns)\n", len(doc.Lines), doc.Width)
	return nil
}

// testPage lays out the test page.
func testPage(merchant, terminalID, model, version string, width int, now time.Time) daemon.Document {
	b := daemon.NewDocument(width)
	b.Double("TEST PAGE", daemon.AlignCenter)
	b.Text(merchant, daemon.AlignCenter, true)
	b.Pair("TID", terminalID, false)
	b.Pair("MODEL", model, false)
	b.Pair("VERSION", version, false)
	b.Pair("TIME", now.Format("2006-01-02 15:04"), false)
	b.Rule()
	ruler := strings.Repeat("1234567890", width/10+1)[:width]
	b.Text(ruler, daemon.AlignLeft, false)
	b.Text("left", daemon.AlignLeft, false)
	b.Text("centre", daemon.AlignCenter, false)
	b.Text("right", daemon.AlignRight, false)
	b.Text("bold", daemon.AlignLeft, true)
	b.Text("Café Zürich Ñandú Øre €5", daemon.AlignLeft, false)
	b.QR("cashlessd test page " + terminalID)
	b.Text("END OF TEST", daemon.AlignCenter, true)
	return b.Document()
}
