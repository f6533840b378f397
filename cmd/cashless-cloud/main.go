// Command cashless-cloud is the relay that makes cashlessd terminals
// reachable by terminal ID from anywhere: an HTTPS server with the native
// Cashless API per terminal and a Fiuu cloudECR-compatible API, on NATS
// (embedded, or a cluster). Subcommands: serve, version, account, pos,
// unbind. This package parses flags and wires; the relay lives in cloud/.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/cloud/server"
)

// version is set at build time: -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := &Main{Stdout: os.Stdout, Stderr: os.Stderr}
	if err := m.Run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "cashless-cloud:", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// Main is the program, as a value tests can run in-process.
type Main struct {
	Stdout, Stderr io.Writer
	// Ready, when set, is called once serve listens.
	Ready func(p *server.Process)
}

var errUsage = errors.New("usage")

const usage = `usage:
  cashless-cloud serve [--config FILE] [--listen ADDR] [--data-dir DIR] [--nats URL] [--nats-listen ADDR]
                       [--nats-name NAME] [--nats-cluster ADDR] [--nats-routes URL,URL] [--nats-replicas N]
                       [--metrics-listen ADDR] [--nats-log] [--simulator]
  cashless-cloud version
  cashless-cloud account add --id ID --kind channel|sub-channel|merchant [--parent ID] [--name NAME]
  cashless-cloud account list
  cashless-cloud account disable --id ID
  cashless-cloud pos add --pos-id ID --merchant ID
  cashless-cloud pos rotate-secret --pos-id ID
  cashless-cloud pos disable --pos-id ID
  cashless-cloud unbind --terminal ID
  (admin commands take [--config FILE] [--data-dir DIR] [--nats URL] [--nats-ca FILE] [--relay-key FILE])`

// Run runs one subcommand.
func (m *Main) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(m.Stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "serve":
		return m.serve(ctx, args[1:])
	case "version", "--version":
		fmt.Fprintln(m.Stdout, "cashless-cloud", version)
		return nil
	case "account", "pos":
		if len(args) < 2 {
			fmt.Fprintln(m.Stderr, usage)
			return errUsage
		}
		return m.admin(ctx, args[0]+" "+args[1], args[2:])
	case "unbind":
		return m.admin(ctx, "unbind", args[1:])
	case "help", "-h", "--help":
		fmt.Fprintln(m.Stdout, usage)
		return nil
	}
	fmt.Fprintln(m.Stderr, usage)
	return errUsage
}

// fileConfig is the TOML configuration; flags override it.
type fileConfig struct {
	Listen        string   `toml:"listen"`
	DataDir       string   `toml:"data_dir"`
	CertFile      string   `toml:"cert_file"`
	KeyFile       string   `toml:"key_file"`
	Hosts         []string `toml:"hosts"`
	RelayKeyFile  string   `toml:"relay_key_file"`
	MetricsListen string   `toml:"metrics_listen"`
	Simulator     bool     `toml:"simulator"`
	NATS          struct {
		URL             string   `toml:"url"`
		CAFile          string   `toml:"ca_file"`
		Listen          string   `toml:"listen"`
		Name            string   `toml:"name"`
		ClusterName     string   `toml:"cluster_name"`
		ClusterListen   string   `toml:"cluster_listen"`
		Routes          []string `toml:"routes"`
		ClusterUser     string   `toml:"cluster_user"`
		ClusterPassword string   `toml:"cluster_password"`
		Replicas        int      `toml:"replicas"`
	} `toml:"nats"`
}

func loadConfig(path string) (fileConfig, error) {
	c := fileConfig{Listen: "127.0.0.1:9443", DataDir: "cloud-data"}
	c.NATS.Listen = "127.0.0.1:4222"
	c.NATS.ClusterName = "cashless"
	c.NATS.Replicas = 1
	if path == "" {
		return c, nil
	}
	md, err := toml.DecodeFile(path, &c)
	if err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	if u := md.Undecoded(); len(u) > 0 {
		return c, fmt.Errorf("config %s: unknown keys %v", path, u)
	}
	return c, nil
}

