package hardware_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vinr/cashlessd/daemon/config"
	"github.com/vinr/cashlessd/emv"
	"github.com/vinr/cashlessd/emv/card"
	"github.com/vinr/cashlessd/emv/oda"
	"github.com/vinr/cashlessd/hardware"
)

func TestCAPKs(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	if keys, err := hardware.CAPKs(cfg); err != nil || len(keys) != 0 {
		t.Fatalf("no file outside simulator mode: %d keys, %v", len(keys), err)
	}
	cfg.Simulator = true
	if keys, err := hardware.CAPKs(cfg); err != nil || len(keys) != len(oda.TestCAPKs()) {
		t.Fatalf("simulator: %d keys, %v", len(keys), err)
	}

	dir := t.TempDir()
	write := func(name string, keys []oda.CAPK) string {
		b, err := oda.MarshalCAPKFile(keys)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	test := write("test.json", oda.TestCAPKs())
	prodKeys := oda.TestCAPKs()[:1]
	prodKeys[0].Test = false
	prod := write("prod.json", prodKeys)

	cfg = config.Default()
	cfg.EMV.CAPKFile = test
	if _, err := hardware.CAPKs(cfg); err == nil || !strings.Contains(err.Error(), "test key") {
		t.Errorf("test keys outside simulator mode: %v", err)
	}
	cfg.EMV.CAPKFile = prod
	if keys, err := hardware.CAPKs(cfg); err != nil || len(keys) != 1 {
		t.Errorf("production file: %d keys, %v", len(keys), err)
	}
	if _, err := hardware.Kernel(cfg); err != nil {
		t.Errorf("kernel with the production file: %v", err)
	}
	cfg.EMV.CAPKFile = filepath.Join(dir, "missing.json")
	if _, err := hardware.Kernel(cfg); err == nil {
		t.Error("a missing CAPK file makes a kernel")
	}
	cfg.Simulator, cfg.EMV.CAPKFile = true, test
	if _, err := hardware.Kernel(cfg); err != nil {
		t.Errorf("simulator with the test file: %v", err)
	}
}

// TestKernelSchemeLimits: reader.scheme_limits gives a scheme its own
// contactless CVM limit and reader.contactless_transaction_limit sends
// taps to the chip.
func TestKernelSchemeLimits(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	cfg.Reader.SchemeLimits = map[string]config.ContactlessLimits{"mastercard": {CVMLimit: 10000}}
	k, err := hardware.Kernel(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tx := emv.Transaction{Type: emv.TypePurchase, Amount: 7500, Currency: "USD", Time: time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)}
	img, err := card.Builtin("mastercard")
	if err != nil {
		t.Fatal(err)
	}
	c, err := card.New(img, emv.Contactless)
	if err != nil {
		t.Fatal(err)
	}
	out, err := k.Contactless(c, nil, tx).Read(context.Background())
	if err != nil || out.CVM != emv.CVMNoCVM {
		t.Fatalf("75.00 under Mastercard's own 100.00 limit: %v %s", err, out.CVM)
	}
	cfg.Reader.ContactlessTransactionLimit = 5000
	if k, err = hardware.Kernel(cfg); err != nil {
		t.Fatal(err)
	}
	c, _ = card.New(img, emv.Contactless)
	if _, err := k.Contactless(c, nil, tx).Read(context.Background()); !errors.Is(err, emv.ErrInsertCard) {
		t.Fatalf("over the transaction limit: %v", err)
	}
	cfg.Reader.SchemeLimits = map[string]config.ContactlessLimits{"mastercrd": {CVMLimit: -1}}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "scheme_limits.mastercrd") {
		t.Errorf("bad scheme limits: %v", err)
	}
}
