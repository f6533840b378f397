package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/brutella/dnssd"
	dnssdlog "github.com/brutella/dnssd/log"
)

// serviceType is what cashlessd announces by DNS-SD over multicast DNS.
const serviceType = "_cashless._tcp.local."

// defaultDiscoverWait is how long discover listens, and how long
// --terminal waits for its terminal at most.
const defaultDiscoverWait = 3 * time.Second

// resolveWait bounds how long --terminal looks for its terminal; it returns
// as soon as the terminal answers.
const resolveWait = 5 * time.Second

// terminal is a cashlessd found on the LAN.
type terminal struct {
	TerminalID  string   `json:"terminalId"`
	Address     string   `json:"address"` // https://ip:port, what --addr takes
	IPs         []string `json:"ips"`
	Port        int      `json:"port"`
	Host        string   `json:"host"`
	Model       string   `json:"model,omitempty"`
	Version     string   `json:"version,omitempty"`
	CertSHA256  string   `json:"certSha256,omitempty"`
	Interface   string   `json:"interface,omitempty"`
	ServiceName string   `json:"serviceName"`
}

var quietLibrary sync.Once

// browse listens for cashlessd announcements for at most wait. With want
// set it returns as soon as that terminal ID is found.
//
// The library reports a service once, from the first records it sees; a
// terminal still probing for its name (its first second) shows up without
// its TXT record. Such a sighting starts a fresh query shortly after, which
// the terminal answers in full.
func browse(ctx context.Context, wait time.Duration, want string) ([]terminal, error) {
	quietLibrary.Do(func() { dnssdlog.Info.SetOutput(io.Discard) })
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var mu sync.Mutex
	found := map[string]terminal{}
	for ctx.Err() == nil {
		// The library's readers stop only on context.Canceled (on a
		// deadline they spin on the closed socket), so the lookup's own
		// context is always ended by cancelling it.
		lookup, stop := context.WithCancel(context.WithoutCancel(ctx))
		unhook := context.AfterFunc(ctx, stop)
		var partial bool
		add := func(e dnssd.BrowseEntry) {
			t, ok := fromEntry(e)
			if !ok {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if _, complete := e.Text["terminalId"]; !complete {
				if !partial {
					partial = true
					time.AfterFunc(500*time.Millisecond, stop)
				}
				if _, seen := found[t.TerminalID]; !seen {
					found[t.TerminalID] = t
				}
				return
			}
			delete(found, e.Name) // a partial sighting under the instance name
			if old, seen := found[t.TerminalID]; !seen || old.CertSHA256 == "" || t.preferred() {
				found[t.TerminalID] = t
			}
			if want != "" && t.TerminalID == want {
				cancel()
			}
		}
		err := dnssd.LookupType(lookup, serviceType, add, func(dnssd.BrowseEntry) {})
		unhook()
		stop()
		if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("multicast DNS: %w", err)
		}
		mu.Lock()
		again := partial
		mu.Unlock()
		if !again {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	out := make([]terminal, 0, len(found))
	for _, t := range found {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TerminalID < out[j].TerminalID })
	return out, nil
}

// fromEntry reads an announcement; entries without an address are dropped.
func fromEntry(e dnssd.BrowseEntry) (terminal, bool) {
	t := terminal{
		TerminalID:  e.Text["terminalId"],
		Port:        e.Port,
		Host:        e.Host,
		Model:       e.Text["model"],
		Version:     e.Text["version"],
		CertSHA256:  strings.ToLower(e.Text["certSha256"]),
		Interface:   e.IfaceName,
		ServiceName: e.ServiceInstanceName(),
	}
	if t.TerminalID == "" {
		t.TerminalID = e.Name
	}
	var best string
	for _, ip := range e.IPs {
		s := ip.String()
		if ip.To4() == nil && ip.IsLinkLocalUnicast() && e.IfaceName != "" {
			s += "%" + e.IfaceName
		}
		t.IPs = append(t.IPs, s)
		if best == "" || (ip.To4() != nil && !strings.Contains(best, ".")) {
			best = s
		}
	}
	if best == "" || t.Port == 0 {
		return t, false
	}
	t.Address = "https://" + net.JoinHostPort(best, strconv.Itoa(t.Port))
	return t, true
}

// preferred: an IPv4 address is the one ECR setups expect.
func (t terminal) preferred() bool { return !strings.Contains(t.Address, "[") }

// discover lists the terminals that announce themselves on the LAN.
func (m *Main) discover(ctx context.Context, o *options, args []string) error {
	fs := flag.NewFlagSet("cashless discover", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	wait := fs.Duration("wait", defaultDiscoverWait, "listen for `duration`")
	o.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(m.Stdout, "usage: cashless discover [--wait D] [--json]\n\nList the cashlessd terminals on this LAN (DNS-SD, _cashless._tcp).\n\nflags:\n")
			fs.SetOutput(m.Stdout)
			fs.PrintDefaults()
			return nil
		}
		return m.usageError(fmt.Sprintf("discover: %v", err))
	}
	if fs.NArg() > 0 {
		return m.usageError(fmt.Sprintf("discover: unexpected argument %q", fs.Arg(0)))
	}
	if *wait <= 0 {
		return m.usageError("discover: --wait must be positive")
	}
	found, err := browse(ctx, *wait, "")
	if err != nil {
		fmt.Fprintf(m.Stderr, "cashless: discover: %v\n", err)
		return exitWith(exitTransport, err.Error())
	}
	if o.json {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(found)
	} else if len(found) > 0 {
		tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TERMINAL\tADDRESS\tMODEL\tVERSION\tCERT SHA-256")
		for _, t := range found {
			fp := t.CertSHA256
			if len(fp) > 16 {
				fp = fp[:16] + "…"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.TerminalID, t.Address, t.Model, t.Version, fp)
		}
		_ = tw.Flush()
	}
	if len(found) == 0 {
		fmt.Fprintf(m.Stderr, "cashless: no terminal answered within %s (discovery on? same LAN segment? multicast allowed on this network?)\n", *wait)
		return exitWith(exitTransport, "no terminal found")
	}
	return nil
}