// commonFlags are the flags serve and the admin commands share.
type commonFlags struct {
	config, dataDir, natsURL, natsCA, relayKey string
}

func (c *commonFlags) add(fs *flag.FlagSet) {
	fs.StringVar(&c.config, "config", "", "TOML configuration file")
	fs.StringVar(&c.dataDir, "data-dir", "", "data directory (relay key, certificates, embedded NATS)")
	fs.StringVar(&c.natsURL, "nats", "", "join an existing NATS at this URL instead of the embedded server")
	fs.StringVar(&c.natsCA, "nats-ca", "", "CA bundle the NATS URL is trusted with")
	fs.StringVar(&c.relayKey, "relay-key", "", "the relay key file every relay of one cloud shares (default <data-dir>/relay.key)")
}

func (c *commonFlags) apply(fc *fileConfig) {
	if c.dataDir != "" {
		fc.DataDir = c.dataDir
	}
	if c.natsURL != "" {
		fc.NATS.URL = c.natsURL
	}
	if c.natsCA != "" {
		fc.NATS.CAFile = c.natsCA
	}
	if c.relayKey != "" {
		fc.RelayKeyFile = c.relayKey
	}
	if fc.RelayKeyFile == "" {
		fc.RelayKeyFile = filepath.Join(fc.DataDir, "relay.key")
	}
}

func (m *Main) serve(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	var common commonFlags
	common.add(fs)
	listen := fs.String("listen", "", "HTTPS address of the APIs (default 127.0.0.1:9443)")
	natsListen := fs.String("nats-listen", "", "address terminals connect to, embedded NATS (default 127.0.0.1:4222)")
	natsName := fs.String("nats-name", "", "this node's name in a NATS cluster")
	cluster := fs.String("nats-cluster", "", "cluster address of the embedded NATS node (joins other relays' nodes)")
	routes := fs.String("nats-routes", "", "comma-separated nats-route://host:port URLs of the other nodes")
	replicas := fs.Int("nats-replicas", 0, "JetStream copies of the relay state (3 on a 3-node cluster)")
	metricsListen := fs.String("metrics-listen", "", "Prometheus metrics address (plain HTTP; off when empty)")
	natsLogs := fs.Bool("nats-log", false, "write the embedded NATS server's own log to stderr")
	transferWait := fs.Duration("transfer-wait", 0, "how long a call waits for the terminal before answering pending (default 80s)")
	simulator := fs.Bool("simulator", false, "simulator mode: the simulator POS account and terminal credential, /simulator/v1/clock")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	fc, err := loadConfig(common.config)
	if err != nil {
		return err
	}
	common.apply(&fc)
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&fc.Listen, *listen)
	set(&fc.NATS.Listen, *natsListen)
	set(&fc.NATS.Name, *natsName)
	set(&fc.NATS.ClusterListen, *cluster)
	set(&fc.MetricsListen, *metricsListen)
	if *routes != "" {
		fc.NATS.Routes = strings.Split(*routes, ",")
	}
	if *replicas > 0 {
		fc.NATS.Replicas = *replicas
	}
	fc.Simulator = fc.Simulator || *simulator
	if fc.NATS.Name == "" {
		host, _ := os.Hostname()
		fc.NATS.Name = "cashless-cloud-" + host
	}
	log := zerolog.New(m.Stderr).With().Timestamp().Logger()
	p, err := server.Start(ctx, server.Config{
		Listen: fc.Listen, DataDir: fc.DataDir, CertFile: fc.CertFile, KeyFile: fc.KeyFile, Hosts: fc.Hosts,
		RelayKeyFile: fc.RelayKeyFile, NATSURL: fc.NATS.URL, NATSCAFile: fc.NATS.CAFile, NATSListen: fc.NATS.Listen,
		NATSName: fc.NATS.Name, ClusterListen: fc.NATS.ClusterListen, ClusterName: fc.NATS.ClusterName, Routes: fc.NATS.Routes,
		ClusterUser: fc.NATS.ClusterUser, ClusterPassword: fc.NATS.ClusterPassword, Replicas: fc.NATS.Replicas,
		MetricsListen: fc.MetricsListen, Simulator: fc.Simulator, Log: log, NATSLogs: *natsLogs, TransferWait: *transferWait,
	})
	if err != nil {
		return err
	}
	defer p.Close()
	fmt.Fprintf(m.Stdout, "cashless-cloud on https://%s", p.HTTPAddr)
	if p.NATSAddr != nil {
		fmt.Fprintf(m.Stdout, ", terminals connect to tls://%s", p.NATSAddr)
	}
	if p.CAFile != "" {
		fmt.Fprintf(m.Stdout, " (development CA %s)", p.CAFile)
	}
	fmt.Fprintln(m.Stdout)
	if m.Ready != nil {
		m.Ready(p)
	}
	<-ctx.Done()
	return nil
}

