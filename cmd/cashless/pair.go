package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	apiclient "github.com/vinr/cashlessd/client"
	"github.com/vinr/cashlessd/discovery"
)

// pairing is what `cashless pair` stores (mode 0600): the ECR's own
// credential at one terminal and the certificate pinned for it. Later
// commands use it when no --key is given.
type pairing struct {
	TerminalID        string    `json:"terminalId"`
	Address           string    `json:"address"`
	EcrID             string    `json:"ecrId"`
	Name              string    `json:"name"`
	Key               string    `json:"key"`
	Scopes            []string  `json:"scopes"`
	SignedRequests    bool      `json:"signedRequests"`
	CertificateSHA256 string    `json:"certificateSha256"`
	PublicKeySHA256   string    `json:"publicKeySha256,omitempty"`
	PairedAt          time.Time `json:"pairedAt"`
}

// pairingPath is where the pairing is kept: --pairing, $CASHLESS_PAIRING,
// or cashless/pairing.json in the user's configuration directory
// ($XDG_CONFIG_HOME, else $HOME/.config); "" when none can be named.
func (m *Main) pairingPath(o *options) string {
	if o.pairing != "" {
		return o.pairing
	}
	env := func(k string) string {
		if m.LookupEnv == nil {
			return ""
		}
		v, _ := m.LookupEnv(k)
		return v
	}
	if d := env("XDG_CONFIG_HOME"); d != "" {
		return filepath.Join(d, "cashless", "pairing.json")
	}
	if h := env("HOME"); h != "" {
		return filepath.Join(h, ".config", "cashless", "pairing.json")
	}
	return ""
}

// loadPairing reads the stored pairing; nil when there is none.
func loadPairing(path string) (*pairing, error) {
	if path == "" {
		return nil, nil
	}
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var p pairing
	if err := json.Unmarshal(raw, &p); err != nil || p.Key == "" {
		return nil, fmt.Errorf("%s is not a pairing `cashless pair` wrote", path)
	}
	return &p, nil
}

// savePairing writes the pairing (0600, in a 0700 directory), replacing
// the file in one rename.
func savePairing(path string, p pairing) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	raw, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".pairing-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return err
	}
	if _, err := tmp.Write(append(raw, '\n')); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// usePairing fills the options from the stored pairing when no key was
// given: its key, its terminal (unless an address was given) and its
// pinned certificate (unless a CA was given).
func (m *Main) usePairing(o *options) error {
	if o.key != "" {
		return nil
	}
	p, err := loadPairing(m.pairingPath(o))
	if err != nil || p == nil {
		return err
	}
	o.key, o.sign = p.Key, p.SignedRequests
	if o.addr == defaultAddr && o.terminal == "" {
		o.addr = p.Address
	}
	if o.ca == "" && o.pin == "" {
		// The public key's fingerprint survives certificate renewals.
		o.pin = p.PublicKeySHA256
		if o.pin == "" {
			o.pin = p.CertificateSHA256
		}
	}
	return nil
}

// looksLikeAddress tells a host, IP or URL from a terminal ID.
func looksLikeAddress(s string) bool {
	if strings.Contains(s, "://") || strings.Contains(s, ".") || strings.Contains(s, ":") || s == "localhost" {
		return true
	}
	return net.ParseIP(s) != nil
}

