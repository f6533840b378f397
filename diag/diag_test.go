package diag

import (
	"crypto/x509"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vinr/cashlessd/certs"
	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/store"
)

func TestDiagClock(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		now    time.Time
		status string
	}{
		{time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), Fail},
		{time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), OK},
	} {
		d := &diagnosis{now: func() time.Time { return tc.now }}
		d.cfg.Timezone = "UTC"
		d.checkClock()
		if got := d.report.Checks[0]; got.Status != tc.status {
			t.Errorf("%s: %+v", tc.now, got)
		}
	}
	// A clock a day behind the certificate it was issued with is late.
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	d := &diagnosis{now: func() time.Time { return now }, leaf: &x509.Certificate{NotBefore: now.Add(24 * time.Hour)}}
	d.checkClock()
	if got := d.report.Checks[0]; got.Status != Fail || !strings.Contains(got.Detail, "behind the certificate") {
		t.Errorf("late clock: %+v", got)
	}
}

// A transaction approved offline waits in the advice queue until the host
// acknowledges it: the database check counts it with the other queues.
func TestDatabaseCheckCountsQueuedAdvices(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, err := store.Open(dir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	tx := &daemon.Transaction{ID: "tpay_1", Kind: daemon.KindSale, Reference: "OFFLINE-1", Status: daemon.StatusPending,
		Amount: 700, Currency: "USD", StartedAt: time.Now().UTC()}
	if err := db.CreateTransaction(tx); err != nil {
		t.Fatal(err)
	}
	tx.Status, tx.CompletedAt, tx.Offline, tx.AdvicePending = daemon.StatusApproved, time.Now().UTC(), true, true
	if err := db.FinishTransaction(tx, "batch_1"); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	d := &diagnosis{now: time.Now}
	d.cfg.DataDir = dir
	d.checkDatabase()
	got := d.report.Checks[0]
	if got.Status != Warn || !strings.Contains(got.Detail, "1 transactions") || !strings.Contains(got.Detail, "1 pending/reversals/advices queued") {
		t.Errorf("database: %+v", got)
	}
}

// Production mode on the development CA is a warning that says so, with
// whether the CA's key is still on the terminal; simulator mode is not.
func TestCertificatesCheckWarnsOfProductionOnTheDevelopmentCA(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	check := func(simulator bool) Check {
		d := &diagnosis{now: time.Now}
		d.cfg.DataDir, d.cfg.Simulator = dataDir, simulator
		d.checkCertificates()
		return d.report.Checks[0]
	}
	if got := check(false); got.Status != Warn || !strings.Contains(got.Detail, "development CA") {
		t.Errorf("production, none yet: %+v", got)
	}
	dir := filepath.Join(dataDir, "certs")
	if _, err := (certs.DevIdentity{Dir: dir, Now: time.Now()}).Ensure(); err != nil {
		t.Fatal(err)
	}
	if got := check(true); got.Status != OK {
		t.Errorf("simulator: %+v", got)
	}
	if got := check(false); got.Status != Warn || !strings.Contains(got.Detail, "PRODUCTION ON THE DEVELOPMENT CA (its key still on the terminal)") {
		t.Errorf("production: %+v", got)
	}
	if _, err := (certs.DevIdentity{Dir: dir, Now: time.Now()}).Issue(true); err != nil {
		t.Fatal(err)
	}
	if got := check(false); got.Status != Warn || !strings.Contains(got.Detail, "(its key removed)") {
		t.Errorf("production, key removed: %+v", got)
	}
}
