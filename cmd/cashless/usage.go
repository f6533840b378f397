package main

import (
	"errors"
	"fmt"
)

const usage = `usage: cashless [global flags] <command> [flags]

Drive a cashlessd payment terminal over the Cashless API, as an ECR does.

commands:
  status         is the terminal ready; what did it do last
  sale           --amount N --currency CUR --reference REF [--tip N] [--print]
  preauth        --amount N --currency CUR --reference REF [--print]
  complete       --original REF --amount N --currency CUR --reference REF [--print]
  preauth increment --original REF --amount N --reference REF   raise a pre-auth's hold
  preauth release   --original REF --reference REF              give the hold back
  preauth list                                                  the pre-auths that hold funds
  refund         --original REF --amount N --currency CUR --reference REF [--print]
  cancel         [--reference REF]           abort the prompt waiting for a card
  batch-close    --reference REF             settle and close the open batch
  void           --original REF --reference REF [--print]
                                             cancel an approved transaction of the open batch
  totals         [--print]                   the open batch's totals, not closed (X-report)
  lookup         --reference REF | --id ID   the truth about a transaction, running or finished
  receipt-last   [--reference REF] [--copy customer|merchant|both]
  reprint        [--type customer|merchant|both]
  discover       [--wait D]                  list the terminals on this LAN (DNS-SD)
  pair           [--name NAME] [--signed] CODE
                                             pair this ECR by the terminal's one-time code;
                                             stores its key and pins the certificate
  events         [--after ID] [--count N]    follow the live events, one line each
  version
  help

global flags (also accepted after the command):
  --addr URL     the terminal (env CASHLESS_ADDR; default https://localhost:8443)
  --terminal ID  find the terminal on the LAN by its ID instead (env CASHLESS_TERMINAL);
                 its certificate must chain to --ca and name the address found or be
                 the certificate the terminal announced
  --ca FILE      PEM CA bundle to trust (env CASHLESS_CA; default: the system's)
  --key KEY      shared key (env CASHLESS_KEY; prefer the variable, arguments show in ps);
                 without one, the key cashless pair stored is used
  --pin SHA256   trust exactly the terminal certificate with this fingerprint, no CA
                 (env CASHLESS_PIN; a stored pairing pins its terminal's certificate)
  --pairing FILE where cashless pair keeps the pairing (env CASHLESS_PAIRING;
                 default $XDG_CONFIG_HOME or ~/.config, cashless/pairing.json)
  --json         print the terminal's JSON answer as it came
  --timeout D    wait at most D for an answer (default 120s)

Amounts are integers in minor units: --amount 2500 is 25.00 USD. --currency
defaults to $CASHLESS_CURRENCY. A reference is the ECR's order key: repeating
an approved command with the same reference returns the stored answer and
never charges twice.

If a transaction's answer is lost (timeout, dropped connection, Ctrl-C), the
terminal goes on with it; cashless then looks its reference up, waits while
it runs, and prints its outcome (never an earlier attempt's).

exit codes:
  0  approved, closed, printed, cancelled on request, status shown
  1  not approved: declined, cancelled, or failed (host, reader, printer, storage)
  2  usage: a flag is missing or wrong
  3  transport: the terminal could not be reached (connection, TLS, no answer;
     discover or --terminal found no terminal)
  4  refused: the terminal refused the request (invalid_request, invalid_key,
     terminal_busy, duplicate_reference, not found, 422 rules, too many attempts)
  5  unknown: a transaction's answer was lost and the lookup could not tell how it
     ended (or it still runs)
`

// Exit codes; see usage.
const (
	exitOK          = 0
	exitNotApproved = 1
	exitUsage       = 2
	exitTransport   = 3
	exitRefused     = 4
	exitUnknown     = 5
)

// exitError ends a run with an exit code; its message was already shown.
type exitError struct {
	code   int
	reason string
}

func (e *exitError) Error() string { return fmt.Sprintf("exit %d: %s", e.code, e.reason) }

func exitWith(code int, reason string) error {
	if code == exitOK {
		return nil
	}
	return &exitError{code: code, reason: reason}
}

// exitCode is the process exit code for Run's result.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	return exitNotApproved
}
