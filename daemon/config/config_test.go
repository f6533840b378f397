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

func TestAPILimitsAndTrustedProxies(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.toml")
	_ = os.WriteFile(p, []byte("simulator = true\n[api]\ntrusted_proxies = [\"10.0.0.1\", \"192.168.7.0/24\", \"fd00::/8\"]\nconnections_per_address = 8\n"), 0o600)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	proxies, _ := c.API.Proxies()
	if len(proxies) != 3 || proxies[0].String() != "10.0.0.1/32" || proxies[1].String() != "192.168.7.0/24" {
		t.Fatalf("proxies %v", proxies)
	}
	if c.API.ConnectionsPerAddress != 8 || c.API.MaxConnections != 256 || c.API.ReservedConnections != 64 {
		t.Fatalf("limits %+v", c.API)
	}
	c.API.TrustedProxies = []string{"proxy.lan"}
	c.API.ReservedConnections = 0
	c.API.UnauthenticatedTimeout.Duration = 0
	err = c.Validate()
	for _, want := range []string{"api.trusted_proxies", "api.reserved_connections", "api.unauthenticated_timeout"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %s", err, want)
		}
	}
}

func TestHostDialect(t *testing.T) {
	t.Parallel()
	c := Default()
	c.Simulator = true
	if c.Host.Dialect != "default" {
		t.Errorf("default dialect %q", c.Host.Dialect)
	}
	c.Host.Dialect, c.Host.TPDU = "bcd-tpdu", "6000300000"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c.Host.Dialect, c.Host.TPDU = "ebcdic", "7000300000"
	err := c.Validate()
	for _, want := range []string{"host.dialect", "host.tpdu"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %s", err, want)
		}
	}
}

// The acquirer link is TLS unless a file says tls = false: the shipped
// example shows the defaults, and a file that leaves the key out gets TLS
// with the address's host as the certificate name.
func TestHostTLSByDefault(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	example, err := Load(filepath.Join("..", "..", "configs", "cashlessd.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if !example.HostTLS() || example.HostPlainText() || example.HostServerName() != "acquirer.example.net" {
		t.Errorf("configs/cashlessd.toml: TLS %v, plain %v, server name %q", example.HostTLS(), example.HostPlainText(), example.HostServerName())
	}
	for _, tc := range []struct {
		name, body string
		tls, plain bool
		serverName string
	}{
		{"key left out", "[host]\naddress = \"acq.example.com:5000\"\n", true, false, "acq.example.com"},
		{"server name", "[host]\naddress = \"10.0.0.7:5000\"\nserver_name = \"acq.example.com\"\n", true, false, "acq.example.com"},
		{"tls = false", "[host]\naddress = \"acq.example.com:5000\"\ntls = false\n", false, true, "acq.example.com"},
		{"simulator", "simulator = true\n", false, false, ""},
		{"simulator, tls = true", "simulator = true\n[host]\naddress = \"127.0.0.1:5000\"\ntls = true\nserver_name = \"hostsim\"\n", true, false, "hostsim"},
	} {
		c, err := Load(write(strings.ReplaceAll(tc.name, " ", "_")+".toml", tc.body))
		if err != nil {
			t.Fatal(err)
		}
		if c.HostTLS() != tc.tls || c.HostPlainText() != tc.plain || c.HostServerName() != tc.serverName {
			t.Errorf("%s: TLS %v plain %v server name %q; want %v %v %q", tc.name,
				c.HostTLS(), c.HostPlainText(), c.HostServerName(), tc.tls, tc.plain, tc.serverName)
		}
	}
}

func TestCloudSectionIsCheckedAndMapped(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "c.toml")
	body := "simulator = true\ndata_dir = \"/data\"\n[cloud]\nurl = \"tls://relay.example.net:4222,tls://relay2.example.net:4222\"\n" +
		"ca_file = \"/etc/relay-ca.pem\"\ncredentials_file = \"keys/cloud.nk\"\n"
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil || !c.CloudEnabled() {
		t.Fatalf("valid cloud section: %v", err)
	}
	l := c.CloudLink("1.0")
	if l.URL != c.Cloud.URL || l.CAFile != "/etc/relay-ca.pem" || l.CredentialsFile != "/data/keys/cloud.nk" ||
		l.DataDir != "/data" || l.TerminalID != c.TerminalID || !l.Simulator || l.SoftwareVersion != "1.0" {
		t.Fatalf("mapping %+v", l)
	}
	for url, want := range map[string]string{
		"http://relay:4222":          "scheme",
		"tls://relay":                "tls://host:port",
		"tls://user:pw@relay:4222":   "no credentials",
		"tls://a:4222,ftp://b:4222":  "scheme",
		"tls://a:4222, tls://b:4222": "",
	} {
		c := Default()
		c.Simulator = true
		c.Cloud.URL = url
		err := c.Validate()
		if (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("cloud.url %q: %v, want %q", url, err, want)
		}
	}
	c = Default()
	c.Simulator = true
	c.Cloud.CAFile = "/x"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "need cloud.url") {
		t.Fatalf("ca_file without url: %v", err)
	}
}

func TestMemoryLimit(t *testing.T) {
	t.Parallel()
	c := Default()
	c.Simulator = true
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.MemoryLimit() != 40<<20 {
		t.Fatalf("default memory limit %d, want 40 MiB", c.MemoryLimit())
	}
	c.MemoryLimitMiB = 0
	if err := c.Validate(); err != nil || c.MemoryLimit() != 0 {
		t.Fatalf("memory_limit_mib = 0: %v, limit %d", err, c.MemoryLimit())
	}
	for _, bad := range []int{-1, MaxMemoryLimitMiB + 1} {
		c.MemoryLimitMiB = bad
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "memory_limit_mib") {
			t.Errorf("memory_limit_mib = %d: %v", bad, err)
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "c.toml")
	if err := os.WriteFile(path, []byte("simulator = true\nmemory_limit_mib = 24\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(path)
	if err != nil || loaded.MemoryLimit() != 24<<20 {
		t.Fatalf("loaded %d, %v", loaded.MemoryLimit(), err)
	}
}
