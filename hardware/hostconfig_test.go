package hardware_test

import (
	"testing"

	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/daemon/config"
	"github.com/vinr/cashlessd/hardware"
)

// A production [host] without a tls key is TLS 1.2+ verified against the
// address's host name; tls = false is the only way to plain TCP.
func TestHostConfigTLSByDefault(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	cfg.Host.Address = "acq.example.com:5000"
	h, err := hardware.HostConfig(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if h.TLS == nil || h.TLS.ServerName != "acq.example.com" || h.TLS.InsecureSkipVerify {
		t.Fatalf("default host link: %+v", h.TLS)
	}
	off := false
	cfg.Host.TLS = &off
	if h, err = hardware.HostConfig(cfg, zerolog.Nop()); err != nil || h.TLS != nil {
		t.Fatalf("tls = false: %+v %v", h.TLS, err)
	}
}
