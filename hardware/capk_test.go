package hardware_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vinr/cashlessd/daemon/config"
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
