// Package config reads cashlessd's TOML configuration file, applies
// defaults, and checks every value before the daemon starts.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/vinr/cashlessd/daemon/host"
	"github.com/vinr/cashlessd/money"
)

// Duration is a time.Duration written as "60s", "168h" in TOML.
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Config is the whole configuration. Every key is documented in
// configs/cashlessd.toml.
type Config struct {
	TerminalID      string   `toml:"terminal_id"`
	Model           string   `toml:"model"`
	Listen          string   `toml:"listen"`
	DataDir         string   `toml:"data_dir"`
	Simulator       bool     `toml:"simulator"`
	Currency        string   `toml:"currency"`
	Timezone        string   `toml:"timezone"`
	CardTimeout     Duration `toml:"card_timeout"`
	PreauthValidity Duration `toml:"preauth_validity"`
	// MemoryLimitMiB is the Go runtime's soft memory limit in MiB (see
	// runtime/debug.SetMemoryLimit): the garbage collector works harder
	// as the heap nears it instead of letting a burst grow the process.
	// 0 sets none. A GOMEMLIMIT environment variable takes precedence.
	MemoryLimitMiB int `toml:"memory_limit_mib"`

	TLS        TLS        `toml:"tls"`
	API        API        `toml:"api"`
	Merchant   Merchant   `toml:"merchant"`
	Receipt    Receipt    `toml:"receipt"`
	Settlement Settlement `toml:"settlement"`
	Reader     Reader     `toml:"reader"`
	Printer    Printer    `toml:"printer"`
	Host       Host       `toml:"host"`
	Offline    Offline    `toml:"offline"`
	EMV        EMV        `toml:"emv"`
	Sim        Sim        `toml:"simulator_devices"`
	Metrics    Metrics    `toml:"metrics"`
	Log        Log        `toml:"log"`
	Discovery  Discovery  `toml:"discovery"`
	Cloud      Cloud      `toml:"cloud"`
}

// Cloud is the outbound link to the cloud relay (cashless-cloud) over
// NATS, through which ECRs reach the terminal by its ID; an empty URL
// switches it off.
type Cloud struct {
	// URL is the relay's NATS address, tls://host:port (several
	// comma-separated for a cluster). The link is always TLS.
	URL string `toml:"url"`
	// CAFile verifies the relay's certificate; empty: the system's roots.
	CAFile string `toml:"ca_file"`
	// CredentialsFile holds the terminal's NKey seed, made on first start
	// (mode 0600); empty: <data_dir>/cloud.nk. A relative path is taken
	// inside data_dir.
	CredentialsFile string `toml:"credentials_file"`
}

// CloudEnabled says whether the daemon links to a cloud relay.
func (c *Config) CloudEnabled() bool { return c.Cloud.URL != "" }

// Host is the acquirer link (ISO 8583 over TCP): TLS with certificate
// verification unless the file says tls = false (see Config.HostTLS).
type Host struct {
	Address string `toml:"address"`
	// TLS: nil means the default (Config.HostTLS).
	TLS          *bool    `toml:"tls"`
	CAFile       string   `toml:"ca_file"`
	ServerName   string   `toml:"server_name"`
	TerminalID   string   `toml:"terminal_id"`
	MerchantID   string   `toml:"merchant_id"`
	Timeout      Duration `toml:"timeout"`
	EchoInterval Duration `toml:"echo_interval"`
	// Dialect is the acquirer's message layout: "default" (ASCII
	// numerics) or "bcd-tpdu" (BCD numerics behind a 5-byte TPDU).
	Dialect string `toml:"dialect"`
	// TPDU is the 5-byte TPDU (10 hex digits, starting 60) the bcd-tpdu
	// dialect sends; empty: 6000010000.
	TPDU string `toml:"tpdu"`
}

// API bounds what clients of the Cashless API can hold and says whose
// forwarding headers are believed.
type API struct {
	// TrustedProxies are the proxies (addresses or CIDR prefixes) whose
	// X-Forwarded-For is believed; empty: a client is its TCP peer.
	TrustedProxies []string `toml:"trusted_proxies"`
	// MaxConnections is how many connections may be open at once (each
	// costs a file descriptor; serial ports need descriptors below 1024).
	MaxConnections int `toml:"max_connections"`
	// ReservedConnections of MaxConnections are kept for connections that
	// presented the key.
	ReservedConnections int `toml:"reserved_connections"`
	// ConnectionsPerAddress is how many connections that have not
	// presented the key one client address may hold; more wait.
	ConnectionsPerAddress int `toml:"connections_per_address"`
	// UnauthenticatedTimeout closes a connection that has not presented
	// the key after this long without a request in progress.
	UnauthenticatedTimeout Duration `toml:"unauthenticated_timeout"`
}

