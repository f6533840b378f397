package hardware_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/config"
	"github.com/vinr/cashlessd/daemon/store"
	"github.com/vinr/cashlessd/hardware"
)

// simConfig is a simulator-mode configuration over a fresh data directory.
func simConfig(t *testing.T) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.Simulator = true
	cfg.DataDir = t.TempDir()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func openStore(t *testing.T, dir string) *store.DB {
	t.Helper()
	db, err := store.Open(dir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// TestOpenSimulatorWiresEveryDevice opens simulator mode's devices and
// talks to each through its production driver.
func TestOpenSimulatorWiresEveryDevice(t *testing.T) {
	t.Parallel()
	cfg := simConfig(t)
	devs, err := hardware.Open(context.Background(), cfg, openStore(t, cfg.DataDir), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer devs.Close()
	if devs.Reader == nil || devs.Host == nil || devs.Printer == nil || devs.Clock == nil || devs.Simulator == nil {
		t.Fatalf("devices not all wired: %+v", devs)
	}
	if devs.Simulator.VirtualReader() == nil || devs.Simulator.VirtualPrinter() == nil || devs.Simulator.HostSimulator() == nil {
		t.Fatal("simulated devices missing")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if st := devs.Printer.Status(ctx); st.State != daemon.PrinterReady {
		t.Errorf("printer status %s (%s), want ready", st.State, st.Message)
	}
	if err := devs.Simulator.SetPaper(false); err != nil {
		t.Fatal(err)
	}
	if st := devs.Printer.Status(ctx); st.State == daemon.PrinterReady {
		t.Errorf("printer still ready without paper")
	}
	if err := devs.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
}

// TestOpenWithoutPrinter leaves the printer out on a model without one.
func TestOpenWithoutPrinter(t *testing.T) {
	t.Parallel()
	cfg := simConfig(t)
	cfg.Model = "nexgo_n86pro"
	devs, err := hardware.Open(context.Background(), cfg, openStore(t, cfg.DataDir), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer devs.Close()
	if devs.Printer != nil || devs.Simulator.VirtualPrinter() != nil {
		t.Error("a printer was opened on a model without one")
	}
	if err := devs.Simulator.SetPaper(true); err == nil {
		t.Error("SetPaper succeeded without a printer")
	}
}

// TestOpenClosesWhatItOpenedWhenAStepFails makes each step after the card
// reader fail and checks that nothing opened before it is left behind: no
// descriptor (pseudo-terminals, sockets), no temporary device directory,
// no cardholder or reader goroutine.
func TestOpenClosesWhatItOpenedWhenAStepFails(t *testing.T) {
	cases := []struct {
		name  string
		spoil func(t *testing.T, cfg *config.Config)
		want  string
	}{
		{"host CA bundle", func(t *testing.T, cfg *config.Config) {
			cfg.Host.TLS = &[]bool{true}[0]
			cfg.Host.CAFile = filepath.Join(cfg.DataDir, "missing-ca.pem")
		}, "host.ca_file"},
		{"host simulator ledger", func(t *testing.T, cfg *config.Config) {
			writeFile(t, filepath.Join(cfg.DataDir, "hostsim"))
		}, "host simulator"},
		{"virtual printer", func(t *testing.T, cfg *config.Config) {
			writeFile(t, filepath.Join(cfg.DataDir, "printer"))
		}, "virtual printer"},
	}
	// One open and close first, so what the runtime opens once (the
	// network poller) is not counted as a leak.
	warm := simConfig(t)
	devs, err := hardware.Open(context.Background(), warm, openStore(t, warm.DataDir), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	_ = devs.Close()

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp) // where the virtual reader makes its device directory
			cfg := simConfig(t)
			db := openStore(t, cfg.DataDir)
			c.spoil(t, &cfg)
			before := openDescriptors(t)
			devs, err := hardware.Open(context.Background(), cfg, db, zerolog.Nop())
			if err == nil {
				_ = devs.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want it to mention %q", err, c.want)
			}
			if after := openDescriptors(t); after != before {
				t.Errorf("%d descriptors open after the failed Open, %d before", after, before)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("the virtual reader's directory is left behind: %v", left)
			}
			// Close waits for these goroutines to be done; one may still be
			// on its way out (past its deferred Done) for a moment.
			for _, f := range []string{"sim.(*World).Cardholder", "virtual.(*Reader).readLoop"} {
				running := strings.Contains(allStacks(), f)
				for deadline := time.Now().Add(5 * time.Second); running && time.Now().Before(deadline); {
					time.Sleep(10 * time.Millisecond)
					running = strings.Contains(allStacks(), f)
				}
				if running {
					t.Errorf("%s still running after the failed Open", f)
				}
			}
		})
	}
}

func writeFile(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// openDescriptors counts the process's open file descriptors.
func openDescriptors(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	return len(fds)
}

// allStacks is every goroutine's stack.
func allStacks() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

// TestSimulatorSpeaksTheConfiguredDialect signs on and echoes in the
// bcd-tpdu dialect: the simulator-mode host simulator follows host.dialect.
func TestSimulatorSpeaksTheConfiguredDialect(t *testing.T) {
	t.Parallel()
	cfg := simConfig(t)
	cfg.Host.Dialect, cfg.Host.TPDU = "bcd-tpdu", "6000300000"
	devs, err := hardware.Open(context.Background(), cfg, openStore(t, cfg.DataDir), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer devs.Close()
	echo, ok := devs.Host.(interface{ Echo(context.Context) error })
	if !ok {
		t.Fatalf("host %T has no Echo", devs.Host)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := echo.Echo(ctx); err != nil {
		t.Fatal(err)
	}
}
