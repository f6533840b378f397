package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidateNamesEveryProblem(t *testing.T) {
	t.Parallel()
	c := Default()
	c.Model = "foo"
	c.Currency = "XXY"
	c.Receipt.Width = 40
	c.Settlement.Time = "25:99"
	err := c.Validate()
	for _, want := range []string{"terminal_id", "model", "currency", "receipt.width", "settlement.time"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %s", err, want)
		}
	}
}

func TestSimulatorDefaultsTheTerminalID(t *testing.T) {
	t.Parallel()
	c := Default()
	c.Simulator = true
	if err := c.Validate(); err != nil || c.TerminalID == "" {
		t.Fatal(err)
	}
	if !c.HasPrinter() {
		t.Fatal("ct20 has a printer")
	}
	if at, _ := c.SettleAt(); at.Hours() != 23 {
		t.Fatal(at)
	}
}

func TestLoadRefusesUnknownKeys(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "c.toml")
	_ = os.WriteFile(p, []byte("[merchant]\nnmae = \"x\"\n"), 0o600)
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "merchant.nmae") {
		t.Fatal(err)
	}
	_ = os.WriteFile(p, []byte("card_timeout = \"soon\"\n"), 0o600)
	if _, err := Load(p); err == nil {
		t.Fatal("bad duration accepted")
	}
}