// Proxies parses TrustedProxies (a bare address is a /32 or /128).
func (a API) Proxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range a.TrustedProxies {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			ip, ipErr := netip.ParseAddr(s)
			if ipErr != nil {
				return nil, fmt.Errorf("api.trusted_proxies %q: an IP address or CIDR prefix", s)
			}
			p = netip.PrefixFrom(ip, ip.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Sim tunes simulator mode's devices.
type Sim struct {
	// HostLedger keeps the host simulator's ledger in
	// <data_dir>/hostsim/ledger.json (one line appended and synced per
	// booking); off, the simulated host remembers in memory.
	HostLedger bool `toml:"host_ledger"`
}

// Offline is the offline-approval policy: off unless the acquirer allows
// it. A chip card may then approve a sale up to FloorLimit (minor units)
// while the host is unreachable; the sale is forwarded as an advice.
type Offline struct {
	Approvals  bool  `toml:"approvals"`
	FloorLimit int64 `toml:"floor_limit"`
	// TACDefault, when set (10 hex digits), replaces every scheme's
	// Terminal Action Code - Default, as the acquirer prescribes for
	// offline approvals.
	TACDefault string `toml:"tac_default"`
	// Random transaction selection (EMV Book 3, 10.6.2) while approvals
	// is on: under Threshold (minor units) a sale is selected for online
	// processing with probability TargetPercent, rising linearly to
	// MaxTargetPercent at floor_limit. 0 and 0: none.
	TargetPercent    int   `toml:"target_percent"`
	MaxTargetPercent int   `toml:"max_target_percent"`
	Threshold        int64 `toml:"threshold"`
}

// EMV tunes the chip kernel beyond the reader and offline sections.
type EMV struct {
	// CAPKFile is the certification authority public key file (JSON,
	// docs/emv.md "CA public keys") the technician installs for offline
	// data authentication. Empty: no ODA (TVR "ODA not performed"),
	// except in simulator mode, whose virtual cards are certified by the
	// simulator's own test CA. Outside simulator mode a file holding test
	// keys is refused.
	CAPKFile string `toml:"capk_file"`
	// ScriptLimit is the total length in bytes of issuer scripts the
	// terminal runs from one host answer (at least 128, EMV Book 3 10.10).
	ScriptLimit int `toml:"script_limit"`
}

// Metrics is the Prometheus endpoint; empty Listen switches it off.
type Metrics struct {
	Listen string `toml:"listen"`
}

// Reader is the card reader / PIN pad on a serial line.
type Reader struct {
	Device          string   `toml:"device"`
	Baud            int      `toml:"baud"`
	ResponseTimeout Duration `toml:"response_timeout"`
	// ContactlessCVMLimit is the amount (minor units) from which a tap
	// needs cardholder verification.
	ContactlessCVMLimit int64 `toml:"contactless_cvm_limit"`
	// ContactlessTransactionLimit is the amount (minor units) from which
	// a tap is sent to the chip; 0: no limit.
	ContactlessTransactionLimit int64 `toml:"contactless_transaction_limit"`
	// SchemeLimits are card schemes' own contactless limits (a scheme's
	// reader CVM required limit and contactless transaction limit), by
	// scheme: visa, mastercard, maestro, amex, discover, jcb, unionpay,
	// interac. A zero limit keeps the terminal-wide one.
	SchemeLimits map[string]ContactlessLimits `toml:"scheme_limits"`
}

// ContactlessLimits are one scheme's contactless limits (minor units).
type ContactlessLimits struct {
	CVMLimit         int64 `toml:"cvm_limit"`
	TransactionLimit int64 `toml:"transaction_limit"`
}

// LimitSchemes are the schemes reader.scheme_limits may name.
var LimitSchemes = []string{"visa", "mastercard", "maestro", "amex", "discover", "jcb", "unionpay", "interac"}

// Printer is the serial thermal printer of models that have one.
type Printer struct {
	Device      string   `toml:"device"`
	Baud        int      `toml:"baud"`
	FlowControl string   `toml:"flow_control"`
	CodePage    string   `toml:"code_page"`
	JobTimeout  Duration `toml:"job_timeout"`
}

// TLS names the terminal's certificate files; empty means a development CA
// and certificate are made under <data_dir>/certs.
type TLS struct {
	CertFile string   `toml:"cert_file"`
	KeyFile  string   `toml:"key_file"`
	CAFile   string   `toml:"ca_file"`
	Hosts    []string `toml:"hosts"`
}

// Merchant is printed on receipts.
type Merchant struct {
	Name    string `toml:"name"`
	Address string `toml:"address"`
	ID      string `toml:"id"`
}

// Receipt is the receipt layout.
type Receipt struct {
	Width int  `toml:"width"`
	QR    bool `toml:"qr"`
}

// Settlement is the automatic daily batch close.
type Settlement struct {
	Auto        bool   `toml:"auto"`
	Time        string `toml:"time"`
	PrintReport bool   `toml:"print_report"`
}

// Log configures logging: JSON lines on stderr and/or in a size-capped,
// rotated file (terminals keep logs on flash, which wears).
type Log struct {
	Level string `toml:"level"`
	// File is the log file; empty logs to stderr only. A relative path is
	// taken inside data_dir.
	File string `toml:"file"`
	// MaxSizeMB is the size at which the file is rotated (1-100).
	MaxSizeMB int `toml:"max_size_mb"`
	// MaxBackups is how many rotated files are kept (0-20): at most
	// (1+MaxBackups) × MaxSizeMB of logs on disk.
	MaxBackups int `toml:"max_backups"`
	// MaxAgeDays removes rotated files older than this; 0 keeps them.
	MaxAgeDays int `toml:"max_age_days"`
	// Compress gzips rotated files.
	Compress bool `toml:"compress"`
	// Stderr also logs to stderr; nil: only when File is empty.
	Stderr *bool `toml:"stderr"`
}

// LogLevels are the accepted values of log.level.
var LogLevels = []string{"trace", "debug", "info", "warn", "error"}

// Discovery announces the terminal on the LAN by DNS-SD over multicast
// DNS (_cashless._tcp) so ECRs find it by terminal ID.
type Discovery struct {
	// Enabled: nil means the default, on except in simulator mode (tests
	// and benches run the simulator and must not multicast on the LAN).
	Enabled *bool `toml:"enabled"`
	// Interfaces limits announcements to these network interfaces; empty
	// means every multicast-capable interface that is up.
	Interfaces []string `toml:"interfaces"`
}

// DiscoveryEnabled says whether the daemon announces itself: the
// configured value, or on outside simulator mode.
func (c *Config) DiscoveryEnabled() bool {
	if c.Discovery.Enabled != nil {
		return *c.Discovery.Enabled
	}
	return !c.Simulator
}

// HostTLS says whether the acquirer link uses TLS: as configured, else on
// outside simulator mode (simulator mode's host simulator listens on
// loopback, plain TCP).
func (c *Config) HostTLS() bool {
	if c.Host.TLS != nil {
		return *c.Host.TLS
	}
	return !c.Simulator
}

// HostPlainText reports a production acquirer link without TLS: only an
// explicit host.tls = false gives one. Start-up logs it as a warning and
// diag flags it.
func (c *Config) HostPlainText() bool { return !c.Simulator && !c.HostTLS() }

// HostServerName is the name the acquirer's certificate must carry:
// host.server_name, else the host part of host.address.
func (c *Config) HostServerName() string {
	if c.Host.ServerName != "" {
		return c.Host.ServerName
	}
	h, _, err := net.SplitHostPort(c.Host.Address)
	if err != nil {
		return c.Host.Address
	}
	return h
}

// LogToStderr says whether logs go to stderr: as configured, or when no
// log file is set.
func (c *Config) LogToStderr() bool {
	if c.Log.Stderr != nil {
		return *c.Log.Stderr
	}
	return c.Log.File == ""
}

// Models maps each supported terminal model to whether it has a printer.
func Models() map[string]bool {
	return map[string]bool{
		"nexgo_n92":    true,
		"nexgo_ct20":   true,
		"nexgo_ct20p":  true,
		"nexgo_n86pro": false,
		"ciontek_cm30": false,
	}
}

// DefaultMemoryLimitMiB is the default soft memory limit: well above what
// the daemon uses under load, well below what a small terminal has.
const DefaultMemoryLimitMiB = 40

// MaxMemoryLimitMiB bounds memory_limit_mib (a typo guard: 64 GiB).
const MaxMemoryLimitMiB = 64 << 10

// MemoryLimit is the soft memory limit in bytes; 0 when none is set.
func (c *Config) MemoryLimit() int64 { return int64(c.MemoryLimitMiB) << 20 }

// Default returns the configuration used when the file leaves a key out.
func Default() Config {
	return Config{
		TerminalID:      "",
		Model:           "nexgo_ct20",
		Listen:          ":8443",
		DataDir:         "/var/lib/cashlessd",
		Currency:        "USD",
		Timezone:        "UTC",
		CardTimeout:     Duration{60 * time.Second},
		PreauthValidity: Duration{7 * 24 * time.Hour},
		MemoryLimitMiB:  DefaultMemoryLimitMiB,
		Merchant:        Merchant{Name: "CASHLESSD MERCHANT"},
		API: API{MaxConnections: 256, ReservedConnections: 64, ConnectionsPerAddress: 16,
			UnauthenticatedTimeout: Duration{10 * time.Second}},
		Receipt:    Receipt{Width: 32},
		Settlement: Settlement{Auto: true, Time: "23:00"},
		Sim:        Sim{HostLedger: true},
		Reader:     Reader{Baud: 115200, ResponseTimeout: Duration{2 * time.Second}, ContactlessCVMLimit: 5000},
		Host:       Host{Timeout: Duration{30 * time.Second}, EchoInterval: Duration{60 * time.Second}, Dialect: host.DialectDefault},
		Printer:    Printer{Baud: 115200, FlowControl: "none", CodePage: "cp858", JobTimeout: Duration{20 * time.Second}},
		Log:        Log{Level: "info", MaxSizeMB: 5, MaxBackups: 3},
		EMV:        EMV{ScriptLimit: 128},
	}
}

// Load reads a TOML file over the defaults. Unknown keys are errors, so a
// typo is not silently ignored.
func Load(path string) (Config, error) {
	c := Default()
	if path == "" {
		return c, nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	md, err := toml.Decode(string(raw), &c)
	if err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return c, fmt.Errorf("%s: unknown keys: %s", path, strings.Join(keys, ", "))
	}
	return c, nil
}

var terminalIDPattern = regexp.MustCompile(`^[A-Za-z0-9_\-]{1,32}$`)

// Validate checks every value and fills what is derived.
func (c *Config) Validate() error {
	var errs []error
	if c.TerminalID == "" {
		if c.Simulator {
			c.TerminalID = "term_SIM_0001"
		} else {
			errs = append(errs, errors.New("terminal_id is required"))
		}
	}
	if c.TerminalID != "" && !terminalIDPattern.MatchString(c.TerminalID) {
		errs = append(errs, fmt.Errorf("terminal_id %q: use 1-32 letters, digits, _ or -", c.TerminalID))
	}
	if _, ok := Models()[c.Model]; !ok {
		errs = append(errs, fmt.Errorf("model %q is not supported (nexgo_n92, nexgo_ct20, nexgo_ct20p, nexgo_n86pro, ciontek_cm30)", c.Model))
	}
	if c.Listen == "" {
		errs = append(errs, errors.New("listen is required"))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("data_dir is required"))
	}
	if !money.Valid(c.Currency) {
		errs = append(errs, fmt.Errorf("currency %q is not an ISO 4217 code", c.Currency))
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil {
		errs = append(errs, fmt.Errorf("timezone %q: %v", c.Timezone, err))
	}
	if c.CardTimeout.Duration < time.Second || c.CardTimeout.Duration > 110*time.Second {
		errs = append(errs, fmt.Errorf("card_timeout %s: must be between 1s and 110s (ECRs wait 120s)", c.CardTimeout.Duration))
	}
	if c.PreauthValidity.Duration < time.Hour {
		errs = append(errs, fmt.Errorf("preauth_validity %s: must be at least 1h", c.PreauthValidity.Duration))
	}
	if c.MemoryLimitMiB < 0 || c.MemoryLimitMiB > MaxMemoryLimitMiB {
		errs = append(errs, fmt.Errorf("memory_limit_mib %d: 0 (none) to %d", c.MemoryLimitMiB, MaxMemoryLimitMiB))
	}
	if c.Receipt.Width != 32 && c.Receipt.Width != 48 {
		errs = append(errs, fmt.Errorf("receipt.width %d: must be 32 (58 mm) or 48 (80 mm)", c.Receipt.Width))
	}
	if _, err := c.SettleAt(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.API.validate()...)
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		errs = append(errs, errors.New("tls.cert_file and tls.key_file go together"))
	}
	if c.HasPrinter() && !c.Simulator && c.Printer.Device == "" {
		errs = append(errs, fmt.Errorf("printer.device is required for model %s (it has a printer)", c.Model))
	}
	switch c.Printer.FlowControl {
	case "none", "rtscts", "xonxoff":
	default:
		errs = append(errs, fmt.Errorf("printer.flow_control %q: none, rtscts or xonxoff", c.Printer.FlowControl))
	}
	if c.Printer.Baud <= 0 {
		errs = append(errs, fmt.Errorf("printer.baud %d: must be positive", c.Printer.Baud))
	}
	if !c.Simulator {
		if c.Reader.Device == "" {
			errs = append(errs, errors.New("reader.device is required"))
		}
		if c.Host.Address == "" {
			errs = append(errs, errors.New("host.address is required"))
		} else if c.HostTLS() && c.HostServerName() == "" {
			errs = append(errs, fmt.Errorf("host.address %q: no host name to verify the acquirer's certificate against; set host.server_name", c.Host.Address))
		}
		if c.Host.TerminalID == "" || c.Host.MerchantID == "" {
			errs = append(errs, errors.New("host.terminal_id (≤8) and host.merchant_id (≤15) are required: the acquirer assigns them"))
		}
	}
	if len(c.Host.TerminalID) > 8 || len(c.Host.MerchantID) > 15 {
		errs = append(errs, fmt.Errorf("host.terminal_id %q (≤8) or host.merchant_id %q (≤15) too long", c.Host.TerminalID, c.Host.MerchantID))
	}
	if c.Host.Timeout.Duration < time.Second || c.Host.Timeout.Duration > 60*time.Second {
		errs = append(errs, fmt.Errorf("host.timeout %s: 1s to 60s", c.Host.Timeout.Duration))
	}
	if !slices.Contains(host.Dialects(), c.Host.Dialect) {
		errs = append(errs, fmt.Errorf("host.dialect %q: one of %s", c.Host.Dialect, strings.Join(host.Dialects(), ", ")))
	}
	if t := c.Host.TPDU; t != "" && (!hexDigits(t, 10) || !strings.HasPrefix(t, "60")) {
		errs = append(errs, fmt.Errorf("host.tpdu %q: 10 hex digits starting with 60", t))
	}
	if c.Offline.FloorLimit < 0 || (c.Offline.Approvals && c.Offline.FloorLimit == 0) {
		errs = append(errs, fmt.Errorf("offline.floor_limit %d: must be > 0 when offline.approvals is on", c.Offline.FloorLimit))
	}
	if t := c.Offline.TACDefault; t != "" && !hexDigits(t, 10) {
		errs = append(errs, fmt.Errorf("offline.tac_default %q: 10 hex digits (5 bytes)", t))
	}
	if o := c.Offline; o.TargetPercent < 0 || o.TargetPercent > 99 || o.MaxTargetPercent < o.TargetPercent || o.MaxTargetPercent > 99 {
		errs = append(errs, fmt.Errorf("offline.target_percent %d and offline.max_target_percent %d: 0 to 99, the maximum not under the target", o.TargetPercent, o.MaxTargetPercent))
	}
	if o := c.Offline; o.Threshold < 0 || (o.MaxTargetPercent > 0 && o.Threshold >= o.FloorLimit) {
		errs = append(errs, fmt.Errorf("offline.threshold %d: 0 up to under offline.floor_limit", o.Threshold))
	}
	if r := c.Reader; r.ContactlessCVMLimit < 0 || r.ContactlessTransactionLimit < 0 {
		errs = append(errs, errors.New("reader.contactless_cvm_limit and reader.contactless_transaction_limit must not be negative"))
	}
	for scheme, l := range c.Reader.SchemeLimits {
		if !slices.Contains(LimitSchemes, scheme) {
			errs = append(errs, fmt.Errorf("reader.scheme_limits.%s: scheme is one of %s", scheme, strings.Join(LimitSchemes, ", ")))
		}
		if l.CVMLimit < 0 || l.TransactionLimit < 0 {
			errs = append(errs, fmt.Errorf("reader.scheme_limits.%s: limits must not be negative", scheme))
		}
	}
	if c.EMV.ScriptLimit < 128 || c.EMV.ScriptLimit > 4096 {
		errs = append(errs, fmt.Errorf("emv.script_limit %d: 128 to 4096 bytes", c.EMV.ScriptLimit))
	}
	if c.Merchant.Name == "" {
		errs = append(errs, errors.New("merchant.name is required"))
	}
	if c.Log.Level != "" && !slices.Contains(LogLevels, c.Log.Level) {
		errs = append(errs, fmt.Errorf("log.level %q: %s", c.Log.Level, strings.Join(LogLevels, ", ")))
	}
	if c.Log.MaxSizeMB < 1 || c.Log.MaxSizeMB > 100 {
		errs = append(errs, fmt.Errorf("log.max_size_mb %d: 1 to 100", c.Log.MaxSizeMB))
	}
	if c.Log.MaxBackups < 0 || c.Log.MaxBackups > 20 || c.Log.MaxAgeDays < 0 {
		errs = append(errs, fmt.Errorf("log.max_backups %d (0 to 20) or log.max_age_days %d (≥ 0) out of range", c.Log.MaxBackups, c.Log.MaxAgeDays))
	}
	if c.Log.File == "" && c.Log.Stderr != nil && !*c.Log.Stderr {
		errs = append(errs, errors.New("log.stderr = false needs log.file: logs must go somewhere"))
	}
	errs = append(errs, c.Cloud.validate()...)
	for _, name := range c.Discovery.Interfaces {
		if name == "" {
			errs = append(errs, errors.New("discovery.interfaces: empty interface name"))
		}
	}
	return errors.Join(errs...)
}

func (c Cloud) validate() []error {
	if c.URL == "" {
		if c.CAFile != "" || c.CredentialsFile != "" {
			return []error{errors.New("cloud.ca_file and cloud.credentials_file need cloud.url")}
		}
		return nil
	}
	var errs []error
	for _, u := range strings.Split(c.URL, ",") {
		parsed, err := url.Parse(strings.TrimSpace(u))
		switch {
		case err != nil || parsed.Host == "" || parsed.Port() == "":
			errs = append(errs, fmt.Errorf("cloud.url %q: tls://host:port", u))
		case parsed.Scheme != "tls" && parsed.Scheme != "nats":
			errs = append(errs, fmt.Errorf("cloud.url %q: the scheme is tls:// (the link is always TLS)", u))
		case parsed.User != nil:
			errs = append(errs, fmt.Errorf("cloud.url: no credentials in the URL; the terminal authenticates with its own key"))
		}
	}
	return errs
}

func (a API) validate() []error {
	var errs []error
	if _, err := a.Proxies(); err != nil {
		errs = append(errs, err)
	}
	if a.MaxConnections < 16 || a.MaxConnections > 900 {
		errs = append(errs, fmt.Errorf("api.max_connections %d: 16 to 900 (descriptors must stay below 1024)", a.MaxConnections))
	}
	if a.ReservedConnections < 1 || a.ReservedConnections > a.MaxConnections/2 {
		errs = append(errs, fmt.Errorf("api.reserved_connections %d: 1 to half of max_connections", a.ReservedConnections))
	}
	if a.ConnectionsPerAddress < 1 || a.ConnectionsPerAddress > a.MaxConnections-a.ReservedConnections {
		errs = append(errs, fmt.Errorf("api.connections_per_address %d: 1 to max_connections - reserved_connections", a.ConnectionsPerAddress))
	}
	if t := a.UnauthenticatedTimeout.Duration; t < time.Second || t > 10*time.Second {
		errs = append(errs, fmt.Errorf("api.unauthenticated_timeout %s: 1s to 10s", t))
	}
	return errs
}

// SettleAt is the daily settlement time as an offset from local midnight.
func (c *Config) SettleAt() (time.Duration, error) {
	t, err := time.Parse("15:04", c.Settlement.Time)
	if err != nil {
		return 0, fmt.Errorf("settlement.time %q: use HH:MM (24h)", c.Settlement.Time)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// HasPrinter reports whether the configured model has a built-in printer.
func (c *Config) HasPrinter() bool { return Models()[c.Model] }

// Location is the terminal's time zone.
func (c *Config) Location() *time.Location {
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// hexDigits reports whether s is n hex digits.
func hexDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}
