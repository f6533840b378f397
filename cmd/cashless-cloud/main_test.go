package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/vinr/cashlessd/cloud/server"
)

// serve in-process, then the admin commands against it over its NATS port.
func TestServeAndAdminCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	ready := make(chan *server.Process, 1)
	done := make(chan error, 1)
	var serveOut bytes.Buffer
	go func() {
		m := &Main{Stdout: &serveOut, Stderr: &bytes.Buffer{}, Ready: func(p *server.Process) { ready <- p }}
		done <- m.Run(ctx, []string{"serve", "--data-dir", dir, "--listen", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0", "--simulator"})
	}()
	var p *server.Process
	select {
	case p = <-ready:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	run := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		m := &Main{Stdout: &out, Stderr: &errOut}
		args = append(args, "--data-dir", dir, "--nats", "tls://"+p.NATSAddr.String(), "--nats-ca", p.CAFile)
		if err := m.Run(t.Context(), args); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errOut.String())
		}
		return out.String()
	}
	if out := run("account", "add", "--id", "chanA", "--kind", "channel", "--name", "Integrator A"); !strings.Contains(out, "api key: ck_live_") {
		t.Fatalf("account add: %s", out)
	}
	run("account", "add", "--id", "shopA", "--kind", "merchant", "--parent", "chanA")
	out := run("pos", "add", "--pos-id", "posA", "--merchant", "shopA")
	if !strings.Contains(out, "password:") || !strings.Contains(out, "secret key:") {
		t.Fatalf("pos add: %s", out)
	}
	if out := run("account", "list"); !strings.Contains(out, "chanA") || !strings.Contains(out, "shopA") || !strings.Contains(out, server.SimulatorMerchantID) {
		t.Fatalf("account list: %s", out)
	}
	if out := run("pos", "rotate-secret", "--pos-id", "posA"); !strings.Contains(out, "new secret key") {
		t.Fatalf("rotate: %s", out)
	}
	run("pos", "disable", "--pos-id", "posA")
	run("account", "disable", "--id", "chanA")
	run("unbind", "--terminal", "term_NONE")
	if _, err := p.Accounts.Login(t.Context(), "posA", "anything"); err == nil {
		t.Fatal("a disabled POS logged in")
	}
	var v bytes.Buffer
	if err := (&Main{Stdout: &v, Stderr: &v}).Run(t.Context(), []string{"version"}); err != nil || !strings.HasPrefix(v.String(), "cashless-cloud ") {
		t.Fatalf("version: %v %s", err, v.String())
	}
}

// The example configuration loads with no unknown keys.
func TestExampleConfigLoads(t *testing.T) {
	t.Parallel()
	c, err := loadConfig("../../configs/cashless-cloud.toml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "0.0.0.0:9443" || c.NATS.Listen != "0.0.0.0:4222" || c.Simulator {
		t.Fatalf("%+v", c)
	}
}
