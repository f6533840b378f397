package main

import (
	"flag"
	"time"
)

// defaultAddr is where a technician's laptop usually finds `make run`.
const defaultAddr = "https://localhost:8443"

// defaultTimeout is the client timeout the Cashless API asks for: a
// cardholder may take up to 90 s.
const defaultTimeout = 120 * time.Second

// options are the global flags. Their defaults come from the environment;
// flags given before or after the command override them.
type options struct {
	addr     string
	terminal string // a terminal ID, resolved on the LAN by DNS-SD; overrides addr
	ca       string
	key      string
	pin      string // hex SHA-256 of the terminal's certificate: trusted instead of a CA
	pairing  string // the stored pairing's file
	sign     bool   // sign every request (the stored pairing says so)
	currency string // default for --currency
	json     bool
	timeout  time.Duration
}

func defaultOptions(lookup func(string) (string, bool)) *options {
	env := func(k, def string) string {
		if lookup != nil {
			if v, ok := lookup(k); ok && v != "" {
				return v
			}
		}
		return def
	}
	return &options{
		addr:     env("CASHLESS_ADDR", defaultAddr),
		terminal: env("CASHLESS_TERMINAL", ""),
		ca:       env("CASHLESS_CA", ""),
		key:      env("CASHLESS_KEY", ""),
		pin:      env("CASHLESS_PIN", ""),
		pairing:  env("CASHLESS_PAIRING", ""),
		currency: env("CASHLESS_CURRENCY", ""),
		timeout:  defaultTimeout,
	}
}

// register adds the global flags to fs, with the current values as
// defaults, so a flag set after the command keeps what was set before it.
func (o *options) register(fs *flag.FlagSet) {
	fs.StringVar(&o.addr, "addr", o.addr, "terminal `URL` (env CASHLESS_ADDR)")
	fs.StringVar(&o.terminal, "terminal", o.terminal, "terminal `ID` to find on the LAN (DNS-SD) instead of --addr (env CASHLESS_TERMINAL)")
	fs.StringVar(&o.ca, "ca", o.ca, "PEM CA bundle `file` to trust (env CASHLESS_CA)")
	fs.StringVar(&o.key, "key", o.key, "shared `key` (env CASHLESS_KEY)")
	fs.StringVar(&o.pin, "pin", o.pin, "trust exactly the terminal certificate with this hex SHA-256 `fingerprint` instead of a CA (env CASHLESS_PIN)")
	fs.StringVar(&o.pairing, "pairing", o.pairing, "the `file` `cashless pair` keeps the ECR's key and pinned certificate in (env CASHLESS_PAIRING)")
	fs.BoolVar(&o.json, "json", o.json, "print the terminal's JSON answer as it came")
	fs.DurationVar(&o.timeout, "timeout", o.timeout, "wait at most `duration` for an answer")
}
