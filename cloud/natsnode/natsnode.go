// Package natsnode runs the relay's embedded NATS server: JetStream on local
// disk, TLS for terminals, optional cluster routes to other relays' nodes,
// and the client authentication that confines each terminal to its own
// subjects (see Authenticator).
package natsnode

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Options of the embedded server.
type Options struct {
	// Name is the server's name (unique in a cluster).
	Name string
	// DataDir holds JetStream's files (<data-dir>/nats).
	DataDir string
	// Listen is the client address terminals connect to (host:port).
	Listen string
	// TLS is the server certificate for the client port; nil serves plain
	// NATS (tests of the in-process connection only).
	TLS *tls.Config
	// ClusterName, ClusterListen and Routes join other nodes (all empty for
	// a single node).
	ClusterName   string
	ClusterListen string
	Routes        []string
	// ClusterUser / ClusterPassword protect the routes (both empty: none).
	ClusterUser, ClusterPassword string
	// Auth decides who may connect and what they may do.
	Auth server.Authentication
	// Logs writes the NATS server's own log lines to stderr.
	Logs bool
}

// Start starts the server and waits until it accepts connections.
func Start(o Options) (*server.Server, error) {
	host, port, err := splitHostPort(o.Listen)
	if err != nil {
		return nil, fmt.Errorf("nats listen %q: %w", o.Listen, err)
	}
	opts := &server.Options{
		ServerName:                 o.Name,
		Host:                       host,
		Port:                       port,
		JetStream:                  true,
		StoreDir:                   filepath.Join(o.DataDir, "nats"),
		NoSigs:                     true,
		NoLog:                      !o.Logs,
		AlwaysEnableNonce:          true,
		CustomClientAuthentication: o.Auth,
		PingInterval:               20 * time.Second,
		MaxPingsOut:                3,
		WriteDeadline:              10 * time.Second,
	}
	if o.TLS != nil {
		opts.TLSConfig = o.TLS.Clone()
		opts.TLS = true
		opts.TLSTimeout = 5
	}
	if o.ClusterListen != "" {
		ch, cp, err := splitHostPort(o.ClusterListen)
		if err != nil {
			return nil, fmt.Errorf("nats cluster listen %q: %w", o.ClusterListen, err)
		}
		opts.Cluster = server.ClusterOpts{Name: o.ClusterName, Host: ch, Port: cp,
			Username: o.ClusterUser, Password: o.ClusterPassword}
		for _, r := range o.Routes {
			u, err := url.Parse(r)
			if err != nil {
				return nil, fmt.Errorf("nats route %q: %w", r, err)
			}
			if o.ClusterUser != "" && u.User == nil {
				u.User = url.UserPassword(o.ClusterUser, o.ClusterPassword)
			}
			opts.Routes = append(opts.Routes, u)
		}
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, err
	}
	if !opts.NoLog {
		ns.ConfigureLogger()
	}
	ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("nats server not ready after 30 s")
	}
	return ns, nil
}

func splitHostPort(addr string) (string, int, error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, err
	}
	if n == 0 {
		n = server.RANDOM_PORT
	}
	return h, n, nil
}
