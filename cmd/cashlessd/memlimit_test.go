package main

import (
	"testing"

	"github.com/vinr/cashlessd/daemon/config"
)

func TestMemoryLimitFromConfigUnlessEnvironment(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	if got := memoryLimit(&cfg, ""); got != 40<<20 {
		t.Errorf("default: %d, want 40 MiB", got)
	}
	if got := memoryLimit(&cfg, "64MiB"); got != 0 {
		t.Errorf("with GOMEMLIMIT set: %d, want none from the configuration", got)
	}
	cfg.MemoryLimitMiB = 0
	if got := memoryLimit(&cfg, ""); got != 0 {
		t.Errorf("memory_limit_mib = 0: %d", got)
	}
}
