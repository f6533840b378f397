package diag

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/vinr/cashlessd/certs"
	"github.com/vinr/cashlessd/client"
	"github.com/vinr/cashlessd/daemon"
	"github.com/vinr/cashlessd/daemon/admin"
	"github.com/vinr/cashlessd/daemon/api/wire"
)

// apiWait bounds the API check's calls to the running daemon.
const apiWait = 10 * time.Second

// checkRunning reports a running daemon's devices as its drivers see them
// (through the admin socket's health request; nothing is opened here),
// then checks its API port and whether a payment can succeed.
func (d *diagnosis) checkRunning(ctx context.Context, h admin.HealthReport, key string) {
	start := time.Now()
	d.addDevice("reader", h.Devices.Reader, start, "")
	if !d.cfg.HasPrinter() {
		d.add("printer", Skip, "model "+d.cfg.Model+" has no printer", start)
	} else {
		d.addDevice("printer", h.Devices.Printer, start, "")
	}
	d.addDevice("host", h.Devices.Host, start, hostOutcomes(h.HostOutcomes))
	d.checkAPI(ctx, h, key)
	start = time.Now()
	if h.CanTransact {
		d.add("payments", OK, "the running daemon can take a payment ("+h.Status+")", start)
		return
	}
	var why []string
	for _, r := range h.Reasons {
		why = append(why, r.Code+": "+r.Message)
	}
	d.add("payments", Fail, "the running daemon cannot take a payment: "+strings.Join(why, "; "), start)
}

// addDevice adds a check line for one of the running daemon's devices.
func (d *diagnosis) addDevice(name string, dev daemon.DeviceHealth, start time.Time, extra string) {
	detail := fmt.Sprintf("running daemon: %s since %s", dev.State, dev.Since.UTC().Format(time.RFC3339))
	if dev.Message != "" {
		detail += ": " + dev.Message
	}
	if extra != "" {
		detail += "; " + extra
	}
	status := Fail
	switch {
	case dev.State == daemon.DeviceOK:
		status = OK
	case name == "printer" && dev.State == daemon.DeviceDegraded && strings.Contains(dev.Message, "near end"):
		status = Warn
	}
	d.add(name, status, detail, start)
}

// hostOutcomes summarises the host link's recent financial requests.
func hostOutcomes(o *daemon.HostOutcomes) string {
	if o == nil {
		return ""
	}
	s := fmt.Sprintf("last financial requests: %d answered, %d unanswered, %d not sent", o.Answered, o.Unanswered, o.Unreachable)
	if !o.LastNetworkAt.IsZero() {
		s += ", sign-on/echo last answered " + o.LastNetworkAt.UTC().Format(time.RFC3339)
	}
	return s
}

// checkAPI checks the running daemon's API port: it answers TLS with a
// certificate that chains to the CA bundle (its names are listed), it
// refuses a wrong key with 401, and — with --key — the given key gets a
// status. Without --key it reports whether a key is set: the daemon keeps
// only the key's hash, so the key itself cannot be checked.
func (d *diagnosis) checkAPI(ctx context.Context, h admin.HealthReport, key string) {
	start := time.Now()
	addr, err := dialAddress(h.Listen)
	if err != nil {
		d.add("api", Fail, err.Error(), start)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, apiWait)
	defer cancel()
	pool, poolNote := d.apiRoots()
	var peer *x509.Certificate
	var chainErr error
	tc := &tls.Config{
		MinVersion: tls.VersionTLS12,
		// The address dialled may be none of the certificate's names
		// (a wildcard listener is reached on loopback): the chain is
		// verified here, and the names are listed for the technician.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("no certificate")
			}
			peer = cs.PeerCertificates[0]
			if pool != nil {
				inter := x509.NewCertPool()
				for _, c := range cs.PeerCertificates[1:] {
					inter.AddCert(c)
				}
				_, chainErr = peer.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter})
			}
			return nil
		},
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tc, Proxy: nil, DisableKeepAlives: true}}
	api := client.New(client.Config{BaseURL: "https://" + addr, HTTPClient: hc})
	wrong, err := api.WithKey(wrongKey()).Post(ctx, wire.PathStatus, wire.EmptyRequest{})
	if err != nil {
		d.add("api", Fail, fmt.Sprintf("%s does not answer HTTPS: %v", addr, err), start)
		return
	}
	var notes []string
	status := OK
	notes = append(notes, fmt.Sprintf("%s answers TLS; certificate names %s", addr, strings.Join(certNames(peer), ", ")))
	switch {
	case pool == nil:
		notes = append(notes, poolNote)
		status = Warn
	case chainErr != nil:
		notes = append(notes, "does not chain to "+poolNote+": "+chainErr.Error())
		status = Fail
	default:
		notes = append(notes, "chains to "+poolNote)
	}
	if wrong.StatusCode == http.StatusUnauthorized {
		notes = append(notes, "a wrong key gets 401")
	} else {
		notes = append(notes, fmt.Sprintf("a wrong key got HTTP %d, want 401", wrong.StatusCode))
		status = Fail
	}
	switch {
	case key != "":
		res, err := api.WithKey(key).Post(ctx, wire.PathStatus, wire.EmptyRequest{})
		switch {
		case err != nil:
			notes = append(notes, "status with --key: "+err.Error())
			status = Fail
		case res.StatusCode == http.StatusOK:
			notes = append(notes, "--key is accepted (status 200)")
		default:
			notes = append(notes, fmt.Sprintf("--key is refused (HTTP %d)", res.StatusCode))
			status = Fail
		}
	case h.KeySet:
		notes = append(notes, "a shared key is set (only its hash is stored: pass --key to check the ECR's)")
	case h.Simulator:
		notes = append(notes, "no shared key set; simulator mode accepts the simulator key")
	default:
		notes = append(notes, "NO SHARED KEY SET: run `cashlessd key rotate`")
		status = Fail
	}
	d.add("api", status, strings.Join(notes, "; "), start)
}

// apiRoots is the CA bundle ECRs are given: tls.ca_file, or the
// development CA in the data directory.
func (d *diagnosis) apiRoots() (*x509.CertPool, string) {
	file := d.cfg.TLS.CAFile
	if d.cfg.TLS.CertFile == "" {
		file = certs.DevFiles(filepath.Join(d.cfg.DataDir, "certs")).CA
	}
	if file == "" {
		return nil, "no tls.ca_file: chain not checked"
	}
	pool, err := certs.Pool(file)
	if err != nil {
		return nil, "CA bundle not readable: " + err.Error()
	}
	return pool, file
}

// dialAddress turns the listener's address into one to dial: a wildcard
// listener is reached on loopback.
func dialAddress(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("the daemon reports no API address (%q)", listen)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}

// certNames lists a certificate's DNS names and IP addresses.
func certNames(c *x509.Certificate) []string {
	if c == nil {
		return []string{"(none)"}
	}
	var names []string
	names = append(names, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		names = append(names, "(no subject alternative names)")
	}
	return names
}

// wrongKey is a key no daemon has: a fresh random one.
func wrongKey() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "ck_diag_" + hex.EncodeToString(b)
}