func (m *Main) admin(ctx context.Context, cmd string, args []string) error {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	var common commonFlags
	common.add(fs)
	id := fs.String("id", "", "account ID")
	kind := fs.String("kind", "", "account kind: channel, sub-channel or merchant")
	parent := fs.String("parent", "", "parent account ID")
	name := fs.String("name", "", "account name")
	posID := fs.String("pos-id", "", "POS ID (Fiuu posId)")
	merchant := fs.String("merchant", "", "merchant account ID")
	terminal := fs.String("terminal", "", "terminal ID")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	fc, err := loadConfig(common.config)
	if err != nil {
		return err
	}
	common.apply(&fc)
	url, ca := fc.NATS.URL, fc.NATS.CAFile
	if url == "" {
		url = "tls://" + fc.NATS.Listen
		if ca == "" && fc.CertFile == "" {
			ca = filepath.Join(fc.DataDir, "certs", "ca.pem")
		}
	}
	actx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	a, err := server.OpenAdmin(actx, url, ca, fc.RelayKeyFile)
	if err != nil {
		return fmt.Errorf("connecting to the relay's NATS at %s: %w", url, err)
	}
	defer a.Close()
	need := func(v *string, flagName string) error {
		if *v == "" {
			return fmt.Errorf("%s needs --%s: %w", cmd, flagName, errUsage)
		}
		return nil
	}
	switch cmd {
	case "account add":
		if err := errors.Join(need(id, "id"), need(kind, "kind")); err != nil {
			return err
		}
		key, err := a.Accounts.AddAccount(actx, *id, *kind, *parent, *name)
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "account %s (%s) added\napi key: %s\n(shown once: store it now)\n", *id, *kind, key)
	case "account list":
		list, err := a.Accounts.Accounts(actx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(m.Stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tKIND\tPARENT\tNAME\tDISABLED")
		for _, acc := range list {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%v\n", acc.ID, acc.Kind, acc.Parent, acc.Name, acc.Disabled)
		}
		return w.Flush()
	case "account disable":
		if err := need(id, "id"); err != nil {
			return err
		}
		if err := a.Accounts.SetAccountDisabled(actx, *id, true); err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "account %s disabled\n", *id)
	case "pos add":
		if err := errors.Join(need(posID, "pos-id"), need(merchant, "merchant")); err != nil {
			return err
		}
		sec, err := a.Accounts.AddPOS(actx, *posID, *merchant, nil)
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "POS %s added under %s\npassword:   %s\nsecret key: %s\n(shown once: store them now)\n", *posID, *merchant, sec.Password, sec.Secret)
	case "pos rotate-secret":
		if err := need(posID, "pos-id"); err != nil {
			return err
		}
		secret, err := a.Accounts.RotateSecret(actx, *posID)
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "POS %s has a new secret key: %s\n(shown once; the old one no longer signs)\n", *posID, secret)
	case "pos disable":
		if err := need(posID, "pos-id"); err != nil {
			return err
		}
		if err := a.Accounts.SetPOSDisabled(actx, *posID, true); err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "POS %s disabled\n", *posID)
	case "unbind":
		if err := need(terminal, "terminal"); err != nil {
			return err
		}
		if err := a.Relay.Unbind(actx, *terminal, "operator"); err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "terminal %s unbound\n", *terminal)
	default:
		fmt.Fprintln(m.Stderr, usage)
		return errUsage
	}
	return nil
}
