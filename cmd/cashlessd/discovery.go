package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/brutella/dnssd"
	dnssdlog "github.com/brutella/dnssd/log"
	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/certs"
	"github.com/vinr/cashlessd/daemon/config"
)

// ServiceType is the DNS-SD service type cashlessd announces.
const ServiceType = "_cashless._tcp"

// TXT record keys: what `cashless discover` shows and `--terminal`
// resolves by.
const (
	txtTerminalID  = "terminalId"
	txtModel       = "model"
	txtVersion     = "version"
	txtFingerprint = "certSha256" // SHA-256 of the terminal certificate's DER, hex
	txtAPI         = "api"        // the API's base path
)

// discoveryLogOnce routes the mDNS library's own log lines (by default
// printed on stdout) into the daemon's JSON log at debug level.
var discoveryLogOnce sync.Once

// startDiscovery announces the daemon on the LAN by DNS-SD over multicast
// DNS until the returned stop is called (stop sends goodbye packets). It
// never fails serve: a terminal without multicast still takes payments,
// and ECRs can use its address.
func startDiscovery(cfg config.Config, addr net.Addr, tc *tls.Config, version string, log zerolog.Logger) (stop func()) {
	if !cfg.DiscoveryEnabled() {
		return func() {}
	}
	log = log.With().Str("component", "discovery").Logger()
	discoveryLogOnce.Do(func() {
		w := logLineWriter{log: log}
		dnssdlog.Info.SetOutput(w)
		if log.GetLevel() <= zerolog.DebugLevel {
			dnssdlog.Debug.SetOutput(w)
		}
	})
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return func() {}
	}
	if tcp.IP.IsLoopback() && len(cfg.Discovery.Interfaces) == 0 {
		log.Info().Str("listen", addr.String()).Msg("discovery off: the API listens on loopback only")
		return func() {}
	}
	text := map[string]string{
		txtTerminalID: cfg.TerminalID,
		txtModel:      cfg.Model,
		txtVersion:    version,
		txtAPI:        "/cashless/v1",
	}
	if tc != nil && len(tc.Certificates) > 0 && tc.Certificates[0].Leaf != nil {
		text[txtFingerprint] = certs.Fingerprint(tc.Certificates[0].Leaf)
	}
	svc, err := dnssd.NewService(dnssd.Config{
		Name:   cfg.TerminalID,
		Type:   ServiceType,
		Domain: "local",
		Host:   discoveryHost(cfg.TerminalID),
		Text:   text,
		Port:   tcp.Port,
		Ifaces: cfg.Discovery.Interfaces,
	})
	if err != nil {
		log.Warn().Err(err).Msg("discovery off: cannot describe the service")
		return func() {}
	}
	rp, err := dnssd.NewResponder()
	if err != nil {
		log.Warn().Err(err).Msg("discovery off: no multicast DNS socket (port 5353 taken or no network)")
		return func() {}
	}
	if _, err := rp.Add(svc); err != nil {
		log.Warn().Err(err).Msg("discovery off")
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := rp.Respond(ctx)
		if err != nil && ctx.Err() == nil {
			log.Warn().Err(err).Msg("discovery stopped")
		}
	}()
	log.Info().Str("service", cfg.TerminalID+"."+ServiceType+".local").Int("port", tcp.Port).
		Strs("interfaces", cfg.Discovery.Interfaces).Msg("announcing on the LAN (DNS-SD)")
	return func() {
		cancel()
		select {
		case <-done: // goodbye packets sent
		case <-time.After(3 * time.Second):
		}
	}
}

var hostUnsafe = regexp.MustCompile(`[^A-Za-z0-9-]+`)

// discoveryHost is the terminal's mDNS host name: terminals often all call
// themselves "localhost", so the name comes from the terminal ID.
func discoveryHost(terminalID string) string {
	h := strings.Trim(hostUnsafe.ReplaceAllString(terminalID, "-"), "-")
	return "cashless-" + strings.ToLower(h)
}

// logLineWriter turns the mDNS library's log lines into debug entries.
type logLineWriter struct{ log zerolog.Logger }

func (w logLineWriter) Write(p []byte) (int, error) {
	w.log.Debug().Msg(string(bytes.TrimSpace(p)))
	return len(p), nil
}
