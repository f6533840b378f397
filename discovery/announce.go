package discovery

import (
	"bytes"
	"context"
	"io"
	"maps"
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/brutella/dnssd"
	dnssdlog "github.com/brutella/dnssd/log"
	"github.com/rs/zerolog"
)

// goodbyeWait bounds how long stopping an announcement waits for the
// goodbye packets.
const goodbyeWait = 3 * time.Second

// Announcement is what a terminal tells the LAN about itself.
type Announcement struct {
	// TerminalID names the service instance and the mDNS host name.
	TerminalID string
	// Model and Version are shown by `cashless discover`.
	Model, Version string
	// CertSHA256 is the fingerprint of the terminal's TLS certificate
	// (hex SHA-256 of its DER); empty when unknown.
	CertSHA256 string
	// Addr is the API's listening address.
	Addr net.Addr
	// Interfaces limits the announcement to these network interfaces;
	// empty means every multicast-capable interface that is up.
	Interfaces []string
	// Paired reports whether an ECR is paired (TXT paired=1, else 0); nil
	// announces paired=0. It is read at the start and again on every
	// signal on Changed.
	Paired  func() bool
	Changed <-chan struct{}
}

// pairedText is the TXT value of the pairing state.
func pairedText(paired func() bool) string {
	if paired != nil && paired() {
		return "1"
	}
	return "0"
}

// Announce announces the terminal by DNS-SD over multicast DNS until the
// returned stop is called (stop sends goodbye packets). It never fails: a
// terminal without multicast still takes payments and ECRs can use its
// address, so what goes wrong is logged as a warning and stop does
// nothing. An API on loopback only is not announced unless interfaces are
// named. The mDNS library's own log lines go to log at debug level.
func Announce(a Announcement, log zerolog.Logger) (stop func()) {
	log = log.With().Str("component", "discovery").Logger()
	routeLibraryLog(log)
	tcp, ok := a.Addr.(*net.TCPAddr)
	if !ok {
		return func() {}
	}
	if tcp.IP.IsLoopback() && len(a.Interfaces) == 0 {
		log.Info().Str("listen", a.Addr.String()).Msg("discovery off: the API listens on loopback only")
		return func() {}
	}
	text := map[string]string{
		txtTerminalID: a.TerminalID,
		txtModel:      a.Model,
		txtVersion:    a.Version,
		txtAPI:        apiBase,
		txtPaired:     pairedText(a.Paired),
	}
	if a.CertSHA256 != "" {
		text[txtFingerprint] = a.CertSHA256
	}
	svc, err := dnssd.NewService(dnssd.Config{
		Name:   a.TerminalID,
		Type:   ServiceType,
		Domain: Domain,
		Host:   HostName(a.TerminalID),
		Text:   text,
		Port:   tcp.Port,
		Ifaces: a.Interfaces,
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
	handle, err := rp.Add(svc)
	if err != nil {
		log.Warn().Err(err).Msg("discovery off")
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-a.Changed:
				updated := maps.Clone(text)
				updated[txtPaired] = pairedText(a.Paired)
				handle.UpdateText(updated, rp)
			}
		}
	}()
	go func() {
		defer close(done)
		err := rp.Respond(ctx)
		if err != nil && ctx.Err() == nil {
			log.Warn().Err(err).Msg("discovery stopped")
		}
	}()
	log.Info().Str("service", a.TerminalID+"."+ServiceType+"."+Domain).Int("port", tcp.Port).
		Strs("interfaces", a.Interfaces).Msg("announcing on the LAN (DNS-SD)")
	return func() {
		cancel()
		select {
		case <-done: // goodbye packets sent
		case <-time.After(goodbyeWait):
		}
	}
}

// routeLibraryLog sends the mDNS library's log lines (by default printed
// on stdout) to log at debug level. The library's loggers are its own
// process-wide values; setting their output is safe at any time.
func routeLibraryLog(log zerolog.Logger) {
	w := logLineWriter{log: log}
	dnssdlog.Info.SetOutput(w)
	if log.GetLevel() <= zerolog.DebugLevel {
		dnssdlog.Debug.SetOutput(w)
	} else {
		dnssdlog.Debug.SetOutput(io.Discard)
	}
}

var hostUnsafe = regexp.MustCompile(`[^A-Za-z0-9-]+`)

// HostName is the terminal's mDNS host name: terminals often all call
// themselves "localhost", so the name comes from the terminal ID.
func HostName(terminalID string) string {
	h := strings.Trim(hostUnsafe.ReplaceAllString(terminalID, "-"), "-")
	return "cashless-" + strings.ToLower(h)
}

// logLineWriter turns the mDNS library's log lines into debug entries.
type logLineWriter struct{ log zerolog.Logger }

func (w logLineWriter) Write(p []byte) (int, error) {
	w.log.Debug().Msg(string(bytes.TrimSpace(p)))
	return len(p), nil
}
