package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/host/hostsim"
	"github.com/vinr/cashlessd/daemon/sim"
	"github.com/vinr/cashlessd/emv/reader/virtual"
	pvirtual "github.com/vinr/cashlessd/printer/virtual"
)

// devices are the simulated card reader (with its cardholder), receipt
// printer and acquirer host, run in this process so that what the
// daemon's process costs is the daemon's alone. cashlessd runs in
// production mode against them: its serial drivers on their
// pseudo-terminals, its ISO 8583 client on the host's TCP port.
type devices struct {
	reader  *virtual.Reader
	printer *pvirtual.Printer
	host    *hostsim.Server
	world   *sim.World // the cardholder's card
	stop    context.CancelFunc
	done    chan struct{}
}

// startDevices starts the devices in dir; the cardholder presents the
// default card as soon as the terminal asks for one.
func startDevices(ctx context.Context, dir string) (*devices, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	life, stop := context.WithCancel(context.WithoutCancel(ctx))
	d := &devices{stop: stop, done: make(chan struct{})}
	fail := func(err error) (*devices, error) {
		close(d.done)
		d.close()
		return nil, err
	}
	var err error
	if d.reader, err = virtual.Start(life, virtual.Config{Path: filepath.Join(dir, "reader")}); err != nil {
		return fail(err)
	}
	if d.printer, err = pvirtual.Start(life, filepath.Join(dir, "printer"), pvirtual.Columns(32)); err != nil {
		return fail(err)
	}
	d.host, err = hostsim.New(hostsim.Config{LedgerPath: filepath.Join(dir, "host", "ledger.json"), Log: zerolog.Nop()})
	if err == nil {
		err = d.host.Listen(life, "127.0.0.1:0")
	}
	if err != nil {
		return fail(err)
	}
	d.world = sim.New()
	instant := time.Duration(0)
	if err := d.world.SetCard(daemon.SimCard{PresentAfter: &instant}); err != nil {
		return fail(err)
	}
	go func() {
		defer close(d.done)
		d.world.Cardholder(life, d.reader, zerolog.Nop())
	}()
	return d, nil
}

// close stops the devices.
func (d *devices) close() {
	d.stop()
	<-d.done
	if d.reader != nil {
		_ = d.reader.Close()
	}
	if d.printer != nil {
		_ = d.printer.Close()
	}
	if d.host != nil {
		_ = d.host.Close()
	}
}

// config is cashlessd's configuration for the devices: production mode,
// metrics on, no automatic settlement, warnings only.
func (d *devices) config() string {
	return fmt.Sprintf("model = \"nexgo_ct20\"\nterminal_id = \"term_BENCH\"\n[reader]\ndevice = %q\n[printer]\ndevice = %q\n[host]\naddress = %q\ntls = false\nterminal_id = \"BENCH001\"\nmerchant_id = \"BENCHMERCHANT01\"\n"+
		"[metrics]\nlisten = \"127.0.0.1:0\"\n[settlement]\nauto = false\n[log]\nlevel = \"warn\"\n",
		d.reader.Path(), d.printer.Path(), d.host.Addr())
}

// rig is cashlessd in its own process with its devices in this one.
type rig struct {
	*proc
	dev *devices
	dir string
}

// startTerminal starts the devices in dir/devices and cashlessd on
// dataDir (made when missing), with a shared key of its own.
func startTerminal(ctx context.Context, bin, dir, dataDir string) (*rig, error) {
	dev, err := startDevices(ctx, filepath.Join(dir, "devices"))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		dev.close()
		return nil, err
	}
	cfg := filepath.Join(dir, "cashlessd.toml")
	if err := os.WriteFile(cfg, []byte(dev.config()), 0o600); err != nil {
		dev.close()
		return nil, err
	}
	key, err := rotateKey(ctx, bin, cfg, dataDir)
	if err != nil {
		dev.close()
		return nil, err
	}
	p, err := startCashlessd(ctx, bin, dataDir, cfg)
	if err != nil {
		dev.close()
		return nil, err
	}
	p.key = key
	return &rig{proc: p, dev: dev, dir: dir}, nil
}

// stop ends cashlessd, then its devices.
func (t *rig) stop() {
	t.proc.stop()
	t.dev.close()
}

// rotateKey makes the terminal's shared key (`cashlessd key rotate`).
func rotateKey(ctx context.Context, bin, cfg, dataDir string) (string, error) {
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "key", "rotate", "--config", cfg, "--data-dir", dataDir)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("key rotate: %w: %s", err, errOut.String())
	}
	key := strings.TrimSpace(out.String())
	if key == "" {
		return "", fmt.Errorf("key rotate printed no key: %s", errOut.String())
	}
	return key, nil
}