// pair redeems a pairing code the terminal showed and stores the ECR's new
// credential with the terminal's pinned certificate.
func (m *Main) pair(ctx context.Context, o *options, args []string) error {
	fs := flag.NewFlagSet("cashless pair", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	name := fs.String("name", "", "how the terminal lists this ECR (default: this computer's host name)")
	signed := fs.Bool("signed", false, "sign every request (the terminal then refuses this ECR's unsigned ones)")
	o.register(fs)
	// The code may come before the flags or after them.
	var code string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		code, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(m.Stdout, "usage: cashless pair [--addr URL | --terminal HOST|ID] [--pin SHA256 | --ca FILE] [--name NAME] [--signed] CODE\n\n"+
				"Pair this ECR with a terminal by the one-time code it shows (cashlessd pair), or by the\n"+
				"cashless://pair?... text of its QR code. The ECR's own key and the terminal's certificate\n"+
				"fingerprint are stored (--pairing FILE, 0600); later commands use them without --key or --ca.\n\nflags:\n")
			fs.SetOutput(m.Stdout)
			fs.PrintDefaults()
			return nil
		}
		return m.usageError(fmt.Sprintf("pair: %v", err))
	}
	if code == "" && fs.NArg() == 1 {
		code = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return m.usageError(fmt.Sprintf("pair: unexpected argument %q", fs.Arg(0)))
	}
	if code == "" {
		return m.usageError("pair: give the code the terminal shows (XXXX-XXXX)")
	}
	if strings.HasPrefix(code, "cashless://pair?") {
		u, err := url.Parse(code)
		if err != nil {
			return m.usageError("pair: the QR code's text is not a cashless://pair URI")
		}
		q := u.Query()
		code = q.Get("code")
		if a := q.Get("addr"); a != "" && o.addr == defaultAddr && o.terminal == "" {
			o.addr = a
		}
		if fp := q.Get("fp"); fp != "" && o.pin == "" && o.ca == "" {
			o.pin = fp
		}
	}
	if o.terminal != "" && looksLikeAddress(o.terminal) {
		o.addr, o.terminal = o.terminal, ""
	}
	if *name == "" {
		*name, _ = os.Hostname()
		if *name == "" {
			*name = "cashless CLI"
		}
	}
	path := m.pairingPath(o)
	if path == "" {
		return m.usageError("pair: say where to keep the pairing: --pairing FILE (or set CASHLESS_PAIRING or HOME)")
	}
	if o.terminal != "" {
		resolved, err := discovery.Resolve(ctx, o.terminal, resolveWait)
		if err != nil {
			fmt.Fprintf(m.Stderr, "cashless: --terminal: %v\n", err)
			return exitWith(exitTransport, err.Error())
		}
		o.addr = resolved.Address
		if o.pin == "" && o.ca == "" {
			o.pin = resolved.CertSHA256
		}
	}
	c, err := newClient(o.addr, o.ca, "", "cashless/"+m.Version, o.timeout, o.pin, false)
	if err != nil {
		return m.usageError(err.Error())
	}
	defer c.close()
	callCtx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	seen := o.pin
	if o.pin == "" && o.ca == "" {
		// Trust on first use: pin what the terminal presents now, and
		// show it to compare with the slip or `cashlessd pair`.
		if seen, err = apiclient.PeerFingerprint(callCtx, c.base); err != nil {
			fmt.Fprintf(m.Stderr, "cashless: %s: %v\n", c.base, err)
			return exitWith(exitTransport, err.Error())
		}
		c, err = newClient(o.addr, "", "", "cashless/"+m.Version, o.timeout, seen, false)
		if err != nil {
			return m.usageError(err.Error())
		}
		defer c.close()
		fmt.Fprintf(m.Stderr, "No --pin or --ca: trusting the certificate the terminal presents now, SHA-256 %s;\n"+
			"check it against the one on the terminal's slip or `cashlessd pair`.\n", seen)
	}
	res, err := c.api.Pair(callCtx, code, *name, *signed)
	var apiErr *apiclient.Error
	switch {
	case errors.As(err, &apiErr):
		fmt.Fprintf(m.Stderr, "cashless: pair: %v\n", err)
		return exitWith(exitRefused, err.Error())
	case err != nil:
		fmt.Fprintf(m.Stderr, "cashless: %s: %v\n", c.base, err)
		return exitWith(exitTransport, err.Error())
	}
	if pin := strings.ToLower(strings.ReplaceAll(seen, ":", "")); pin != "" && o.ca == "" && pin != res.CertificateSHA256 && pin != res.PublicKeySHA256 {
		fmt.Fprintf(m.Stderr, "cashless: pair: the terminal says its certificate is %s, but it presented %s: not stored\n",
			res.CertificateSHA256, seen)
		return exitWith(exitRefused, "certificate mismatch")
	}
	p := pairing{TerminalID: res.TerminalID, Address: c.base, EcrID: res.EcrID, Name: *name, Key: res.Key,
		Scopes: res.Scopes, SignedRequests: res.SignedRequests, CertificateSHA256: res.CertificateSHA256,
		PublicKeySHA256: res.PublicKeySHA256, PairedAt: time.Now().UTC()}
	if err := savePairing(path, p); err != nil {
		fmt.Fprintf(m.Stderr, "cashless: pair: paired as %s but the pairing could not be stored: %v\n", res.EcrID, err)
		return exitWith(exitNotApproved, err.Error())
	}
	if o.json {
		out := p
		out.Key = "" // the file holds it; do not echo it
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)
		return nil
	}
	fmt.Fprintf(m.Stdout, "Paired with terminal %s at %s as %s (%s).\n", res.TerminalID, c.base, res.EcrID, *name)
	fmt.Fprintf(m.Stdout, "Scopes: %s. Signed requests: %v.\n", strings.Join(res.Scopes, ","), res.SignedRequests)
	fmt.Fprintf(m.Stdout, "Certificate: SHA-256 %s\n", res.CertificateSHA256)
	fmt.Fprintf(m.Stdout, "Public key pinned: SHA-256 %s (kept across certificate renewals)\n", res.PublicKeySHA256)
	fmt.Fprintf(m.Stdout, "Key stored in %s (mode 0600); later commands use it.\n", path)
	return nil
}
