package discovery

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/brutella/dnssd"
	dnssdlog "github.com/brutella/dnssd/log"
)

// partialRequery is how soon after a partial sighting (a terminal still
// probing for its name, without its TXT record) the lookup asks again.
const partialRequery = 500 * time.Millisecond

// Terminal is a cashlessd found on the LAN.
type Terminal struct {
	TerminalID string   `json:"terminalId"`
	Address    string   `json:"address"` // https://ip:port, what --addr takes
	IPs        []string `json:"ips"`
	Port       int      `json:"port"`
	Host       string   `json:"host"`
	Model      string   `json:"model,omitempty"`
	Version    string   `json:"version,omitempty"`
	CertSHA256 string   `json:"certSha256,omitempty"`
	// Paired: at least one ECR is paired with the terminal (TXT
	// paired=1); never a secret.
	Paired      bool   `json:"paired"`
	Interface   string `json:"interface,omitempty"`
	ServiceName string `json:"serviceName"`
}

// Browse listens for cashlessd announcements for at most wait and returns
// the terminals found, by terminal ID. With want set it returns as soon as
// that terminal ID is found.
//
// The library reports a service once, from the first records it sees; a
// terminal still probing for its name (its first second) shows up without
// its TXT record. Such a sighting starts a fresh query shortly after, which
// the terminal answers in full.
func Browse(ctx context.Context, wait time.Duration, want string) ([]Terminal, error) {
	dnssdlog.Info.SetOutput(io.Discard)
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var mu sync.Mutex
	found := map[string]Terminal{}
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
			if _, complete := e.Text[txtTerminalID]; !complete {
				if !partial {
					partial = true
					time.AfterFunc(partialRequery, stop)
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
		err := dnssd.LookupType(lookup, ServiceType+"."+Domain+".", add, func(dnssd.BrowseEntry) {})
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
	out := make([]Terminal, 0, len(found))
	for _, t := range found {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TerminalID < out[j].TerminalID })
	return out, nil
}

// fromEntry reads an announcement; entries without an address are dropped.
func fromEntry(e dnssd.BrowseEntry) (Terminal, bool) {
	t := Terminal{
		TerminalID:  e.Text[txtTerminalID],
		Port:        e.Port,
		Host:        e.Host,
		Model:       e.Text[txtModel],
		Version:     e.Text[txtVersion],
		CertSHA256:  strings.ToLower(e.Text[txtFingerprint]),
		Paired:      e.Text[txtPaired] == "1",
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
func (t Terminal) preferred() bool { return !strings.Contains(t.Address, "[") }

// Resolve finds a terminal's address by its ID, waiting at most wait.
func Resolve(ctx context.Context, id string, wait time.Duration) (Terminal, error) {
	found, err := Browse(ctx, wait, id)
	if err != nil {
		return Terminal{}, err
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
		return Terminal{}, fmt.Errorf("terminal %s not found on the LAN within %s (no terminal answered)", id, wait)
	}
	return Terminal{}, fmt.Errorf("terminal %s not found on the LAN within %s (found: %s)", id, wait, strings.Join(names, ", "))
}

// TrustConfig returns a copy of base that accepts the terminal as found:
// its certificate must chain to base's RootCAs (or the system's) as
// always, and either name the address (as it must when the address is
// given by hand) or be the very certificate the terminal announced (DHCP
// addresses are rarely in a terminal's certificate).
func (t Terminal) TrustConfig(base *tls.Config) *tls.Config {
	tc := base.Clone()
	roots := tc.RootCAs
	host, _, _ := net.SplitHostPort(strings.TrimPrefix(t.Address, "https://"))
	host = strings.SplitN(host, "%", 2)[0]
	tc.InsecureSkipVerify = true // VerifyConnection below does the whole check
	tc.VerifyConnection = func(cs tls.ConnectionState) error {
		return verifyFound(cs.PeerCertificates, roots, host, t.CertSHA256)
	}
	return tc
}

// verifyFound is TrustConfig's check.
func verifyFound(chain []*x509.Certificate, roots *x509.CertPool, host, advertised string) error {
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