// resolveTerminal finds a terminal's address by its ID.
func resolveTerminal(ctx context.Context, id string, wait time.Duration) (terminal, error) {
	found, err := browse(ctx, wait, id)
	if err != nil {
		return terminal{}, err
	}
	for _, t := range found {
		if t.TerminalID == id {
			return t, nil
		}
	}
	names := make([]string, len(found))
	for i, t := range found {
		names[i] = t.TerminalID
	}
	if len(names) == 0 {
		return terminal{}, fmt.Errorf("terminal %s not found on the LAN within %s (no terminal answered)", id, wait)
	}
	return terminal{}, fmt.Errorf("terminal %s not found on the LAN within %s (found: %s)", id, wait, strings.Join(names, ", "))
}

// trustResolved makes the client accept the terminal discovery found: the
// certificate must chain to the trusted CAs (--ca, or the system's) as
// always, and either name the address (as it must with --addr) or be the
// very certificate the terminal advertised (DHCP addresses are rarely in
// a terminal's certificate).
func trustResolved(c *client, t terminal) {
	tr, ok := c.http.Transport.(*http.Transport)
	if !ok || tr.TLSClientConfig == nil {
		return
	}
	tc := tr.TLSClientConfig.Clone()
	roots := tc.RootCAs
	host, _, _ := net.SplitHostPort(strings.TrimPrefix(t.Address, "https://"))
	host = strings.SplitN(host, "%", 2)[0]
	tc.InsecureSkipVerify = true // VerifyConnection below does the whole check
	tc.VerifyConnection = func(cs tls.ConnectionState) error {
		return verifyResolved(cs.PeerCertificates, roots, host, t.CertSHA256)
	}
	tr.TLSClientConfig = tc
}

// verifyResolved is trustResolved's check.
func verifyResolved(chain []*x509.Certificate, roots *x509.CertPool, host, advertised string) error {
	if len(chain) == 0 {
		return errors.New("the terminal sent no certificate")
	}
	leaf := chain[0]
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	if roots == nil {
		var err error
		if roots, err = x509.SystemCertPool(); err != nil {
			return err
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		return &tls.CertificateVerificationError{UnverifiedCertificates: chain, Err: err}
	}
	if leaf.VerifyHostname(host) == nil {
		return nil
	}
	sum := sha256.Sum256(leaf.Raw)
	if advertised != "" && hex.EncodeToString(sum[:]) == advertised {
		return nil
	}
	return &tls.CertificateVerificationError{UnverifiedCertificates: chain,
		Err: fmt.Errorf("the certificate is neither for %s nor the one the terminal announced", host)}
}
