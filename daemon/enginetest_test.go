package daemon_test

import (
	"context"
	"errors"
	"github.com/vinr/cashlessd/internal/logbuf"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/config"
	"github.com/vinr/cashlessd/daemon/host"
	"github.com/vinr/cashlessd/daemon/store"
	"github.com/vinr/cashlessd/hardware"
)

// terminal is the real engine on a real bbolt store in a temp dir, driving
// the production drivers of the reader, printer and host link, with the
// simulators at their far end: the virtual reader and printer on
// pseudo-terminals and the host simulator on loopback TCP.
type terminal struct {
	t       *testing.T
	dir     string
	cfg     config.Config
	db      *store.DB
	devs    *hardware.Devices
	sim     *hardware.Simulator
	engine  *daemon.Engine
	logs    *logbuf.Buffer
	stopped bool
}

// startTerminal starts a simulator-mode terminal on dir (a fresh temp dir
// when empty) with the defaults of config.Default, changed by adjust; it
// is stopped when the test ends.
func startTerminal(t *testing.T, dir string, adjust func(*config.Config)) *terminal {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	cfg := config.Default()
	cfg.DataDir, cfg.Simulator, cfg.TerminalID = dir, true, "term_TEST_0001"
	if adjust != nil {
		adjust(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &logbuf.Buffer{}
	log := zerolog.New(logs)
	db, err := store.Open(dir, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	devs, err := hardware.Open(context.Background(), cfg, db, log)
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	engine := daemon.New(cfg.Engine("1.2.3-test"), daemon.Deps{Store: db, Reader: devs.Reader, Printer: devs.Printer, Host: devs.Host, Clock: devs.Clock, Log: log})
	devs.Simulator.OnClockAdvance(engine.CheckSchedule)
	m := &terminal{t: t, dir: dir, cfg: cfg, db: db, devs: devs, sim: devs.Simulator, engine: engine, logs: logs}
	if err := engine.Start(context.Background()); err != nil {
		m.close()
		t.Fatalf("start: %v\n%s", err, logs.String())
	}
	t.Cleanup(func() { m.stop(context.Background()) })
	return m
}

// stop stops the engine (letting a running transaction finish until ctx
// ends) and closes the devices and the store; it returns Stop's error.
func (m *terminal) stop(ctx context.Context) error {
	if m.stopped {
		return nil
	}
	m.stopped = true
	err := m.engine.Stop(ctx)
	m.close()
	return err
}

func (m *terminal) close() {
	if err := m.devs.Close(); err != nil {
		m.t.Logf("closing devices: %v", err)
	}
	if err := m.db.Close(); err != nil {
		m.t.Errorf("closing the store: %v", err)
	}
}

// card sets the simulated card; a zero presentAfter presents it at once.
func (m *terminal) card(c daemon.SimCard) {
	m.t.Helper()
	if err := m.sim.SetCard(c); err != nil {
		m.t.Fatal(err)
	}
}

// host sets the simulated host.
func (m *terminal) host(h daemon.SimHost) {
	m.t.Helper()
	if err := m.sim.SetHost(h); err != nil {
		m.t.Fatal(err)
	}
}

// hostOffline takes the simulated host off the network and waits until
// the host link has seen its connection go (an echo fails), so the next
// request is refused before it leaves rather than lost in flight.
func (m *terminal) hostOffline() {
	m.t.Helper()
	m.host(daemon.SimHost{Offline: ptr(true)})
	link, ok := m.devs.Host.(*host.Client)
	if !ok {
		m.t.Fatalf("the host link is a %T", m.devs.Host)
	}
	if err := link.Echo(m.t.Context()); err == nil {
		m.t.Fatal("an offline host answered an echo")
	}
}

// sale runs a sale in the engine's currency.
func (m *terminal) sale(ref string, amount int64) (*daemon.Result, error) {
	return m.engine.Sale(m.t.Context(), daemon.SaleRequest{Amount: amount, Currency: "USD", Reference: ref})
}

// approved runs a sale and fails the test unless it was approved.
func (m *terminal) approved(ref string, amount int64) *daemon.Transaction {
	m.t.Helper()
	res, err := m.sale(ref, amount)
	return wantApproved(m.t, res, err)
}

// saleAsync runs a sale in the background and delivers its outcome.
func (m *terminal) saleAsync(ref string, amount int64) <-chan outcome {
	ch := make(chan outcome, 1)
	go func() {
		res, err := m.sale(ref, amount)
		ch <- outcome{res, err}
	}()
	return ch
}

// outcome is what a transaction call returned.
type outcome struct {
	res *daemon.Result
	err error
}

// status reads the engine's status.
func (m *terminal) status() daemon.StatusInfo {
	m.t.Helper()
	st, err := m.engine.Status(m.t.Context())
	if err != nil {
		m.t.Fatal(err)
	}
	return st
}

// waitStage waits until the active transaction reaches the stage.
func (m *terminal) waitStage(stage daemon.Stage) daemon.StatusInfo {
	m.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if st := m.status(); st.Busy && st.ActiveStage == stage {
			return st
		}
		time.Sleep(5 * time.Millisecond)
	}
	m.t.Fatalf("the terminal never reached stage %q", stage)
	return daemon.StatusInfo{}
}

// waitIdle waits until nothing holds the terminal.
func (m *terminal) waitIdle() daemon.StatusInfo {
	m.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if st := m.status(); !st.Busy {
			return st
		}
		time.Sleep(20 * time.Millisecond)
	}
	m.t.Fatal("the terminal stayed busy")
	return daemon.StatusInfo{}
}

// wantApproved fails the test unless the call returned an approved
// transaction that was run now (not replayed).
func wantApproved(t *testing.T, res *daemon.Result, err error) *daemon.Transaction {
	t.Helper()
	if err != nil {
		t.Fatalf("want approved, got %v", err)
	}
	if res.Tx.Status != daemon.StatusApproved {
		t.Fatalf("want approved, got %s %s: %s", res.Tx.Status, res.Tx.ErrorCode+res.Tx.DeclineCode, res.Tx.ErrorMessage)
	}
	if res.Replayed {
		t.Fatalf("%s was replayed, want a new approval", res.Tx.Reference)
	}
	return res.Tx
}

// wantCode fails the test unless the call was refused with the API error
// code (a message for people included).
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var e *daemon.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("error %v, want %s", err, code)
	}
	if e.Message == "" {
		t.Fatalf("%s without a message", code)
	}
}

// wantFinished fails the test unless the transaction ended with the
// status and (for failures and cancels) error code.
func wantFinished(t *testing.T, res *daemon.Result, err error, status daemon.Status, code string) *daemon.Transaction {
	t.Helper()
	if err != nil {
		t.Fatalf("want a %s transaction, got %v", status, err)
	}
	tx := res.Tx
	if tx.Status != status || tx.ErrorCode != code {
		t.Fatalf("%s: %s %s (%s), want %s %s", tx.Reference, tx.Status, tx.ErrorCode, tx.ErrorMessage, status, code)
	}
	if code != "" && tx.ErrorMessage == "" {
		t.Fatalf("%s: %s without a message", tx.Reference, code)
	}
	return tx
}

func ptr[T any](v T) *T { return &v }

// settleFarFromNow switches the daily settlement on, twelve hours from
// now on the wall clock: the engine's own ticker never reaches it while a
// test runs, and a day of simulator clock crosses it exactly once.
func settleFarFromNow(c *config.Config) {
	c.Settlement.Auto = true
	c.Settlement.Time = time.Now().In(c.Location()).Add(12 * time.Hour).Format("15:04")
}
